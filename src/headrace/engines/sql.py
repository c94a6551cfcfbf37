"""SQL building blocks shared by the adapters: identifiers through sqlglot, never pasted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headrace.errors import UsageError

if TYPE_CHECKING:
    from sqlglot import exp


def table_ref(name: str, dialect: str) -> exp.Table:
    """Parse ``[catalog.]schema.table`` into a sqlglot table, identifiers normalised per dialect.

    Unquoted parts follow the engine's own case rules (PostgreSQL folds to lower case), so
    ``Orders`` means the same table it would mean in that engine's SQL.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    try:
        parsed = sqlglot.parse_one(name, into=exp.Table, dialect=dialect)
    except ParseError:
        parsed = None
    if not isinstance(parsed, exp.Table) or not parsed.name or parsed.args.get("alias"):
        raise UsageError(
            f"not a table name: {name!r}",
            hint='write table, schema.table or catalog.schema.table; quote odd names with "..."',
        )
    normalized = normalize_identifiers(parsed, dialect=dialect)
    assert isinstance(normalized, exp.Table)
    return normalized


def quote_table(name: str | exp.Table, dialect: str) -> str:
    """Render a table name fully quoted for ``dialect``."""
    ref = table_ref(name, dialect) if isinstance(name, str) else name
    return ref.sql(dialect=dialect, identify=True)


def quote_ident(name: str, dialect: str) -> str:
    """Quote a single identifier (column, schema, index) exactly as given."""
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def split_table(name: str | exp.Table, dialect: str, default_schema: str) -> tuple[str, str]:
    """Return ``(schema, table)`` names (unquoted) with the engine's default schema filled in."""
    ref = table_ref(name, dialect) if isinstance(name, str) else name
    return (ref.db or default_schema, ref.name)
