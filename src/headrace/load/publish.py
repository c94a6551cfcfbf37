"""Where rows land and how they become visible: append, replace (atomic swap), merge.

Every statement here runs inside the load's single transaction, so readers see the old
table until COMMIT and the new one after it, never an empty or half-built table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headrace.engines.sql import quote_ident
from headrace.load.model import WriteMode

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.schema import LogicalType, TableSchema

# Staging and new-table names start with this; the janitor drops leftovers by it.
STAGING_PREFIX = "__hr_"
ORDINAL = "_hr_ord"


@dataclass
class Destination:
    """The table a load writes into before publishing."""

    table: str  # quoted, qualified
    schema_name: str
    name: str
    mode: WriteMode
    has_ordinal: bool  # merge stages carry the row order to resolve duplicate keys
    columns: set[str] = field(default_factory=set)  # what the destination has now
    # A merge also writes the target: its columns, to evolve it alongside the stage.
    target: str | None = None
    target_columns: set[str] = field(default_factory=set)


def column_ddl(name: str, kind: LogicalType, required: bool, dialect: str) -> str:
    """``"name" TYPE [NOT NULL]``."""
    return f"{quote_ident(name, dialect)} {kind.sql(dialect)}" + (" NOT NULL" if required else "")


def create_table(
    engine: EngineAdapter,
    table: str,
    schema: TableSchema,
    *,
    temp: bool = False,
    ordinal: bool = False,
) -> None:
    """CREATE TABLE from a TableSchema (required columns NOT NULL; keys are not constraints
    so that append keeps every row, duplicates included)."""
    columns = [
        column_ddl(name, kind, name in schema.required, engine.dialect)
        for name, kind in schema.columns
    ]
    if ordinal:
        # Filled by the database in COPY order when the loader does not send it.
        columns.append(f"{quote_ident(ORDINAL, engine.dialect)} BIGSERIAL")
    prefix = "CREATE TEMP TABLE" if temp else "CREATE TABLE"
    engine.execute(f"{prefix} {table} ({', '.join(columns)})")


def add_columns(
    engine: EngineAdapter, table: str, columns: Sequence[tuple[str, LogicalType]]
) -> None:
    """ALTER TABLE ADD COLUMN for schema evolution (nullable: old rows have no value)."""
    for name, kind in columns:
        engine.execute(
            f"ALTER TABLE {table} ADD COLUMN {column_ddl(name, kind, False, engine.dialect)}"
        )


def ensure_schema(engine: EngineAdapter, schema_name: str) -> None:
    """CREATE SCHEMA IF NOT EXISTS, safe against concurrent loads creating the same one."""
    if engine.dialect == "postgres":
        # Two transactions creating one schema at once: the second fails on the catalog's
        # unique index despite IF NOT EXISTS. A transaction-scoped lock on the name makes
        # the second wait for the first to commit, then find the schema there.
        engine.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"schema:{schema_name}"])
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema_name, engine.dialect)}")


def prepare_destination(
    engine: EngineAdapter,
    table: str,
    schema: TableSchema,
    mode: WriteMode,
    run_id: str,
    *,
    target_exists: bool,
    existing: Sequence[str] = (),
) -> Destination:
    """Create what the load writes into: the target (append), a new table (replace) or a
    stage (merge). ``existing`` are the target's columns when it exists."""
    schema_name, name = engine.split_table(table)
    ensure_schema(engine, schema_name)
    target = engine.quote_table(table)
    target_columns = set(existing) if target_exists else set(schema.names)
    if mode is WriteMode.APPEND or (mode is WriteMode.MERGE and not target_exists):
        if not target_exists:
            create_table(engine, target, schema)
        # A merge into a new table is an append of the de-duplicated rows.
        if mode is WriteMode.APPEND:
            return Destination(target, schema_name, name, mode, False, target_columns)
    suffix = run_id.split("-")[-1]
    if mode is WriteMode.REPLACE:
        new_name = f"{STAGING_PREFIX}new_{name}_{suffix}"
        new_table = (
            f"{quote_ident(schema_name, engine.dialect)}.{quote_ident(new_name, engine.dialect)}"
        )
        create_table(engine, new_table, schema)
        return Destination(new_table, schema_name, new_name, mode, False, set(schema.names))
    stage_name = f"{STAGING_PREFIX}stage_{name}_{suffix}"
    # TEMP: the stage dies with the session even if the process is killed mid-load.
    stage = quote_ident(stage_name, engine.dialect)
    ordinal = engine.dialect != "duckdb"
    create_table(engine, stage, schema, temp=True, ordinal=ordinal)
    return Destination(
        stage, "", stage_name, mode, ordinal, set(schema.names), target, target_columns
    )


