"""Service-level objectives per pipeline and model: success rate, error budget, freshness.

A *run* of a pipeline here is one executed step of it in ``_headrace.steps`` (a load, a
backfill interval ``name@lo``, or a model build) that started within the SLO window and
ended ``succeeded`` or ``failed``. Skipped steps (a dependency failed), cancelled ones
(Ctrl-C) and steps a resumed run carried over (0 attempts) are not outcomes of the
pipeline itself and are not counted.

    success %      = (runs - failures) / runs × 100
    allowed        = (1 - target / 100) × runs           (failures the target tolerates)
    budget left %  = (1 - failures / allowed) × 100      (negative: overspent)
    freshness      = now - last successful finish;  fresh = freshness <= max_age
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.load import state
from headrace.observe.runs import iso, step_history

if TYPE_CHECKING:
    from headrace.config.observe import ObserveConfig
    from headrace.engines.base import EngineAdapter

# Rounding to a millionth of a percent keeps float noise ((1 - 0.999) × 1000 is
# 0.99999999999994) from turning "exactly on budget" into a breach.
_DIGITS = 6


@dataclass
class SloStatus:
    """One pipeline's SLO over its window."""

    pipeline: str
    target_pct: float
    window_s: float
    runs: int
    failures: int
    success_pct: float | None  # None: no runs in the window
    error_budget_remaining_pct: float
    last_success_at: dt.datetime | None
    freshness_s: float | None  # None: never succeeded
    max_age_s: float | None  # None: no freshness objective
    fresh: bool | None  # None: no freshness objective
    breached: bool
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; timestamps as ISO 8601 UTC."""
        return {
            "pipeline": self.pipeline,
            "target_pct": self.target_pct,
            "window_s": self.window_s,
            "runs": self.runs,
            "failures": self.failures,
            "success_pct": self.success_pct,
            "error_budget_remaining_pct": self.error_budget_remaining_pct,
            "last_success_at": iso(self.last_success_at),
            "freshness_s": self.freshness_s,
            "max_age_s": self.max_age_s,
            "fresh": self.fresh,
            "breached": self.breached,
            "note": self.note,
        }


def success_pct(runs: int, failures: int) -> float | None:
    """Share of runs that succeeded, in percent; None without runs."""
    if runs <= 0:
        return None
    return round((runs - failures) / runs * 100, _DIGITS)


def error_budget_remaining_pct(runs: int, failures: int, target_pct: float) -> float:
    """``(1 - failures / allowed) × 100`` with ``allowed = (1 - target/100) × runs``."""
    if runs <= 0 or failures <= 0:
        return 100.0  # nothing spent (no runs: nothing to spend it on)
    allowed = (100.0 - target_pct) / 100.0 * runs
    if allowed <= 0:
        return 0.0  # a 100% target tolerates no failure: any failure spends it all
    # + 0.0 turns the -0.0 that rounding can leave into 0.0.
    return round((1.0 - failures / allowed) * 100.0, _DIGITS) + 0.0


def slo_status(
    pipeline: str,
    runs: int,
    failures: int,
    target_pct: float,
    window_s: float,
    *,
    last_success_at: dt.datetime | None = None,
    max_age_s: float | None = None,
    now: dt.datetime | None = None,
) -> SloStatus:
    """The SLO arithmetic for given counts (no I/O)."""
    now = now or state.now()
    freshness = (
        None if last_success_at is None else round((now - last_success_at).total_seconds(), 3)
    )
    fresh: bool | None = None
    if max_age_s is not None:
        # Never having succeeded is as stale as it gets.
        fresh = freshness is not None and freshness <= max_age_s
    budget = error_budget_remaining_pct(runs, failures, target_pct)
    rate = success_pct(runs, failures)
    return SloStatus(
        pipeline=pipeline,
        target_pct=target_pct,
        window_s=window_s,
        runs=runs,
        failures=failures,
        success_pct=rate,
        error_budget_remaining_pct=budget,
        last_success_at=last_success_at,
        freshness_s=freshness,
        max_age_s=max_age_s,
        fresh=fresh,
        # Below target is the same as a negative budget, and also covers a 100% target.
        breached=(rate is not None and rate < round(target_pct, _DIGITS)) or fresh is False,
        note="no runs in window" if runs <= 0 else None,
    )


def compute_slos(
    engine: EngineAdapter,
    config: ObserveConfig,
    pipelines: list[str],
    *,
    now: dt.datetime | None = None,
) -> list[SloStatus]:
    """Each pipeline's (and model's) SLO status from the run store, in the order given."""
    now = now or state.now()
    history = step_history(engine)  # all of it: freshness looks past the window
    found = []
    for name in pipelines:
        slo = config.slo_for(name)
        window_s, max_age = float(slo.window), slo.max_age
        start = now - dt.timedelta(seconds=window_s)
        mine = [s for s in history if s.pipeline == name and s.attempts > 0]
        outcomes = [
            s
            for s in mine
            if s.status in ("succeeded", "failed") and s.started_at and s.started_at >= start
        ]
        finishes = [s.finished_at for s in mine if s.status == "succeeded" and s.finished_at]
        found.append(
            slo_status(
                name,
                len(outcomes),
                sum(s.status == "failed" for s in outcomes),
                slo.target,
                window_s,
                last_success_at=max(finishes, default=None),
                max_age_s=None if max_age is None else float(max_age),
                now=now,
            )
        )
    return found


__all__ = [
    "SloStatus",
    "compute_slos",
    "error_budget_remaining_pct",
    "slo_status",
    "success_pct",
]
