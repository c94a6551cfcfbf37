"""Measure a workload for real: warm-up, then N timed runs of every query; percentiles,
plans, and whether each plan uses a secondary index."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.advisor.analyze import OWN_QUERY_MARK
from headrace.errors import EngineError

if TYPE_CHECKING:
    from headrace.advisor.model import WorkloadQuery
    from headrace.engines.base import EngineAdapter


@dataclass
class QueryTiming:
    """One query's measured latencies (ms) and the indexes its plan used."""

    label: str
    position: str
    samples_ms: list[float] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)  # index names in the plan
    secondary: list[str] = field(default_factory=list)  # of those, not primary keys
    rows: int = 0
    error: str | None = None

    @property
    def p50_ms(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def max_ms(self) -> float:
        return max(self.samples_ms, default=0.0)

    def to_json(self) -> dict[str, Any]:
        """Per-query figures."""
        return {
            "label": self.label,
            "position": self.position,
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "runs": len(self.samples_ms),
            "rows": self.rows,
            "indexes": self.indexes,
            "uses_secondary_index": bool(self.secondary),
            "error": self.error,
        }


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no samples)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return float(ordered[int(rank) - 1])


def summary(timings: Sequence[QueryTiming]) -> dict[str, float]:
    """p50/p95/max over every sample of every query."""
    pooled = [s for t in timings for s in t.samples_ms]
    return {
        "p50_ms": round(percentile(pooled, 50), 3),
        "p95_ms": round(percentile(pooled, 95), 3),
        "max_ms": round(max(pooled, default=0.0), 3),
    }


def measure(
    engine: EngineAdapter,
    queries: Sequence[WorkloadQuery],
    *,
    repeat: int = 10,
    warmup: int = 2,
) -> list[QueryTiming]:
    """Run each query ``warmup`` times untimed, then ``repeat`` times timed (wall clock
    around execute + fetch, as an application sees it)."""
    primary = primary_key_indexes(engine)
    timings = []
    for query in queries:
        timing = QueryTiming(query.label or query.position, query.position)
        try:
            timing.indexes = plan_indexes(engine, query.sql)
            timing.secondary = [i for i in timing.indexes if i not in primary]
            # Marked, so that a later pg_stat_statements capture does not take the
            # advisor's own runs for the application's.
            sql = f"{OWN_QUERY_MARK} {query.sql}" if engine.dialect == "postgres" else query.sql
            for _ in range(warmup):
                engine.fetchall(sql)
            for _ in range(repeat):
                started = time.perf_counter()
                rows = engine.fetchall(sql)
                timing.samples_ms.append((time.perf_counter() - started) * 1000)
            timing.rows = len(rows) if repeat else 0
        except EngineError as exc:
            timing.error = str(exc)
        timings.append(timing)
    return timings


def plan_indexes(engine: EngineAdapter, sql: str) -> list[str]:
    """Names of the indexes the plan of ``sql`` scans, in plan order."""
    if engine.dialect != "postgres":
        return duckdb_plan_indexes(engine, sql)
    plan = engine.explain(sql)[0]["Plan"]
    names: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop(0)
        name = node.get("Index Name")
        if name and name not in names:
            names.append(str(name))
        stack.extend(node.get("Plans", []))
    return names


def duckdb_plan_indexes(engine: EngineAdapter, sql: str) -> list[str]:
    """DuckDB shows an ART lookup as an INDEX_SCAN operator naming its index."""
    text = "\n".join(str(r[-1]) for r in engine.fetchall(f"EXPLAIN {sql}"))
    if "INDEX_SCAN" not in text.upper():
        return []
    return ["art"]


def primary_key_indexes(engine: EngineAdapter) -> set[str]:
    """Names of primary-key indexes (they do not count as secondary)."""
    if engine.dialect != "postgres":
        return set()
    rows = engine.fetchall(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indisprimary"
    )
    return {str(r[0]) for r in rows}
