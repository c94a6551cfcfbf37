"""Load one file: DuckDB reads and checks it, a sink lands the good rows, bad rows go to
quarantine. The same SQL serves both targets; only the sink differs.

- DuckDB target: ``INSERT INTO dest SELECT ... FROM read_csv(...)``, inside the target, at
  DuckDB's full parallel speed. The rows never leave the engine.
- PostgreSQL target: a scratch in-memory DuckDB runs ``COPY (SELECT ...) TO <fifo>`` as
  CSV while a thread pumps the pipe into ``COPY ... FROM STDIN``. DuckDB's CSV writer
  produces exactly what PostgreSQL's CSV reader expects (NULL unquoted and empty, '' as
  ""), parsing and ingest overlap, and no row passes through Python. The scratch DuckDB
  runs on one thread so the PostgreSQL server keeps a core to itself.

Rows the reader accepts but the checks flag are filtered out in the same pass and counted
by a sequence (nextval runs only for them); only when there are some does a second pass
collect them for quarantine.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from headrace.load import scan
from headrace.load.publish import Destination
from headrace.load.scan import TargetColumn, lit, q
from headrace.load.state import QUARANTINE_COLUMNS, now, state_table

if TYPE_CHECKING:
    import pyarrow as pa

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter

_PIPE_CHUNK = 1 << 20


@dataclass
class FileCounts:
    """Rows of one file: read = loaded + quarantined."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class QuarantineContext:
    """Who the quarantined rows belong to."""

    run_id: str
    table: str
    source: str


class RowSink(Protocol):
    """Where accepted rows land."""

    def write(
        self,
        reader: DuckDBAdapter,
        select: str,
        params: Sequence[Any],
        columns: Sequence[str],
        dest: Destination,
    ) -> int:
        """Run ``select`` in ``reader`` and land its rows in ``dest``; return the count."""


class InsertSink:
    """The reader is the target: INSERT ... SELECT."""

    def write(
        self,
        reader: DuckDBAdapter,
        select: str,
        params: Sequence[Any],
        columns: Sequence[str],
        dest: Destination,
    ) -> int:
        names = ", ".join(q(c) for c in columns)
        return reader.execute(f"INSERT INTO {dest.table} ({names}) {select}", list(params))


class CopySink:
    """DuckDB writes CSV into a named pipe; a thread streams it into PostgreSQL COPY."""

    def __init__(self, target: EngineAdapter) -> None:
        self.target = target

    def write(
        self,
        reader: DuckDBAdapter,
        select: str,
        params: Sequence[Any],
        columns: Sequence[str],
        dest: Destination,
    ) -> int:
        from headrace.engines.sql import quote_ident

        names = ", ".join(quote_ident(c, self.target.dialect) for c in columns)
        copy_sql = f"COPY {dest.table} ({names}) FROM STDIN (FORMAT csv)"
        with tempfile.TemporaryDirectory(prefix="headrace-pipe-") as folder:
            pipe = Path(folder) / "rows.csv"
            os.mkfifo(pipe, 0o600)
            pump = _Pump(self.target, copy_sql, pipe)
            pump.start()
            try:
                reader.execute(
                    f"COPY ({select}) TO {lit(str(pipe))} (FORMAT csv, HEADER false)",
                    list(params),
                )
            except BaseException:
                pump.release()
                pump.join()
                raise
            pump.join()
        if pump.error is not None:
            raise pump.error
        return pump.rows


class _Pump(threading.Thread):
    """Reads the pipe into COPY FROM STDIN; on a COPY error it keeps draining the pipe so
    the DuckDB writer never blocks on a full pipe."""

    def __init__(self, target: EngineAdapter, copy_sql: str, pipe: Path) -> None:
        super().__init__(name="headrace-copy", daemon=True)
        self.target, self.copy_sql, self.pipe = target, copy_sql, pipe
        self.opened = threading.Event()
        self.error: BaseException | None = None
        self.rows = 0

    def run(self) -> None:
        try:
            with open(self.pipe, "rb", buffering=0) as stream:
                self.opened.set()
                try:
                    self.rows = self._copy(stream)
                except BaseException as exc:  # raised in the caller's thread
                    self.error = exc
                    while stream.read(_PIPE_CHUNK):
                        pass
        except BaseException as exc:
            self.error = self.error or exc

    def _copy(self, stream: Any) -> int:
        copy_from = getattr(self.target, "copy_from", None)
        if copy_from is None:
            raise TypeError(f"{self.target.name} has no COPY FROM STDIN")
        chunks = iter(lambda: stream.read(_PIPE_CHUNK), b"")
        return int(copy_from(self.copy_sql, chunks))

    def release(self) -> None:
        """Unblock a pump still waiting for the writer (the SELECT failed before it opened
        the pipe): open and close the write end."""
        if self.opened.is_set():
            return
        try:
            fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        os.close(fd)


class QuarantineWriter:
    """Writes quarantine rows selected in the reader into the target's quarantine table."""

    def __init__(
        self, reader: DuckDBAdapter, target: EngineAdapter, ctx: QuarantineContext
    ) -> None:
        self.reader, self.target, self.ctx = reader, target, ctx

    def write(self, select: str, params: Sequence[Any] = ()) -> int:
        """``select`` yields line, row_offset, column_name, reason, message, raw."""
        if self.reader is self.target:
            table = state_table("quarantine", self.target.dialect)
            return self.reader.execute(
                f"INSERT INTO {table} ({', '.join(QUARANTINE_COLUMNS)})"
                " SELECT ?, ?, ?, line, row_offset, column_name, reason, message, raw, ?"
                f" FROM ({select}) AS _hr_q",
                [self.ctx.run_id, self.ctx.table, self.ctx.source, now(), *params],
            )
        rows = self.reader.fetch_arrow(select, list(params))
        if not rows.num_rows:
            return 0
        return self.target.bulk_load(
            state_table("quarantine", self.target.dialect), _with_context(rows, self.ctx)
        )


