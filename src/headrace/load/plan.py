"""What a load finds out before writing: the target's schema, the merge key, how the
source's columns meet the table's (the contract), and which columns a source must have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headrace.errors import UsageError
from headrace.load import state
from headrace.load.model import LoadRequest, WriteMode
from headrace.load.scan import FileReadError, TargetColumn

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.schema import SchemaChange, TableSchema


@dataclass
class TargetPlan:
    """What the load found out before writing anything."""

    table: str  # canonical schema.table
    schema: TableSchema | None  # current target schema (None: table does not exist)
    exists: bool


def plan_target(engine: EngineAdapter, table: str, request: LoadRequest) -> TargetPlan:
    """Introspect the target: its schema (with keys/not-null from the recorded schema)."""
    from headrace.schema import LogicalType, TableSchema

    columns = engine.columns(table)
    if not columns:
        return TargetPlan(table, None, exists=False)
    recorded = state.recorded_schema(engine, table)
    pairs = [(c.name, LogicalType.from_engine_type(c.data_type, engine.dialect)) for c in columns]
    names = {n for n, _ in pairs}
    pk = tuple(k for k in (recorded.primary_key if recorded else ()) if k in names)
    not_null = {c.name for c in columns if not c.nullable}
    if recorded:
        not_null |= {n for n in recorded.not_null if n in names}
    return TargetPlan(table, TableSchema(tuple(pairs), pk, frozenset(not_null)), exists=True)


def merge_key(request: LoadRequest) -> tuple[str, ...]:
    if request.write is not WriteMode.MERGE:
        return ()
    key = request.key or (request.schema.primary_key if request.schema else ())
    if not key:
        raise UsageError(
            "merge needs a key", hint="pass --key COL[,COL] or declare primary_key in --schema"
        )
    return tuple(key)


def reconcile_schema(
    current: TableSchema | None, source: TableSchema, request: LoadRequest, table: str
) -> SchemaChange:
    from headrace.schema import reconcile

    target = request.schema if current is None else current
    if request.schema is not None and current is not None:
        # Declared columns missing from the table are new columns, like any other.
        extra = [(n, t) for n, t in request.schema.columns if current.type_of(n) is None]
        target = current.with_columns(extra) if extra else current
    assert request.contract is not None
    return reconcile(target, source, request.contract, table=table)


def require_columns(source: str, columns: Sequence[TargetColumn], key: Sequence[str]) -> None:
    """Fail when the source lacks a column the table requires (not_null, key)."""
    absent = [c.name for c in columns if (c.required or c.name in key) and not c.in_file]
    if absent:
        raise FileReadError(
            f"{source} has no column {', '.join(absent)}, which the table requires",
            hint="add the column to the file, or drop it from not_null/primary_key",
        )
