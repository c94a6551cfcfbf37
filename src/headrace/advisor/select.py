"""Pick indexes greedily, the way Microsoft's Database Tuning Advisor does.

Start from the existing indexes; in each round, cost every remaining candidate together
with those already chosen and keep the one that lowers the workload's weighted cost the
most — provided it cuts at least one query's cost by ``min_gain`` and fits the storage
budget. Stop when no candidate qualifies. Then prune: an index the others make redundant
(removing it costs nothing: a wider index serves the same queries), or one no query plan
uses, is dropped from the recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.advisor.model import IndexCandidate, WorkloadQuery
    from headrace.advisor.whatif import WhatIf


@dataclass
class Recommendation:
    """A chosen index and what it is expected to do."""

    candidate: IndexCandidate
    size_bytes: int
    gain: float  # weighted planner-cost reduction when it was chosen
    queries_helped: list[int]  # workload positions whose cost it cut by min_gain or more


@dataclass
class Selection:
    """The chosen indexes and the planner's cost of each query before and after."""

    recommendations: list[Recommendation]
    costs_before: list[float]
    costs_after: list[float]
    candidates_evaluated: int = 0
    notes: list[str] = field(default_factory=list)


def select_indexes(
    whatif: WhatIf,
    queries: Sequence[WorkloadQuery],
    query_tables: Sequence[set[str]],
    candidates: Sequence[IndexCandidate],
    *,
    budget_bytes: int | None = None,
    min_gain: float = 0.5,
    existing: Mapping[str, Sequence[tuple[str, ...]]] | None = None,
) -> Selection:
    """Greedy selection under ``budget_bytes``; every pick cuts some query's cost by at
    least ``min_gain`` (0.5: half)."""
    existing = existing or {}
    touching = {
        c.key: [i for i, tables in enumerate(query_tables) if c.table in tables] for c in candidates
    }
    before = [whatif.cost(q.sql) for q in queries]
    current = list(before)
    chosen: list[Recommendation] = []
    remaining = [c for c in candidates if touching[c.key]]
    used = 0
    evaluated = 0
    while remaining:
        best: tuple[float, int, IndexCandidate, dict[int, float]] | None = None
        for candidate in list(remaining):
            size = whatif.size(candidate)
            if budget_bytes is not None and used + size > budget_bytes:
                continue
            costs = {i: whatif.cost(queries[i].sql, [candidate]) for i in touching[candidate.key]}
            evaluated += 1
            if not any(costs[i] <= current[i] * (1 - min_gain) for i in costs):
                continue
            gain = sum(queries[i].weight * (current[i] - costs[i]) for i in costs)
            # Ties go to the smaller index.
            if best is None or (gain, -size) > (best[0], -best[1]):
                best = (gain, size, candidate, costs)
        if best is None:
            break
        gain, size, candidate, costs = best
        helped = sorted(i for i in costs if costs[i] <= current[i] * (1 - min_gain))
        whatif.add(candidate)
        for i, cost in costs.items():
            current[i] = min(current[i], cost)
        used += size
        chosen.append(Recommendation(candidate, size, gain, helped))
        remaining.remove(candidate)
    chosen = _prune_redundant(whatif, queries, touching, chosen, current)
    chosen = _narrow(whatif, queries, touching, chosen, before, existing)
    chosen = _prune_redundant(
        whatif, queries, touching, chosen, [whatif.cost(q.sql) for q in queries]
    )
    chosen = _prune_unused(whatif, queries, touching, chosen)
    _attribute(whatif, queries, touching, chosen, before)
    after = [whatif.cost(q.sql) for q in queries]
    return Selection(chosen, before, after, evaluated)


# A narrower index is preferred when the queries lose less than this share of the
# improvement they got (from the workload's original cost): covering columns make an
# index much larger for a few percent of planner cost.
NARROWING_TOLERANCE = 0.05


def _narrow(
    whatif: WhatIf,
    queries: Sequence[WorkloadQuery],
    touching: dict[Any, list[int]],
    chosen: list[Recommendation],
    before: list[float],
    existing: Mapping[str, Sequence[tuple[str, ...]]],
) -> list[Recommendation]:
    """Replace a pick with INCLUDE columns by its plain key (or by nothing, when an
    existing index already leads with that key) if the queries hardly notice."""
    from dataclasses import replace

    kept: list[Recommendation] = []
    for rec in chosen:
        pick = rec.candidate
        if not pick.include:
            kept.append(rec)
            continue
        served = touching[pick.key]
        with_pick = {i: whatif.cost(queries[i].sql) for i in served}
        plain = replace(pick, include=())
        covered = any(plain.covered_by(cols) for cols in existing.get(pick.table, ()))
        whatif.remove(pick)
        if not covered:
            whatif.add(plain)
        without = {i: whatif.cost(queries[i].sql) for i in served}
        lost = sum(queries[i].weight * (without[i] - with_pick[i]) for i in served)
        won = sum(queries[i].weight * (before[i] - with_pick[i]) for i in served)
        if won > 0 and lost <= NARROWING_TOLERANCE * won:
            if not covered:
                kept.append(Recommendation(plain, whatif.size(plain), rec.gain, rec.queries_helped))
            continue
        if not covered:
            whatif.remove(plain)
        whatif.add(pick)
        kept.append(rec)
    return kept


def _attribute(
    whatif: WhatIf,
    queries: Sequence[WorkloadQuery],
    touching: dict[Any, list[int]],
    chosen: list[Recommendation],
    before: list[float],
) -> None:
    """Each pick helps the queries whose final plan uses it and got cheaper."""
    picks = {rec.candidate.key: rec for rec in chosen}
    for rec in chosen:
        rec.queries_helped = []
    for i in sorted({i for rec in chosen for i in touching[rec.candidate.key]}):
        if whatif.cost(queries[i].sql) >= before[i]:
            continue
        for key in whatif.used_in(whatif.plan(queries[i].sql), [r.candidate for r in chosen]):
            picks[key].queries_helped.append(i)


def _prune_redundant(
    whatif: WhatIf,
    queries: Sequence[WorkloadQuery],
    touching: dict[Any, list[int]],
    chosen: list[Recommendation],
    current: list[float],
) -> list[Recommendation]:
    """Drop a pick whose removal leaves every query as cheap (within 1%): wider picks made
    after it serve its queries."""
    kept = list(chosen)
    for rec in reversed(chosen):
        whatif.remove(rec.candidate)
        worse = any(
            whatif.cost(queries[i].sql) > current[i] * 1.01 for i in touching[rec.candidate.key]
        )
        if worse:
            whatif.add(rec.candidate)
        else:
            kept.remove(rec)
    return kept


def _prune_unused(
    whatif: WhatIf,
    queries: Sequence[WorkloadQuery],
    touching: dict[Any, list[int]],
    chosen: list[Recommendation],
) -> list[Recommendation]:
    """Drop a pick that no query's plan uses once all picks are in place."""
    picks = [rec.candidate for rec in chosen]
    used: set[Any] = set()
    for i in {i for rec in chosen for i in touching[rec.candidate.key]}:
        used |= whatif.used_in(whatif.plan(queries[i].sql), picks)
    kept = []
    for rec in chosen:
        if rec.candidate.key in used:
            kept.append(rec)
        else:
            whatif.remove(rec.candidate)
    return kept
