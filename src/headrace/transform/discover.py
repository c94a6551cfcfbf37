"""Find ``models/**/*.sql``, read each file's settings header and parse its SELECT.

A model file is plain SQL: one query, optionally preceded by comment lines. Comment lines
of the form ``-- key: value`` at the top (before any SQL) are its settings, as YAML;
comment lines indented under one continue it; other comment lines describe the model::

    -- Daily revenue per product category.
    -- materialized: incremental
    -- incremental: {strategy: delete_insert, time_column: day, lookback: 2d}
    SELECT ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from headrace.config.sql_models import ModelSettings, check_dialect
from headrace.config.yamltree import ConfigPath, nearest_line, parse_yaml, read_text_file
from headrace.errors import ConfigError
from headrace.transform.model import SqlModel, TableRef

if TYPE_CHECKING:
    from sqlglot import exp

    from headrace.config.sql_models import ModelsConfig

DEFAULT_SCHEMA = "main"  # for a model file directly under models/ without a schema: setting
_SETTING = re.compile(r"^ ?([a-z_]+):(\s|$)")


def discover_models(
    root: Path, config: ModelsConfig, config_file: Path | None = None
) -> list[SqlModel]:
    """Every enabled model under the project's models folder, sorted by name."""
    folder = (root / config.path).resolve()
    if not folder.is_dir():
        return []
    found: dict[str, SqlModel] = {}
    schemas: set[str] = set()
    for path in sorted(folder.rglob("*.sql")):
        model = read_model(path, folder, config)
        schemas.add(model.schema)
        if model.settings.enabled is False:
            continue
        if model.name in found:
            raise ConfigError(
                f"two models are named {model.name}: {found[model.name].path} and {path}",
                file=str(path),
                hint="rename one file or set schema: in its header",
            )
        found[model.name] = model
    _check_config_keys(config, set(found), schemas, config_file)
    return [found[name] for name in sorted(found)]


def read_model(path: Path, folder: Path, config: ModelsConfig) -> SqlModel:
    """One model file: settings layered over the project's, and its parsed query."""
    text = read_text_file(path, "model file")
    header, paths = read_header(text, path)
    lines = {str(p[0]): n for p, n in paths.items() if len(p) == 1}
    relative = path.relative_to(folder)
    folder_schema = relative.parts[0].lower() if len(relative.parts) > 1 else None
    stem = path.stem.lower()
    settings = ModelSettings(materialized=config.materialized, dialect=config.dialect)
    for key in (folder_schema, f"{folder_schema or DEFAULT_SCHEMA}.{stem}"):
        if key and key in config.config:
            settings = config.config[key].merged_over(settings)
    settings = header.merged_over(settings)
    schema = (settings.schema_ or folder_schema or DEFAULT_SCHEMA).lower()
    dialect = settings.dialect or config.dialect
    try:
        check_dialect(dialect)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(path), line=lines.get("dialect")) from None
    _check_incremental(settings, path, lines)
    query = parse_query(text, path, dialect)
    model = SqlModel(
        name=f"{schema}.{stem}",
        path=path,
        text=text,
        settings=settings,
        query=query,
        dialect=dialect,
        refs=table_refs(query),
        settings_lines=lines,
    )
    if settings.checks is not None:
        model.checks = _model_checks(model, paths)
    return model


def read_header(text: str, path: Path) -> tuple[ModelSettings, dict[ConfigPath, int]]:
    """The settings in the leading comment block, and the file line of each (nested) key."""
    yaml_lines: list[str] = []
    file_lines: list[int] = []  # file line of each YAML line
    in_setting = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            in_setting = False
            continue
        if not stripped.startswith("--"):
            break
        body = stripped[2:]
        if _SETTING.match(body) or (in_setting and body.startswith("   ")):
            in_setting = True
            yaml_lines.append(body[1:] if body.startswith(" ") else body)
            file_lines.append(number)
        else:
            in_setting = False
    if not yaml_lines:
        return ModelSettings(), {}
    document = parse_yaml("\n".join(yaml_lines), file=str(path))
    lines = {p: file_lines[n - 1] for p, n in document.lines.items() if 0 < n <= len(file_lines)}
    try:
        settings = ModelSettings.model_validate(document.value or {})
    except ValidationError as exc:
        from headrace.config.messages import validation_error

        raise validation_error(exc, model=ModelSettings, file=str(path), lines=lines) from None
    return settings, lines


