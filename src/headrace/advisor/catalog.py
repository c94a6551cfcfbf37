"""What the advisor reads from the catalog: tables, columns, existing indexes, statistics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from headrace.advisor.model import TableMeta

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "_headrace", "pg_toast")


def known_tables(engine: EngineAdapter) -> set[str]:
    """Every user table and view as ``schema.table`` (lower case)."""
    return {
        f"{t.schema}.{t.name}".lower()
        for t in engine.list_tables(sizes=False)
        if t.schema not in _SYSTEM_SCHEMAS
    }


def table_metas(engine: EngineAdapter, tables: Iterable[str]) -> dict[str, TableMeta]:
    """Columns, row estimate, existing index keys and distinct counts of ``tables``."""
    metas: dict[str, TableMeta] = {}
    for table in sorted(set(tables)):
        info = engine.table_info(table)
        if info is None or info.kind != "table":
            continue
        rows = max(int(info.row_estimate or 0), 0)
        metas[table] = TableMeta(
            table=table,
            columns=tuple(c.name for c in engine.columns(table)),
            row_estimate=rows,
            indexes=tuple(ix.columns for ix in engine.indexes(table)),
            n_distinct=_distinct(engine, table, rows),
        )
    return metas


def _distinct(engine: EngineAdapter, table: str, rows: int) -> dict[str, float]:
    """Distinct values per column from the planner's statistics (ANALYZE keeps them)."""
    schema, name = engine.split_table(table)
    if engine.dialect == "postgres":
        found = engine.fetchall(
            "SELECT attname, n_distinct FROM pg_stats WHERE schemaname = %s AND tablename = %s",
            [schema, name],
        )
        # A negative n_distinct is a fraction of the row count (it grows with the table).
        return {str(c): float(-n * rows if n < 0 else n) for c, n in found if n is not None}
    if engine.dialect == "duckdb":
        found = engine.fetchall(
            "SELECT column_name, approx_unique FROM (SUMMARIZE SELECT * FROM "
            f"{engine.quote_table(table)})"
        )
        return {str(c): float(n) for c, n in found if n is not None}
    return {}
