"""What ``headrace advise`` reports, and its JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.advisor.measure import percentile, summary

if TYPE_CHECKING:
    from headrace.advisor.measure import QueryTiming
    from headrace.advisor.model import IndexCandidate, Workload


@dataclass
class AdvisedIndex:
    """One recommendation, with its measured effect when verified."""

    candidate: IndexCandidate
    ddl: str
    size_bytes: int  # estimated (what-if) or measured (after a build)
    queries_helped: list[str]  # labels of the queries it is for
    scans: int | None = None  # idx_scan during the verification run
    kind: str = "index"  # index | sort_order (DuckDB)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented recommendation fields."""
        c = self.candidate
        return {
            "ddl": self.ddl,
            "kind": self.kind,
            "table": c.table,
            "columns": list(c.columns),
            "include": list(c.include),
            "where": c.where,
            "size_mb": round(self.size_bytes / 1_048_576, 3),
            "queries_helped": self.queries_helped,
            "scans": self.scans,
            "error": self.error,
        }


@dataclass
class AdviceReport:
    """Everything one ``headrace advise`` found and measured."""

    engine: str
    method: str
    workload: Workload
    recommendations: list[AdvisedIndex]
    analysis_seconds: float
    candidates: int = 0
    before: list[QueryTiming] = field(default_factory=list)
    after: list[QueryTiming] = field(default_factory=list)
    applied: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return bool(self.after)

    def helped_labels(self) -> set[str]:
        """Queries some recommendation is for."""
        return {label for r in self.recommendations for label in r.queries_helped}

    def to_json(self) -> dict[str, Any]:
        """``{"method", "recommendations", "before", "after", "p95_reduction_pct", ...}``."""
        payload: dict[str, Any] = {
            "engine": self.engine,
            "method": self.method,
            "workload": {
                "source": self.workload.source,
                "queries": len(self.workload.queries),
                "skipped": [
                    {"position": s.position, "reason": s.reason} for s in self.workload.skipped
                ],
            },
            "candidates": self.candidates,
            "recommendations": [r.to_json() for r in self.recommendations],
            "total_size_mb": round(sum(r.size_bytes for r in self.recommendations) / 1_048_576, 3),
            "analysis_seconds": round(self.analysis_seconds, 3),
            "applied": self.applied,
            "notes": self.notes,
        }
        if not self.verified:
            return payload
        helped = self.helped_labels()
        targeted = [t for t in self.before if t.label in helped]
        targeted_after = [t for t in self.after if t.label in helped]
        payload.update(
            {
                # The headline is about the queries indexes were recommended for: a few
                # wide aggregates no index helps would otherwise dominate a pooled p95.
                "before": summary(targeted),
                "after": summary(targeted_after),
                "p95_reduction_pct": reduction(targeted, targeted_after),
                "all_queries": {
                    "before": summary(self.before),
                    "after": summary(self.after),
                    "p95_reduction_pct": reduction(self.before, self.after),
                },
                "index_utilization_pct": utilization(self.after, helped),
                "helped": _group(self.before, self.after, lambda t: t.label in helped),
                "not_helped": _group(self.before, self.after, lambda t: t.label not in helped),
                "unused_recommendations": [
                    r.ddl for r in self.recommendations if r.scans == 0 and r.error is None
                ],
                "queries": [
                    {**b.to_json(), "after": a.to_json()}
                    for b, a in zip(self.before, self.after, strict=True)
                ],
            }
        )
        return payload


def reduction(before: list[QueryTiming], after: list[QueryTiming]) -> float | None:
    """How much the pooled p95 fell, in percent (None without samples)."""
    old = summary(before)["p95_ms"]
    new = summary(after)["p95_ms"]
    return round(100.0 * (old - new) / old, 1) if old > 0 else None


def utilization(after: list[QueryTiming], helped: set[str]) -> float | None:
    """Share of the queries indexes were recommended for whose plan uses a secondary index."""
    targets = [t for t in after if t.label in helped]
    if not targets:
        return None
    return round(100.0 * sum(bool(t.secondary) for t in targets) / len(targets), 1)


def _group(before: list[QueryTiming], after: list[QueryTiming], keep: Any) -> dict[str, Any]:
    b = [t for t in before if keep(t)]
    a = [t for t in after if keep(t)]
    # Slower means clearly outside the noise: the median after is above every sample
    # before, and by 20% (and half a millisecond) at least.
    per_query_slower = [
        x.label
        for x, y in zip(b, a, strict=True)
        if y.samples_ms
        and x.samples_ms
        and percentile(y.samples_ms, 50) > max(x.samples_ms)
        and percentile(y.samples_ms, 50) > 1.2 * percentile(x.samples_ms, 50) + 0.5
    ]
    return {
        "queries": len(b),
        "before": summary(b),
        "after": summary(a),
        "p95_reduction_pct": reduction(b, a),
        "slower": per_query_slower,
    }
