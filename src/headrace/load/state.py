"""headrace's own tables in the target (schema ``_headrace``): runs, files, watermarks, ...

They live in the target so that data, state and the run record commit in ONE transaction:
a crash before the commit leaves neither the rows nor the memory of having loaded them.
The DDL uses types both DuckDB and PostgreSQL accept under the same names.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.schema import TableSchema

STATE_SCHEMA = "_headrace"

_TABLES = {
    "runs": (
        "run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, pipeline TEXT, target_table TEXT,"
        " source TEXT, status TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL,"
        " finished_at TIMESTAMPTZ, rows_read BIGINT, rows_loaded BIGINT,"
        " rows_quarantined BIGINT, rows_merged_away BIGINT, files_loaded BIGINT,"
        " files_skipped BIGINT, error TEXT, details TEXT"
    ),
    "ingested_files": (
        "table_name TEXT NOT NULL, path TEXT NOT NULL, size BIGINT NOT NULL,"
        " mtime_ns BIGINT NOT NULL, content_hash TEXT NOT NULL, rows_read BIGINT,"
        " run_id TEXT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (table_name, path, content_hash)"
    ),
    "watermarks": (
        "table_name TEXT NOT NULL, source TEXT NOT NULL, cursor_column TEXT NOT NULL,"
        " value TEXT, run_id TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (table_name, source)"
    ),
    "schemas": (
        "table_name TEXT PRIMARY KEY, schema_json TEXT NOT NULL, run_id TEXT NOT NULL,"
        " updated_at TIMESTAMPTZ NOT NULL"
    ),
    "steps": (
        "run_id TEXT NOT NULL, step TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,"
        " rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, load_run_id TEXT,"
        " error TEXT, attempt_errors TEXT, PRIMARY KEY (run_id, step)"
    ),
    "intervals": (
        "table_name TEXT NOT NULL, source TEXT NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL,"
        " rows_read BIGINT, run_id TEXT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (table_name, source, lo)"
    ),
    "check_results": (
        "run_id TEXT NOT NULL, table_name TEXT NOT NULL, check_name TEXT NOT NULL,"
        " kind TEXT NOT NULL, column_name TEXT, status TEXT NOT NULL, severity TEXT NOT NULL,"
        " invalid_count BIGINT, invalid_pct DOUBLE PRECISION, rows_scanned BIGINT,"
        " observed_value DOUBLE PRECISION, observed TEXT, threshold TEXT, message TEXT,"
        " duration_ms DOUBLE PRECISION, checked_at TIMESTAMPTZ NOT NULL, failing_rows_sql TEXT"
    ),
    # One row per SQL model: what was last built, from which inputs, up to which watermark.
    "models": (
        "model TEXT PRIMARY KEY, sql_hash TEXT NOT NULL, materialized TEXT NOT NULL,"
        " columns TEXT, inputs TEXT, version TEXT NOT NULL, watermark TEXT, run_id TEXT NOT NULL,"
        " built_at TIMESTAMPTZ NOT NULL, rows_written BIGINT"
    ),
    "quarantine": (
        "run_id TEXT NOT NULL, table_name TEXT NOT NULL, source TEXT NOT NULL, line BIGINT,"
        " row_offset BIGINT, column_name TEXT, reason TEXT NOT NULL, message TEXT NOT NULL,"
        " raw TEXT, quarantined_at TIMESTAMPTZ NOT NULL, replayed_by TEXT"
    ),
    # Queries run through the MCP server and the dashboard: the advisor's "querylog" workload.
    "query_log": (
        "logged_at TIMESTAMPTZ NOT NULL, source TEXT NOT NULL, query TEXT NOT NULL,"
        " duration_ms DOUBLE PRECISION, rows BIGINT, error TEXT"
    ),
    # Whether each SLO / the budget was last seen breached: alerts fire only on the flip.
    "alert_state": (
        "alert_key TEXT PRIMARY KEY, breached BOOLEAN NOT NULL, detail TEXT,"
        " changed_at TIMESTAMPTZ NOT NULL"
    ),
}

QUARANTINE_COLUMNS = (
    "run_id",
    "table_name",
    "source",
    "line",
    "row_offset",
    "column_name",
    "reason",
    "message",
    "raw",
    "quarantined_at",
)


def state_table(name: str, dialect: str) -> str:
    """Quoted ``_headrace.<name>``."""
    return f"{quote_ident(STATE_SCHEMA, dialect)}.{quote_ident(name, dialect)}"


def ensure_state(engine: EngineAdapter) -> None:
    """Create the state schema and tables if missing, and add columns a newer headrace
    expects to tables an older one created (idempotent; one catalog query when current)."""
    present: dict[str, set[str]] = {}
    for table, column in engine.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        f" WHERE table_schema = {ph(engine)}",
        [STATE_SCHEMA],
    ):
        present.setdefault(str(table), set()).add(str(column))
    if set(_TABLES) <= set(present) and all(
        {name for name, _ in _columns(ddl)} <= present[table] for table, ddl in _TABLES.items()
    ):
        return
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(STATE_SCHEMA, engine.dialect)}")
    for table, ddl in _TABLES.items():
        target = state_table(table, engine.dialect)
        if table not in present:
            engine.execute(f"CREATE TABLE IF NOT EXISTS {target} ({ddl})")
            continue
        for name, kind in _columns(ddl):
            if name not in present[table]:
                # Added columns are nullable: rows written before the upgrade have none.
                engine.execute(f"ALTER TABLE {target} ADD COLUMN {name} {kind}")


def _columns(ddl: str) -> list[tuple[str, str]]:
    """(name, type) of each column in a state table's DDL (constraints skipped)."""
    items, depth, current = [], 0, ""
    for char in ddl:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    found = []
    for item in items:
        if item.upper().startswith("PRIMARY KEY"):
            continue
        name, _, rest = item.partition(" ")
        kind = rest.replace("NOT NULL", "").replace("PRIMARY KEY", "").strip()
        found.append((name, kind))
    return found


