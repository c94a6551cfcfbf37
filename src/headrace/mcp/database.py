"""The MCP server's database side: a bounded pool of read-only sessions, and query results
capped by rows and characters and made JSON-safe.

Every call borrows its own session and gives it back: nothing a call does (it can only
read, inside a transaction that is rolled back) is visible to another client, and a
session that broke is closed rather than handed on.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from headrace.errors import (
    ConnectError,
    EngineError,
    QueryTimeoutError,
    TerminalError,
    TransientError,
)

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter, Params


@dataclass
class QueryResult:
    """Rows with column names and types, and a note when they were cut short."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    note: str | None = None
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """What a tool returns."""
        payload: dict[str, Any] = {
            "columns": [
                {"name": n, "type": t} for n, t in zip(self.columns, self.types, strict=True)
            ],
            "rows": self.rows,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if self.note:
            payload["note"] = self.note
        payload.update(self.extra)
        return payload


class SessionPool:
    """Up to ``size`` read-only sessions made by ``factory``, lent one call at a time."""

    def __init__(
        self,
        factory: Callable[[], EngineAdapter],
        size: int = 8,
        wait_s: float = 30,
        idle_close_s: float | None = None,
    ):
        self._factory = factory
        self._idle: queue.LifoQueue[EngineAdapter] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._open: set[int] = set()
        self._lent = 0
        self._last_used = time.monotonic()
        self.size = size
        self.dialect = factory().dialect  # unconnected: just the class attribute
        # A DuckDB file admits a writing process only when no other process has it open:
        # close the sessions once the agent has been quiet for a moment, so that
        # `headrace run` in another terminal can write between questions.
        default_idle = 2.0 if self.dialect == "duckdb" else None
        self.idle_close_s = default_idle if idle_close_s is None else idle_close_s

    @contextmanager
    def session(self) -> Iterator[EngineAdapter]:
        """A session for one call; waits (bounded) when all are busy."""
        if not self._slots.acquire(timeout=self._wait_s):
            raise TransientError(f"all {self.size} database sessions are busy; try again")
        with self._lock:
            self._lent += 1
        engine: EngineAdapter | None = None
        try:
            try:
                engine = self._idle.get_nowait()
            except queue.Empty:
                engine = self._factory()
                engine.connect()
                with self._lock:
                    self._open.add(id(engine))
            yield engine
        except EngineError as exc:
            # An error about the SQL itself (rolled back) leaves the session healthy; a lost
            # connection or a timeout replaces it rather than hand it on.
            healthy = isinstance(exc, TerminalError) and not isinstance(
                exc, ConnectError | QueryTimeoutError
            )
            if engine is not None and not healthy:
                self._discard(engine)
                engine = None
            raise
        except BaseException:
            if engine is not None:
                self._discard(engine)
                engine = None
            raise
        finally:
            if engine is not None:
                self._idle.put(engine)
            with self._lock:
                self._lent -= 1
                self._last_used = time.monotonic()
            self._slots.release()
            if self.idle_close_s:
                from headrace.engines.watchdog import WATCHDOG

                WATCHDOG.arm(self.idle_close_s, self._close_if_quiet)

    def _close_if_quiet(self) -> None:
        """Close the idle sessions when no call has run for ``idle_close_s``."""
        with self._lock:
            quiet = self._lent == 0 and (
                time.monotonic() - self._last_used >= (self.idle_close_s or 0) * 0.99
            )
        if quiet:
            self.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No session open while the block runs (a DuckDB file admits a writing process
        only when no other process holds it): calls wait until it is over."""
        if self.dialect != "duckdb":
            yield
            return
        taken = 0
        try:
            for _ in range(self.size):
                if not self._slots.acquire(timeout=self._wait_s):
                    raise TransientError("database sessions stayed busy; try again")
                taken += 1
            self.close()
            yield
        finally:
            for _ in range(taken):
                self._slots.release()

    def open_sessions(self) -> int:
        """Sessions currently open (idle or lent)."""
        with self._lock:
            return len(self._open)

    def _discard(self, engine: EngineAdapter) -> None:
        with self._lock:
            self._open.discard(id(engine))
        try:
            engine.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not mask the error
            pass

    def close(self) -> None:
        """Close every idle session (on shutdown)."""
        while True:
            try:
                self._discard(self._idle.get_nowait())
            except queue.Empty:
                return


def capped_query(
    engine: EngineAdapter,
    sql: str,
    params: Params = None,
    *,
    max_rows: int,
    max_chars: int,
) -> QueryResult:
    """Run one guarded query; at most ``max_rows`` rows and about ``max_chars`` characters
    of JSON come back, with an explicit note when anything was cut."""
    started = time.perf_counter()
    found = engine.fetch_capped(sql, params, max_rows=max_rows)
    rows: list[list[Any]] = []
    used = 0
    cut_by_chars = False
    for row in found.rows:
        values = [json_value(v) for v in row]
        size = len(json.dumps(values, default=str))
        if rows and used + size > max_chars:
            cut_by_chars = True
            break
        rows.append(values)
        used += size
    result = QueryResult(
        found.columns, found.types, rows, elapsed_ms=(time.perf_counter() - started) * 1000
    )
    if found.more or cut_by_chars:
        result.truncated = True
        limit = f"{max_rows} rows" if found.more and not cut_by_chars else f"{max_chars} characters"
        result.note = (
            f"result truncated to {len(rows)} rows (limit: {limit}); add a WHERE clause, an"
            " aggregate or a LIMIT to see what you need"
        )
    return result


def json_value(value: Any) -> Any:
    """A database value as JSON: exact decimals as strings, times in ISO 8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)
