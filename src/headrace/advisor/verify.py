"""Prove recommendations by measurement on PostgreSQL: run the workload, build the indexes
(``CREATE INDEX CONCURRENTLY``: writers are not blocked), ANALYZE, run it again, read each
index's scans and size; without ``apply``, drop the indexes again."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.advisor.measure import QueryTiming, measure
from headrace.engines.sql import quote_ident, quote_table
from headrace.errors import EngineError, UsageError

if TYPE_CHECKING:
    from headrace.advisor.model import IndexCandidate, WorkloadQuery
    from headrace.engines.base import EngineAdapter


@dataclass
class BuiltIndex:
    """A recommended index as built: its size and how often the workload scanned it."""

    candidate: IndexCandidate
    size_bytes: int = 0
    scans: int = 0
    error: str | None = None


@dataclass
class Verification:
    """Measured latencies before and after, and the indexes built."""

    before: list[QueryTiming]
    after: list[QueryTiming]
    built: list[BuiltIndex] = field(default_factory=list)
    applied: bool = False


def require_index_rights(engine: EngineAdapter, tables: Sequence[str]) -> None:
    """Creating an index needs the table's owner role: say so before anything changes."""
    for table in sorted(set(tables)):
        rows = engine.fetchall(
            "SELECT pg_has_role(c.relowner, 'USAGE'), pg_get_userbyid(c.relowner), current_user"
            " FROM pg_class c WHERE c.oid = to_regclass(%s)",
            [quote_table(table, "postgres")],
        )
        if rows and not rows[0][0]:
            raise UsageError(
                f"role {rows[0][2]} cannot create indexes on {table} (owned by {rows[0][1]})",
                hint="run as the table owner, or without --verify/--apply to only recommend",
            )


def verify(
    engine: EngineAdapter,
    queries: Sequence[WorkloadQuery],
    candidates: Sequence[IndexCandidate],
    *,
    repeat: int = 10,
    warmup: int = 2,
    apply: bool = False,
) -> Verification:
    """Measure, build, ANALYZE, measure again; keep the indexes only with ``apply``."""
    require_index_rights(engine, [c.table for c in candidates])
    result = Verification(measure(engine, queries, repeat=repeat, warmup=warmup), [])
    built: list[BuiltIndex] = []
    try:
        for candidate in candidates:
            index = BuiltIndex(candidate)
            built.append(index)
            try:
                engine.execute(candidate.ddl(concurrently=True))
            except EngineError as exc:
                index.error = str(exc)
                _drop(engine, candidate)  # a failed CONCURRENTLY build leaves it INVALID
        for table in sorted({c.table for c in candidates}):
            engine.execute(f"ANALYZE {quote_table(table, 'postgres')}")
        scans_before = _scans(engine)
        result.after = measure(engine, queries, repeat=repeat, warmup=warmup)
        scans_after = _scans(engine, wait_for_change=scans_before)
        for index in built:
            name = index.candidate.name()
            index.scans = scans_after.get(name, 0) - scans_before.get(name, 0)
            index.size_bytes = _size(engine, index.candidate)
        result.built = built
        result.applied = apply
    finally:
        if not apply:
            for index in built:
                _drop(engine, index.candidate)
    return result


def _index_ref(candidate: IndexCandidate) -> str:
    schema = candidate.table.split(".")[0]
    return f"{quote_ident(schema, 'postgres')}.{quote_ident(candidate.name(), 'postgres')}"


def _drop(engine: EngineAdapter, candidate: IndexCandidate) -> None:
    try:
        engine.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_index_ref(candidate)}")
    except EngineError:
        engine.execute(f"DROP INDEX IF EXISTS {_index_ref(candidate)}")


def _size(engine: EngineAdapter, candidate: IndexCandidate) -> int:
    rows = engine.fetchall("SELECT pg_relation_size(to_regclass(%s))", [_index_ref(candidate)])
    return int(rows[0][0] or 0) if rows else 0


def _scans(engine: EngineAdapter, wait_for_change: dict[str, int] | None = None) -> dict[str, int]:
    """idx_scan per index name. Statistics reach the shared view asynchronously: flush this
    session's now and, after a measurement, poll briefly until they move."""
    deadline = time.monotonic() + 3.0
    while True:
        engine.execute("SELECT pg_stat_force_next_flush()")
        engine.execute("SELECT 1")  # the flush happens at the end of a statement
        rows: Any = engine.fetchall("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes")
        found = {str(name): int(scans or 0) for name, scans in rows}
        if wait_for_change is None or found != wait_for_change or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