def now() -> dt.datetime:
    """Timezone-aware UTC now (both engines store it as timestamptz)."""
    return dt.datetime.now(dt.UTC)


def ph(engine: EngineAdapter) -> str:
    """The engine's positional placeholder."""
    return "%s" if engine.dialect == "postgres" else "?"


def placeholders(engine: EngineAdapter, count: int) -> str:
    """``?, ?, ?`` or ``%s, %s, %s``."""
    return ", ".join([ph(engine)] * count)


@dataclass
class RunRecord:
    """One row of ``_headrace.runs``."""

    run_id: str
    kind: str
    target_table: str
    source: str
    started_at: dt.datetime
    pipeline: str | None = None
    status: str = "running"
    finished_at: dt.datetime | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_merged_away: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    error: str | None = None
    details: dict[str, Any] | None = None


def write_run(engine: EngineAdapter, run: RunRecord) -> None:
    """Insert or replace the run record (inside the caller's transaction)."""
    table = state_table("runs", engine.dialect)
    engine.execute(f"DELETE FROM {table} WHERE run_id = {ph(engine)}", [run.run_id])
    values = [
        run.run_id,
        run.kind,
        run.pipeline,
        run.target_table,
        run.source,
        run.status,
        run.started_at,
        run.finished_at,
        run.rows_read,
        run.rows_loaded,
        run.rows_quarantined,
        run.rows_merged_away,
        run.files_loaded,
        run.files_skipped,
        run.error,
        json.dumps(run.details or {}, default=str),
    ]
    engine.execute(f"INSERT INTO {table} VALUES ({placeholders(engine, len(values))})", values)


def run_status(engine: EngineAdapter, run_id: str) -> str | None:
    """The recorded status of a run, if any."""
    rows = engine.fetchall(
        f"SELECT status FROM {state_table('runs', engine.dialect)} WHERE run_id = {ph(engine)}",
        [run_id],
    )
    return str(rows[0][0]) if rows else None


