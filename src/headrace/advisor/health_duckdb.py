"""Index health on DuckDB: only what DuckDB can tell us, which is duplicate ART indexes.

DuckDB keeps no scan counts and no index bloat figures, builds an index for every foreign
key itself, and a failed CREATE INDEX rolls back; the report says so in its notes instead
of inventing numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headrace.advisor.health import (
    SYSTEM_SCHEMAS,
    HealthFinding,
    HealthReport,
    IndexFacts,
    covering_index,
)
from headrace.engines.sql import quote_ident

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

_NOTES = (
    "unused indexes: index scans are not tracked by DuckDB",
    "bloat: index sizes and bloat are not tracked by DuckDB",
    "foreign keys: DuckDB indexes foreign key columns itself, so none can lack an index",
    "invalid indexes: none in DuckDB (a failed CREATE INDEX rolls back)",
)

_INDEXES_SQL = """
SELECT schema_name, table_name, index_name, index_oid, is_unique, is_primary, expressions
FROM duckdb_indexes()
WHERE database_name = current_database() AND NOT list_contains(?, lower(schema_name))
ORDER BY schema_name, table_name, index_name
"""

# PRIMARY KEY and UNIQUE constraints are ART indexes too, but not in duckdb_indexes().
_CONSTRAINTS_SQL = """
SELECT schema_name, table_name, constraint_name, constraint_type, constraint_column_names
FROM duckdb_constraints()
WHERE database_name = current_database() AND NOT list_contains(?, lower(schema_name))
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')
ORDER BY schema_name, table_name, constraint_name
"""


def duckdb_health(engine: EngineAdapter) -> HealthReport:
    """The index health report of the connected DuckDB database."""
    schemas = list(SYSTEM_SCHEMAS)
    indexes: list[IndexFacts] = [
        IndexFacts(
            schema=schema,
            table=table,
            name=name,
            order=0,
            method="art",
            keys=tuple(columns),
            key_ids=tuple(c.lower() for c in columns),
            unique=True,
            primary=kind == "PRIMARY KEY",
            constraint=True,
        )
        for schema, table, name, kind, columns in engine.fetchall(_CONSTRAINTS_SQL, [schemas])
    ]
    for schema, table, name, oid, unique, primary, expressions in engine.fetchall(
        _INDEXES_SQL, [schemas]
    ):
        keys = split_expressions(expressions)
        indexes.append(
            IndexFacts(
                schema=schema,
                table=table,
                name=name,
                order=int(oid),
                method="art",
                keys=keys,
                key_ids=tuple(k.lower() for k in keys),
                unique=bool(unique),
                primary=bool(primary),
            )
        )
    report = HealthReport(engine=engine.name, index_count=len(indexes), notes=list(_NOTES))
    for index in indexes:
        same_table = [i for i in indexes if (i.schema, i.table) == (index.schema, index.table)]
        # ART indexes answer lookups on all their key columns only: no prefix coverage.
        hit = covering_index(index, same_table, frozenset())
        if hit is None:
            continue
        keeper, _ = hit
        kind = "primary key" if keeper.primary else "unique" if keeper.unique else "index"
        qualified = f"{quote_ident(index.schema, 'duckdb')}.{quote_ident(index.name, 'duckdb')}"
        report.findings.append(
            HealthFinding(
                kind="duplicate",
                table=index.qualified_table,
                index=index.name,
                columns=index.keys,
                detail=f"same key columns as {kind} {keeper.schema}.{keeper.name} "
                f"({', '.join(keeper.keys)}); every write maintains both",
                statements=(f"DROP INDEX IF EXISTS {qualified}",),
            )
        )
    return report


def split_expressions(text: object) -> tuple[str, ...]:
    """Key expressions from ``duckdb_indexes().expressions`` (``[a, b]`` or a list)."""
    if isinstance(text, list):
        return tuple(str(e).strip("'\"") for e in text)
    body = str(text or "").strip().removeprefix("[").removesuffix("]")
    parts: list[str] = []
    depth, current = 0, ""
    for char in body:
        # Commas inside an expression's parentheses do not separate keys.
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current)
    return tuple(p.strip().strip("'").strip('"') for p in parts if p.strip())