def parse_query(text: str, path: Path, dialect: str) -> exp.Query:
    """The file's one query; syntax errors and anything but a query name file and line."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise ConfigError(
            f"SQL syntax error: {first.get('description', exc)}".splitlines()[0],
            file=str(path),
            line=first.get("line"),
            hint=f"the model is parsed as {dialect} SQL; set dialect: in its header if not",
        ) from None
    except TokenError as exc:
        raise ConfigError(f"SQL syntax error: {exc}", file=str(path)) from None
    if not statements:
        raise ConfigError("the model has no SQL", file=str(path), hint="write one SELECT")
    if len(statements) > 1:
        raise ConfigError(
            f"a model is one query; this file has {len(statements)} statements",
            file=str(path),
            line=_second_statement_line(text, dialect),
            hint="split it into one file per model",
        )
    query = statements[0]
    if not isinstance(query, exp.Query):
        raise ConfigError(
            f"a model is a SELECT; this file holds {query.key.upper()}",
            file=str(path),
            line=_line_of(query),
            hint="headrace creates the table or view itself: write only the query",
        )
    return query


def table_refs(query: exp.Query) -> list[TableRef]:
    """Tables the query reads (not its CTEs, not table functions), in order of appearance."""
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    refs: list[TableRef] = []
    seen: set[str] = set()
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # read_csv(...), range(...), unnest(...): not a table
        parts = [p for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p]
        name = ".".join(_ident(p) for p in parts)
        if len(parts) == 1 and name in ctes:
            continue
        if name not in seen:
            seen.add(name)
            refs.append(TableRef(name, int(table.this.meta.get("line", 1))))
    return refs


def _ident(node: Any) -> str:
    # Unquoted identifiers are case-insensitive: fold them; quoted ones keep their case.
    name = str(node.name)
    return name if getattr(node, "quoted", False) else name.lower()


def _second_statement_line(text: str, dialect: str) -> int | None:
    """The line where the second statement starts (the first token after a ';')."""
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    after_semicolon = False
    for token in Dialect.get_or_raise(dialect).tokenize(text):
        if token.token_type == TokenType.SEMICOLON:
            after_semicolon = True
        elif after_semicolon:
            return token.line
    return None


def _line_of(node: Any) -> int | None:
    from sqlglot import exp

    for ident in node.find_all(exp.Identifier):
        if "line" in ident.meta:
            return int(ident.meta["line"])
    return None


def _check_incremental(settings: ModelSettings, path: Path, lines: dict[str, int]) -> None:
    def fail(message: str, key: str, hint: str) -> None:
        raise ConfigError(message, file=str(path), line=lines.get(key), hint=hint)

    if settings.materialized == "incremental":
        if settings.incremental is None:
            fail(
                "an incremental model needs incremental: {time_column: COL}",
                "materialized",
                "add -- incremental: {strategy: append, time_column: updated_at}",
            )
        elif settings.incremental.strategy == "merge" and not settings.unique_key:
            fail(
                "incremental strategy merge needs unique_key",
                "incremental",
                "add -- unique_key: id",
            )
    elif settings.incremental is not None:
        fail(
            f"incremental: is set but the model is materialized as {settings.materialized}",
            "incremental",
            "add -- materialized: incremental, or remove incremental:",
        )


def _model_checks(model: SqlModel, paths: dict[ConfigPath, int]) -> list[Any]:
    """The header's checks: a check-file table entry whose table is the model."""
    from headrace.quality.spec import parse_checks

    lines = {(0, *p[1:]): n for p, n in paths.items() if p and p[0] == "checks"}
    entry = {"table": model.name, **(model.settings.checks or {})}
    return parse_checks([entry], file=str(model.path), lines=lines)


def _check_config_keys(
    config: ModelsConfig, names: set[str], schemas: set[str], config_file: Path | None
) -> None:
    for key in config.config:
        if key.lower() in names or key.lower() in schemas:
            continue
        line = None
        if config_file is not None:
            document = parse_yaml(read_text_file(config_file, "config file"), file=str(config_file))
            line = nearest_line(document.lines, ("models", "config", key))
        known = ", ".join(sorted(names | schemas)) or "no models found"
        raise ConfigError(
            f"models.config names {key!r}, which is neither a model nor a model schema",
            file=str(config_file) if config_file else None,
            line=line,
            hint=f"known: {known}",
        )
