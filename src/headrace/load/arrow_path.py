"""SQL sources -> Arrow batches -> any target's bulk path (PostgreSQL COPY, DuckDB scan).

Batches stream from the source engine and are typed and checked by a scratch in-memory
DuckDB (the same SQL checks as file loads: ``scan.typed_select``). A producer thread keeps
reading while the consumer writes to the target, so both engines work at the same time;
the queue between them is small, which bounds memory. (Files reach PostgreSQL through
``file_load.CopySink`` instead: no Arrow, no Python per row.)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.load import scan
from headrace.load.file_load import QuarantineContext
from headrace.load.publish import ORDINAL
from headrace.load.scan import TargetColumn
from headrace.load.state import QUARANTINE_COLUMNS, now, state_table

if TYPE_CHECKING:
    import pyarrow as pa

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter

BATCH_ROWS = 122_880  # DuckDB's row-group size: batches come out whole, no re-chunking
_QUEUE_DEPTH = 4
_QUARANTINE_FIELDS = ("line", "row_offset", "column_name", "reason", "message", "raw")


def scratch_duckdb(memory_limit: str = "512MB", threads: int | None = None) -> DuckDBAdapter:
    """An in-memory DuckDB for parsing and typing; spills to disk past ``memory_limit``."""
    from headrace.engines.registry import create_engine

    engine = create_engine("duckdb:///:memory:")
    engine.execute(f"SET memory_limit = {scan.lit(memory_limit)}")
    if threads:
        engine.execute(f"SET threads = {int(threads)}")
    engine.execute("SET preserve_insertion_order = true")
    return engine  # type: ignore[return-value]


@dataclass
class StreamCounts:
    """What a stream saw: read = valid + quarantined."""

    read: int = 0
    valid: int = 0
    quarantined: int = 0
    cursor_max: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class QuarantineBuffer:
    """Bad rows parked in the scratch DuckDB (it spills, so memory stays bounded) until the
    target can take them after the data stream finishes."""

    def __init__(self, reader: DuckDBAdapter) -> None:
        # Its own database: the reader's connection is busy streaming the data while bad
        # rows arrive, and DuckDB allows one open result per connection.
        self.reader = reader
        self.scratch = scratch_duckdb("256MB")
        self.count = 0
        self.scratch.execute(
            "CREATE OR REPLACE TEMP TABLE _hr_quarantine (line BIGINT, row_offset BIGINT,"
            " column_name VARCHAR, reason VARCHAR, message VARCHAR, raw VARCHAR)"
        )

    def add(self, rows: pa.Table) -> None:
        """Append rows with the six quarantine fields."""
        if rows.num_rows:
            self.scratch.bulk_load(
                "temp.main._hr_quarantine", rows.select(list(_QUARANTINE_FIELDS))
            )
            self.count += rows.num_rows

    def add_from_reader(self, select: str, params: Sequence[Any] = ()) -> None:
        """Append rows selected in the reader's database (after its stream has finished)."""
        self.add(self.reader.fetch_arrow(select, list(params)))

    def close(self) -> None:
        """Free the buffer's database."""
        self.scratch.close()

    def flush_to(self, engine: EngineAdapter, ctx: QuarantineContext) -> int:
        """Write everything to the target's ``_headrace.quarantine`` (caller's transaction)."""
        if not self.count:
            return 0
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            stamp = now()
            for batch in self.scratch.stream_arrow(
                "SELECT * FROM temp.main._hr_quarantine", batch_rows=BATCH_ROWS
            ):
                n = batch.num_rows
                extra = {
                    "run_id": pa.array([ctx.run_id] * n, pa.string()),
                    "table_name": pa.array([ctx.table] * n, pa.string()),
                    "source": pa.array([ctx.source] * n, pa.string()),
                    "quarantined_at": pa.array([stamp] * n, pa.timestamp("us", tz="UTC")),
                }
                columns = {**extra, **{f: batch.column(f) for f in _QUARANTINE_FIELDS}}
                yield pa.RecordBatch.from_pydict({c: columns[c] for c in QUARANTINE_COLUMNS})

        written = engine.bulk_load(state_table("quarantine", engine.dialect), batches())
        self.scratch.execute("DELETE FROM temp.main._hr_quarantine")
        self.count = 0
        return written


def split_batch(
    batch: pa.RecordBatch, columns: Sequence[TargetColumn]
) -> tuple[pa.RecordBatch, pa.Table | None]:
    """(valid rows with exactly the target columns, bad rows as quarantine fields).

    Every check already ran in SQL (``_hr_reason`` and friends); this only splits.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [c.name for c in columns]
    bad = pc.is_valid(batch.column("_hr_reason"))
    if not pc.any(bad).as_py():
        return pa.RecordBatch.from_arrays([batch.column(c) for c in names], names=names), None
    valid = batch.filter(pc.invert(bad))
    bad_rows = pa.table(
        {
            "line": pa.nulls(batch.num_rows, pa.int64()),
            "row_offset": pc.cast(batch.column("_hr_pos"), pa.int64()),
            "column_name": batch.column("_hr_column"),
            "reason": batch.column("_hr_reason"),
            "message": batch.column("_hr_message"),
            "raw": batch.column("_hr_raw"),
        }
    ).filter(bad)
    return (
        pa.RecordBatch.from_arrays([valid.column(c) for c in names], names=names),
        bad_rows,
    )


def with_ordinal(batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
    """Append the load-wide row order (merge keeps the last row per key)."""
    import pyarrow as pa

    order = pa.array(range(start, start + batch.num_rows), pa.int64())
    return pa.RecordBatch.from_arrays([*batch.columns, order], names=[*batch.schema.names, ORDINAL])


def background(source: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Run ``source`` in a producer thread; the caller consumes from a bounded queue."""
    items: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    thread = threading.Thread(target=produce, name="headrace-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)
