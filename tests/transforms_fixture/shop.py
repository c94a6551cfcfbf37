"""Sample transforms over an orders batch (id, qty, price, status)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

import headrace


def add_total(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Derive total = qty * price and upper-case the status."""
    total = pc.multiply(pc.cast(batch["qty"], pa.float64()), pc.cast(batch["price"], pa.float64()))
    status = pc.utf8_upper(batch["status"])
    columns = {name: batch[name] for name in batch.schema.names}
    columns["status"] = status
    columns["total"] = total
    return pa.RecordBatch.from_pydict(columns)


def tag(batch: pa.RecordBatch) -> pa.Table:
    """Add a constant column; returns a Table, which headrace accepts too."""
    table = pa.Table.from_batches([batch])
    return table.append_column("loaded_by", pa.array(["headrace"] * batch.num_rows))


def reject_negative(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Quarantine rows with a negative quantity."""
    return headrace.reject(
        batch, pc.less(batch["qty"], 0), reason="negative quantity", column="qty"
    )


def reject_big_total(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Quarantine orders over 100 (needs add_total to have run first)."""
    return headrace.reject(batch, pc.greater(batch["total"], 100), "total over 100")


def boom(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Fail on a zero quantity, like a real bug would."""
    for qty in batch["qty"].to_pylist():
        if qty == 0:
            raise ZeroDivisionError("division by zero")
    return batch


def drop_first(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Lose a row without saying so (headrace refuses this)."""
    return batch.slice(1)


def forget_return(batch: pa.RecordBatch) -> None:
    """Return nothing (headrace refuses this)."""


not_a_function = 42
