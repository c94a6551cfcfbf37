"""The query log: every query the MCP server and the dashboard run, with its duration.

``headrace advise --workload querylog`` turns it into a workload. Logging is best effort:
a query must never fail, or roll back, because its log line could not be written.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import EngineError
from headrace.load.state import ensure_state, now, placeholders, state_table

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

LOG_TABLE = "query_log"
COLUMNS = ("logged_at", "source", "query", "duration_ms", "rows", "error")
# Longer texts are generated SQL nobody will read back; the head identifies the query.
MAX_QUERY_CHARS = 100_000
MAX_ERROR_CHARS = 2_000
# The log writer's own connection gives up quickly rather than hold up the caller.
WRITER_TIMEOUT_S = 5.0

logger = logging.getLogger(__name__)

# A read-only session cannot write, and writing inside the caller's transaction would tie
# the log line to its fate: such engines get a second, writable connection of their own.
_writers: weakref.WeakKeyDictionary[EngineAdapter, EngineAdapter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def log_query(
    engine: EngineAdapter,
    source: str,
    query: str,
    duration_ms: float | None,
    rows: int | None,
    error: str | None = None,
) -> None:
    """Append one executed query to ``_headrace.query_log`` (never raises)."""
    try:
        values: list[Any] = [
            now(),
            source,
            query[:MAX_QUERY_CHARS],
            None if duration_ms is None else float(duration_ms),
            None if rows is None else int(rows),
            None if error is None else error[:MAX_ERROR_CHARS],
        ]
        if engine.read_only or engine.in_transaction:
            with _writers_lock:
                _insert(_writer(engine), values)
        else:
            _insert(engine, values)
    except Exception:
        logger.debug("could not write the query log", exc_info=True)


def _writer(engine: EngineAdapter) -> EngineAdapter:
    from headrace.engines.registry import create_engine

    writer = _writers.get(engine)
    if writer is None:
        writer = create_engine(engine.url, statement_timeout=WRITER_TIMEOUT_S)
        _writers[engine] = writer
    return writer


def _insert(engine: EngineAdapter, values: list[Any]) -> None:
    columns = ", ".join(quote_ident(c, engine.dialect) for c in COLUMNS)
    sql = (
        f"INSERT INTO {state_table(LOG_TABLE, engine.dialect)} ({columns})"
        f" VALUES ({placeholders(engine, len(COLUMNS))})"
    )
    try:
        with engine.transaction():
            engine.execute(sql, values)
    except EngineError:
        # Most likely the first line ever logged on this target: create the state tables.
        ensure_state(engine)
        with engine.transaction():
            engine.execute(sql, values)