@dataclass(frozen=True)
class IngestedFile:
    """A file remembered by ``--incremental files``."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str


def ingested_files(engine: EngineAdapter, table: str) -> list[IngestedFile]:
    """Files already loaded into ``table``."""
    files = state_table("ingested_files", engine.dialect)
    rows = engine.fetchall(
        f"SELECT path, size, mtime_ns, content_hash FROM {files} WHERE table_name = {ph(engine)}",
        [table],
    )
    return [IngestedFile(str(p), int(s), int(m), str(h)) for p, s, m, h in rows]


def remember_file(
    engine: EngineAdapter, table: str, file: IngestedFile, rows_read: int, run_id: str
) -> None:
    """Record a loaded file (same transaction as its rows)."""
    engine.execute(
        f"INSERT INTO {state_table('ingested_files', engine.dialect)}"
        f" VALUES ({placeholders(engine, 8)})",
        [table, file.path, file.size, file.mtime_ns, file.content_hash, rows_read, run_id, now()],
    )


def read_watermark(engine: EngineAdapter, table: str, source: str) -> str | None:
    """The stored cursor value (as text) for ``table`` loaded from ``source``."""
    rows = engine.fetchall(
        f"SELECT value FROM {state_table('watermarks', engine.dialect)}"
        f" WHERE table_name = {ph(engine)} AND source = {ph(engine)}",
        [table, source],
    )
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


def write_watermark(
    engine: EngineAdapter, table: str, source: str, column: str, value: str, run_id: str
) -> None:
    """Store the new cursor value (same transaction as the rows it covers)."""
    wm = state_table("watermarks", engine.dialect)
    p = ph(engine)
    engine.execute(f"DELETE FROM {wm} WHERE table_name = {p} AND source = {p}", [table, source])
    engine.execute(
        f"INSERT INTO {wm} VALUES ({placeholders(engine, 6)})",
        [table, source, column, value, run_id, now()],
    )


def recorded_schema(engine: EngineAdapter, table: str) -> TableSchema | None:
    """The schema recorded by an earlier load of ``table`` (declared or inferred)."""
    from headrace.schema import TableSchema

    rows = engine.fetchall(
        f"SELECT schema_json FROM {state_table('schemas', engine.dialect)}"
        f" WHERE table_name = {ph(engine)}",
        [table],
    )
    return TableSchema.from_dict(json.loads(rows[0][0])) if rows else None


def record_schema(engine: EngineAdapter, table: str, schema: TableSchema, run_id: str) -> None:
    """Remember the table's schema so the next load is checked against it."""
    target = state_table("schemas", engine.dialect)
    engine.execute(f"DELETE FROM {target} WHERE table_name = {ph(engine)}", [table])
    engine.execute(
        f"INSERT INTO {target} VALUES ({placeholders(engine, 4)})",
        [table, json.dumps(schema.to_dict()), run_id, now()],
    )


def interval_done(engine: EngineAdapter, table: str, source: str, lo: str) -> bool:
    """Whether a backfill already loaded the interval starting at ``lo``."""
    p = ph(engine)
    return bool(
        engine.fetchall(
            f"SELECT 1 FROM {state_table('intervals', engine.dialect)}"
            f" WHERE table_name = {p} AND source = {p} AND lo = {p}",
            [table, source, lo],
        )
    )


def remember_interval(
    engine: EngineAdapter,
    table: str,
    source: str,
    window: tuple[str, str],
    rows: int,
    run_id: str,
) -> None:
    """Record a loaded backfill interval (same transaction as its rows)."""
    engine.execute(
        f"INSERT INTO {state_table('intervals', engine.dialect)}"
        f" VALUES ({placeholders(engine, 7)})",
        [table, source, window[0], window[1], rows, run_id, now()],
    )