def _with_context(rows: pa.Table, ctx: QuarantineContext) -> pa.Table:
    import pyarrow as pa

    n = rows.num_rows
    extra = {
        "run_id": pa.array([ctx.run_id] * n, pa.string()),
        "table_name": pa.array([ctx.table] * n, pa.string()),
        "source": pa.array([ctx.source] * n, pa.string()),
        "quarantined_at": pa.array([now()] * n, pa.timestamp("us", tz="UTC")),
    }
    data = {**extra, **{name: rows.column(name) for name in rows.column_names}}
    return pa.table({name: data[name] for name in QUARANTINE_COLUMNS})


def load_file(
    reader: DuckDBAdapter,
    sink: RowSink,
    quarantine: QuarantineWriter,
    select: str,
    params: Sequence[Any],
    columns: Sequence[TargetColumn],
    dest: Destination,
    tag: str,
    *,
    rejects: tuple[str, str] | None,
    second_pass: tuple[str, Sequence[Any]] | None = None,
    fast: bool = False,
) -> FileCounts:
    """Land the rows of ``select`` whose ``_hr_reason`` is NULL; quarantine the rest.

    ``rejects`` names DuckDB's reject tables (CSV). ``second_pass`` is the exact select,
    used only when rows were flagged: with ``fast`` (the main select read integers as
    DOUBLE) it lands the rows deferred for a digit re-check and quarantines the others.
    """
    names = [c.name for c in columns]
    counter = f"_hr_bad_{tag}"
    reader.execute(f"CREATE TEMP SEQUENCE {q(counter)}")
    reader.fetchall(f"SELECT nextval({lit(counter)})")  # currval needs one call first
    filtered = (
        f"SELECT {', '.join(q(n) for n in names)} FROM ({select}) AS _hr_s"
        f" WHERE CASE WHEN _hr_reason IS NULL THEN true ELSE nextval({lit(counter)}) < 0 END"
    )
    loaded = sink.write(reader, filtered, params, names, dest)
    flagged = int(reader.fetchall(f"SELECT currval({lit(counter)})")[0][0]) - 1
    reader.execute(f"DROP SEQUENCE {q(counter)}")
    quarantined = 0
    if rejects is not None:
        required = frozenset(c.name for c in columns if c.required)
        quarantined += quarantine.write(
            "SELECT line, CAST(NULL AS BIGINT) AS row_offset, column_name, reason, message, raw"
            f" FROM ({scan.rejects_select(rejects[0], required)})"
        )
        drop_temp(reader, *rejects)
    if flagged:
        again, again_params = second_pass or (select, params)
        if fast:
            deferred, bad = _recheck(reader, sink, quarantine, again, again_params, names, dest)
            if deferred + bad != flagged:
                from headrace.errors import HeadraceError

                raise HeadraceError(
                    f"the integer re-check of {quarantine.ctx.source} found {deferred + bad}"
                    f" of {flagged} flagged rows; nothing was committed",
                    hint="this is a bug in headrace; please report it",
                )
            loaded += deferred
            quarantined += bad
        else:
            quarantined += _quarantine_flagged(
                quarantine, again, again_params, "_hr_reason IS NOT NULL", "_hr_reason"
            )
    return FileCounts(read=loaded + quarantined, loaded=loaded, quarantined=quarantined)


def _recheck(
    reader: DuckDBAdapter,
    sink: RowSink,
    quarantine: QuarantineWriter,
    exact: str,
    params: Sequence[Any],
    names: Sequence[str],
    dest: Destination,
) -> tuple[int, int]:
    """Second pass after a fast one: land the deferred rows whose digits check out, and
    quarantine every other row the fast pass flagged (with the exact reason when known)."""
    deferred_ok = f"_hr_fast = {lit(scan.RECHECK)} AND _hr_reason IS NULL"
    deferred = sink.write(
        reader,
        f"SELECT {', '.join(q(n) for n in names)} FROM ({exact}) AS _hr_e WHERE {deferred_ok}",
        params,
        names,
        dest,
    )
    bad = _quarantine_flagged(
        quarantine,
        exact,
        params,
        f"_hr_fast IS NOT NULL AND _hr_fast <> {lit(scan.FAST_REJECTED)} AND NOT ({deferred_ok})",
        "coalesce(_hr_reason, _hr_fast)",
    )
    return deferred, bad


def _quarantine_flagged(
    quarantine: QuarantineWriter, select: str, params: Sequence[Any], condition: str, reason: str
) -> int:
    return quarantine.write(
        "SELECT CAST(NULL AS BIGINT) AS line, coalesce(_hr_pos, _hr_n) AS row_offset,"
        f" _hr_column AS column_name, {reason} AS reason, _hr_message AS message,"
        " _hr_raw AS raw"
        f" FROM (SELECT row_number() OVER () AS _hr_n, * FROM ({_with_pos(select)}))"
        f" WHERE {condition} ORDER BY _hr_n",
        params,
    )


def _with_pos(select: str) -> str:
    # CSV selects carry no position column; give them a NULL one so both shapes line up.
    if "_hr_pos" in select:
        return select
    return f"SELECT *, CAST(NULL AS BIGINT) AS _hr_pos FROM ({select})"


def drop_temp(reader: DuckDBAdapter, *names: str) -> None:
    """Drop DuckDB temp tables (the reject store's)."""
    for name in names:
        reader.execute(f"DROP TABLE IF EXISTS temp.main.{q(name)}")
