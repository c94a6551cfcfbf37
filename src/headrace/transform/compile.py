"""A model's SELECT as it runs: table names resolved and the SQL transpiled by sqlglot.

Models are written in one dialect (``models.dialect``, default duckdb) and rendered for
the target engine. sqlglot raises on constructs it knows a dialect lacks; a few common
DuckDB conveniences it would pass through silently are refused here with their line, so
the user learns at compile time rather than from a PostgreSQL error deep in a run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from headrace.errors import ConfigError

if TYPE_CHECKING:
    from sqlglot import exp

    from headrace.transform.model import SqlModel


def compile_model(
    model: SqlModel, resolved: dict[str, str], dialect: str, *, pretty: bool = True
) -> str:
    """The model's query for ``dialect`` with every table reference fully resolved."""
    from sqlglot.errors import ErrorLevel, UnsupportedError

    query = rewrite_tables(model, resolved, dialect)
    _refuse_unportable(model, query, dialect)
    try:
        return query.sql(
            dialect=dialect, pretty=pretty, comments=False, unsupported_level=ErrorLevel.RAISE
        )
    except UnsupportedError as exc:
        construct = str(exc).splitlines()[0]
        raise ConfigError(
            f"model {model.name}: {construct} when writing {model.dialect} SQL for {dialect}",
            file=str(model.path),
            line=_line_of_word(model.text, construct.split()[0]),
            hint=f"rewrite it in SQL both {model.dialect} and {dialect} understand",
        ) from None


def rewrite_tables(model: SqlModel, resolved: dict[str, str], dialect: str) -> exp.Query:
    """A copy of the model's query naming each table as it exists in the warehouse."""
    from sqlglot import exp

    from headrace.engines.sql import table_ref
    from headrace.transform.discover import table_refs

    query = model.query.copy()
    wanted = {ref.name for ref in table_refs(query)}
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for table in list(query.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue
        parts = [p for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p]
        name = ".".join(p.name if p.quoted else p.name.lower() for p in parts)
        if (len(parts) == 1 and name in ctes) or name not in wanted or name not in resolved:
            continue
        target = table_ref(resolved[name], dialect)
        for ident in target.find_all(exp.Identifier):
            ident.set("quoted", True)  # names come from the project, not from SQL text
        for key in ("alias", "joins", "laterals", "pivots", "hints", "sample"):
            if table.args.get(key) is not None:
                target.set(key, table.args[key])
        if target.args.get("alias") is None and len(parts) > 1:
            # `staging.orders.id` style columns keep working through the implicit alias.
            target.set("alias", exp.TableAlias(this=exp.to_identifier(parts[-1].name)))
        table.replace(target)
    return query


def _refuse_unportable(model: SqlModel, query: exp.Query, dialect: str) -> None:
    from sqlglot import exp

    if dialect == model.dialect or dialect != "postgres":
        return
    for star in query.find_all(exp.Star):
        for option in ("except", "replace", "rename"):
            if star.args.get(option):
                raise ConfigError(
                    f"model {model.name}: SELECT * {option.upper()} (...) has no PostgreSQL"
                    " equivalent",
                    file=str(model.path),
                    line=_line_of_word(model.text, "EXCLUDE" if option == "except" else option),
                    hint="list the columns you want instead",
                )
    for group in query.find_all(exp.Group):
        if group.args.get("all"):
            raise ConfigError(
                f"model {model.name}: GROUP BY ALL has no PostgreSQL equivalent",
                file=str(model.path),
                line=_line_of_word(model.text, "GROUP BY ALL"),
                hint="name the grouping columns (or their positions: GROUP BY 1, 2)",
            )


def _line_of_word(text: str, word: str) -> int | None:
    """The first line (outside the settings header) where ``word`` appears."""
    pattern = re.compile(r"\s+".join(map(re.escape, word.split())), re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("--"):
            continue
        if pattern.search(line):
            return number
    return None
