"""Arrow plumbing shared by the adapters."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def as_reader(
    batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader | pa.Table,
) -> pa.RecordBatchReader | None:
    """Normalise any Arrow source to a RecordBatchReader without materialising it.

    Returns None for an empty iterable (there is no schema to build a reader from).
    """
    import pyarrow as pa

    if isinstance(batches, pa.RecordBatchReader):
        return batches
    if isinstance(batches, pa.Table):
        return batches.to_reader()
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        return None
    return pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], iterator))