def evolve(
    engine: EngineAdapter, dest: Destination, added: Sequence[tuple[str, LogicalType]]
) -> None:
    """Schema evolution: add the new columns wherever they are still missing (the
    destination, and the target a merge writes afterwards)."""
    missing = [(n, t) for n, t in added if n not in dest.columns]
    add_columns(engine, dest.table, missing)
    dest.columns.update(n for n, _ in missing)
    if dest.target is not None:
        missing = [(n, t) for n, t in added if n not in dest.target_columns]
        add_columns(engine, dest.target, missing)
        dest.target_columns.update(n for n, _ in missing)


def publish(
    engine: EngineAdapter,
    dest: Destination,
    table: str,
    schema: TableSchema,
    key: Sequence[str],
    *,
    target_exists: bool,
) -> tuple[int, int]:
    """Make the load visible; returns (rows_loaded, rows_merged_away) for merge, else (0, 0).

    replace: drop the old table and rename the new one in place (same transaction).
    merge: keep the last row per key, delete the target's rows with those keys, insert.
    """
    target = engine.quote_table(table)
    if dest.mode is WriteMode.REPLACE:
        if target_exists:
            engine.execute(f"DROP TABLE {target}")
        final_name = quote_ident(engine.split_table(table)[1], engine.dialect)
        engine.execute(f"ALTER TABLE {dest.table} RENAME TO {final_name}")
        return 0, 0
    if dest.mode is not WriteMode.MERGE:
        return 0, 0
    d = engine.dialect
    cols = ", ".join(quote_ident(n, d) for n in schema.names)
    keys = [quote_ident(k, d) for k in key]
    order = quote_ident(ORDINAL, d) if dest.has_ordinal else "rowid"
    staged = int(engine.fetchall(f"SELECT count(*) FROM {dest.table}")[0][0])
    latest = (
        f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {', '.join(keys)}"
        f" ORDER BY {order} DESC) AS _hr_rn FROM {dest.table}) AS _hr_ranked WHERE _hr_rn = 1"
    )
    if target_exists:
        match = " AND ".join(f"_hr_s.{k} = _hr_t.{k}" for k in keys)
        engine.execute(
            f"DELETE FROM {target} AS _hr_t WHERE EXISTS"
            f" (SELECT 1 FROM {dest.table} AS _hr_s WHERE {match})"
        )
    loaded = engine.execute(f"INSERT INTO {target} ({cols}) {latest}")
    engine.execute(f"DROP TABLE {dest.table}")
    return loaded, staged - loaded


def drop_leftovers(engine: EngineAdapter, schema_name: str) -> list[str]:
    """Janitor: drop staging tables a crashed run may have left (never the case with
    transactional DDL, but an older version or a manual COMMIT could)."""
    dropped = []
    for info in engine.list_tables(schema_name, sizes=False):
        if info.kind == "table" and info.name.startswith(f"{STAGING_PREFIX}new_"):
            engine.execute(
                f"DROP TABLE IF EXISTS {quote_ident(info.schema, engine.dialect)}."
                f"{quote_ident(info.name, engine.dialect)}"
            )
            dropped.append(info.name)
    return dropped
