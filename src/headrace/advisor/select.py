"""Pick indexes greedily, the way Microsoft's Database Tuning Advisor does.

Start from the existing indexes; in each round, cost every remaining candidate together
with those already chosen and keep the one that lowers the workload's weighted cost the
most — provided it cuts at least one query's cost by ``min_gain`` and fits the storage
budget. Stop when no candidate qualifies. Then prune: an index the others make redundant
(removing it costs nothing: a wider index serves the same queries), or one no query plan
uses, is dropped from the recommendation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.advisor.model import IndexCandidate, WorkloadQuery
    from headrace.advisor.whatif import WhatIf

_HYPO_NAME = re.compile(r"^<(\d+)>")


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
) -> Selection:
    """Greedy selection under ``budget_bytes``; every pick cuts some query's cost by at
    least ``min_gain`` (0.5: half)."""
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
    chosen = _prune_unused(whatif, queries, touching, chosen)
    after = [whatif.cost(q.sql) for q in queries]
    return Selection(chosen, before, after, evaluated)


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
    used: set[int] = set()
    for i in {i for rec in chosen for i in touching[rec.candidate.key]}:
        used |= _index_oids(whatif.plan(queries[i].sql))
    kept = []
    for rec in chosen:
        oid = whatif.oid(rec.candidate)
        if oid is None or oid in used:
            kept.append(rec)
        else:
            whatif.remove(rec.candidate)
    return kept


def _index_oids(plan: Any) -> set[int]:
    """Hypothetical index oids a JSON plan names (HypoPG calls them ``<oid>btree_...``)."""
    found: set[int] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        match = _HYPO_NAME.match(str(node.get("Index Name", "")))
        if match:
            found.add(int(match.group(1)))
        stack.extend(node.get("Plans", []))
    return found
