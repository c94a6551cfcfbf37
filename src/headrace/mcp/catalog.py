"""Catalog reads the MCP tools need beyond the engine adapter: table comments, foreign keys.
Fixed SQL with bound parameters only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.engines.sql import table_ref
from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

HIDDEN_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def list_tables(engine: EngineAdapter, schema: str | None) -> list[dict[str, Any]]:
    """Tables and views with row estimates, sizes and comments."""
    comments = _comments(engine)
    return [
        {
            "schema": t.schema,
            "name": t.name,
            "kind": t.kind,
            "row_estimate": t.row_estimate,
            "size_bytes": t.size_bytes,
            "comment": comments.get((t.schema, t.name)),
        }
        for t in engine.list_tables(schema)
        if t.schema not in HIDDEN_SCHEMAS
    ]


def describe_table(engine: EngineAdapter, table: str) -> dict[str, Any]:
    """Columns, keys, foreign keys and indexes of one table or view."""
    ref = table_ref(table, engine.dialect)
    schema, name = engine.split_table(ref)
    info = engine.table_info(ref, sizes=True)
    if info is None:
        raise UsageError(
            f"no table or view {schema}.{name}",
            hint="list_tables shows what exists (names are schema.table)",
        )
    columns = engine.columns(ref)
    return {
        "schema": schema,
        "name": name,
        "kind": info.kind,
        "row_estimate": info.row_estimate,
        "size_bytes": info.size_bytes,
        "comment": _comments(engine).get((schema, name)),
        "columns": [{"name": c.name, "type": c.data_type, "nullable": c.nullable} for c in columns],
        "primary_key": engine.primary_key(ref),
        "foreign_keys": foreign_keys(engine, schema, name),
        "indexes": [
            {
                "name": i.name,
                "columns": list(i.columns),
                "unique": i.unique,
                "primary": i.primary,
                "definition": i.definition,
            }
            for i in engine.indexes(ref)
        ],
    }


def foreign_keys(engine: EngineAdapter, schema: str, table: str) -> list[dict[str, Any]]:
    """Each foreign key: its columns and the table and columns it references."""
    if engine.dialect == "postgres":
        rows = engine.fetchall(
            """
            SELECT con.conname,
                   ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   rn.nspname || '.' || rc.relname,
                   ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                         ORDER BY k.i)
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_class rc ON rc.oid = con.confrelid
            JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            WHERE con.contype = 'f' AND n.nspname = %s AND c.relname = %s
            ORDER BY con.conname
            """,
            [schema, table],
        )
        return [
            {"name": n, "columns": list(c), "references": r, "referenced_columns": list(rc)}
            for n, c, r, rc in rows
        ]
    if engine.dialect == "duckdb":
        rows = engine.fetchall(
            "SELECT constraint_name, constraint_column_names, referenced_table,"
            " referenced_column_names FROM duckdb_constraints()"
            " WHERE constraint_type = 'FOREIGN KEY' AND schema_name = ? AND table_name = ?",
            [schema, table],
        )
        return [
            {
                "name": n,
                "columns": list(c),
                "references": f"{schema}.{r}" if r and "." not in r else r,
                "referenced_columns": list(rc or []),
            }
            for n, c, r, rc in rows
        ]
    return []


def _comments(engine: EngineAdapter) -> dict[tuple[str, str], str]:
    if engine.dialect == "postgres":
        rows = engine.fetchall(
            "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')"
            " AND obj_description(c.oid, 'pg_class') IS NOT NULL"
        )
    elif engine.dialect == "duckdb":
        rows = engine.fetchall(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE comment IS NOT NULL"
            " UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views()"
            " WHERE comment IS NOT NULL AND NOT internal"
        )
    else:
        rows = []
    return {(str(s), str(t)): str(c) for s, t, c in rows}
