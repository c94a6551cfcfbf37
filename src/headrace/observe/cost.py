"""Monthly cost model per pipeline and model, against a budget.

    compute $   = runs/month × seconds/run × vCPUs ÷ 3600 × $/vCPU-hour
    storage $   = table GB × $/GB-month                      (GB = 2^30 bytes, as AWS bills)
    scanned $   = runs/month × TB scanned/run × $/TB         (0: no engine here charges it)
    total $     = compute $ + storage $ + scanned $

A *run* here is one ``headrace run`` that executed the pipeline (all its backfill
intervals in that run count as one run, their seconds summed). Runs per month come from
``observe.cost.runs_per_month`` when set, else from the last 30 days of history scaled to
30 days (over at least one day, so a burst of test runs does not project thousands), and
at least 1 for anything that ever ran. Default rates are the AWS price sheet in
``headrace.config.observe`` (dated ``PRICE_SHEET_DATE``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.config.observe import PRICE_SHEET_DATE, CostConfig
from headrace.errors import HeadraceError
from headrace.load import state
from headrace.observe.runs import StepRecord, step_history
from headrace.observe.targets import Target, project_targets

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.project import Project

DAY_S = 86400.0
MONTH_S = 30 * DAY_S
GB = 1024**3
TB = 1024**4
# Engines billed per byte scanned (BigQuery, Athena, ...); none of headrace's engines is.
SCAN_BILLED_DIALECTS: frozenset[str] = frozenset()
_COUNTED = ("succeeded", "failed")  # failed runs burn compute too


@dataclass
class PipelineCost:
    """One pipeline's (or model's) projected monthly cost."""

    pipeline: str
    runs_per_month: float
    compute_seconds_per_run: float  # measured wall seconds (mean over the window)
    compute_usd: float
    storage_gb: float
    storage_usd: float
    scanned_usd: float
    total_usd: float
    runs_source: str = "history"  # "history" | "config" | "none"

    def to_json(self) -> dict[str, Any]:
        """Dollars rounded to a hundredth of a cent."""
        return {
            "pipeline": self.pipeline,
            "runs_per_month": round(self.runs_per_month, 3),
            "runs_source": self.runs_source,
            "compute_seconds_per_run": round(self.compute_seconds_per_run, 3),
            "compute_usd": round(self.compute_usd, 4),
            "storage_gb": round(self.storage_gb, 6),
            "storage_usd": round(self.storage_usd, 4),
            "scanned_usd": round(self.scanned_usd, 4),
            "total_usd": round(self.total_usd, 4),
        }


@dataclass
class CostReport:
    """Every pipeline's projection, the total and the budget it is held against."""

    pipelines: list[PipelineCost]
    total_usd: float
    budget_usd: float
    over_budget: bool
    price_sheet: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "pipelines": [p.to_json() for p in self.pipelines],
            "total_usd": round(self.total_usd, 4),
            "budget_usd": self.budget_usd,
            "over_budget": self.over_budget,
            "price_sheet": self.price_sheet,
            "notes": self.notes,
        }


def monthly_cost(
    pipeline: str,
    *,
    runs_per_month: float,
    compute_seconds_per_run: float,
    storage_bytes: int,
    rates: CostConfig | None = None,
    scanned_bytes_per_run: int = 0,
    runs_source: str = "history",
) -> PipelineCost:
    """The cost arithmetic for measured figures (no I/O)."""
    rates = rates or CostConfig()
    vcpu_hours = runs_per_month * compute_seconds_per_run * rates.vcpus / 3600
    storage_gb = storage_bytes / GB
    compute_usd = vcpu_hours * rates.vcpu_hour_usd
    storage_usd = storage_gb * rates.gb_month_usd
    scanned_usd = runs_per_month * scanned_bytes_per_run / TB * rates.scanned_tb_usd
    return PipelineCost(
        pipeline=pipeline,
        runs_per_month=runs_per_month,
        compute_seconds_per_run=compute_seconds_per_run,
        compute_usd=compute_usd,
        storage_gb=storage_gb,
        storage_usd=storage_usd,
        scanned_usd=scanned_usd,
        total_usd=compute_usd + storage_usd + scanned_usd,
        runs_source=runs_source,
    )


def projected_runs_per_month(
    runs_in_window: int, first_in_window: dt.datetime | None, now: dt.datetime, *, ever_ran: bool
) -> float:
    """Runs of the last 30 days scaled to 30 days over the span they cover (one day at
    least); 1 for something that ran before the window; 0 for something that never ran."""
    if runs_in_window <= 0 or first_in_window is None:
        return 1.0 if ever_ran else 0.0
    span = min(max((now - first_in_window).total_seconds(), DAY_S), MONTH_S)
    return max(runs_in_window * MONTH_S / span, 1.0)


def report(
    costs: list[PipelineCost], rates: CostConfig, notes: list[str] | None = None
) -> CostReport:
    """Total the projections and hold them against the budget."""
    total = sum(c.total_usd for c in costs)
    return CostReport(
        pipelines=costs,
        total_usd=total,
        budget_usd=rates.budget_usd,
        over_budget=total > rates.budget_usd,
        price_sheet=price_sheet(rates),
        notes=list(notes or []),
    )


def price_sheet(rates: CostConfig) -> dict[str, Any]:
    """The rates in use, the sheet's date, and which rates headrace.yml overrode."""
    return {
        "source": "AWS us-east-1 on-demand list prices (Fargate vCPU, EBS gp3, Athena scans)",
        "date": PRICE_SHEET_DATE,
        "vcpu_hour_usd": rates.vcpu_hour_usd,
        "gb_month_usd": rates.gb_month_usd,
        "scanned_tb_usd": rates.scanned_tb_usd,
        "vcpus": rates.vcpus,
        "overridden": sorted(
            f for f in rates.model_fields_set if f not in ("budget_usd", "runs_per_month")
        ),
    }


def estimate_costs(
    engine: EngineAdapter, project: Project, *, now: dt.datetime | None = None
) -> CostReport:
    """Project each pipeline's and model's monthly cost from the run store and table sizes."""
    now = now or state.now()
    rates = project.config.observe.cost
    targets = project_targets(project)
    notes = list(targets.notes)
    history = step_history(engine)
    sizes = _sizes(engine, project, targets.items, notes)
    costs = []
    for target in targets.items:
        runs = _runs(history, target.name)
        recent = {run_id: steps for run_id, steps in runs.items() if _start(steps) >= now - _MONTH}
        measured = [_seconds(steps) for steps in (recent or runs).values()]
        seconds = sum(measured) / len(measured) if measured else 0.0
        if target.name in rates.runs_per_month:
            per_month, source = rates.runs_per_month[target.name], "config"
        else:
            first = min((_start(s) for s in recent.values()), default=None)
            per_month = projected_runs_per_month(len(recent), first, now, ever_ran=bool(runs))
            source = "history" if runs else "none"
        costs.append(
            monthly_cost(
                target.name,
                runs_per_month=per_month,
                compute_seconds_per_run=seconds,
                storage_bytes=sizes.get(target.name, 0),
                rates=rates,
                runs_source=source,
            )
        )
    if engine.dialect not in SCAN_BILLED_DIALECTS:
        notes.append(
            f"scanned bytes: {engine.dialect} does not charge per byte scanned, so 0"
            " (scanned_tb_usd applies to engines that do; none yet)"
        )
    never = [c.pipeline for c in costs if c.runs_source == "none"]
    if never:
        notes.append(
            f"no runs recorded for {', '.join(never)}: compute 0"
            " (set observe.cost.runs_per_month to project them)"
        )
    return report(costs, rates, notes)


_MONTH = dt.timedelta(seconds=MONTH_S)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _runs(history: list[StepRecord], name: str) -> dict[str, list[StepRecord]]:
    """The pipeline's executed steps grouped by the ``headrace run`` they belong to."""
    runs: dict[str, list[StepRecord]] = defaultdict(list)
    for step in history:
        if step.pipeline == name and step.attempts > 0 and step.status in _COUNTED:
            runs[step.run_id].append(step)
    return runs


def _start(steps: list[StepRecord]) -> dt.datetime:
    return min((s.started_at for s in steps if s.started_at), default=_EPOCH)


def _seconds(steps: list[StepRecord]) -> float:
    return sum(s.seconds or 0.0 for s in steps)


def _sizes(
    engine: EngineAdapter, project: Project, targets: list[Target], notes: list[str]
) -> dict[str, int]:
    """Bytes stored per pipeline/model table; views store nothing; unknown sizes count 0
    with a note."""
    sizes: dict[str, int] = {}
    by_place: dict[str | None, list[Target]] = defaultdict(list)
    for target in targets:
        by_place[target.to].append(target)
    for to, group in by_place.items():
        try:
            if to is None:
                _measure(engine, group, sizes, notes)
            else:
                with project.source_engine(to) as other:
                    _measure(other, group, sizes, notes)
        except HeadraceError as exc:
            names = ", ".join(t.name for t in group)
            notes.append(f"storage of {names} unknown ({to}: {exc}); counted as 0")
    return sizes


def _measure(
    engine: EngineAdapter, targets: list[Target], sizes: dict[str, int], notes: list[str]
) -> None:
    unknown = []
    for target in targets:
        info = engine.table_info(target.table, sizes=True)
        if info is None or info.kind == "view":
            sizes[target.name] = 0
        elif info.size_bytes is None:
            sizes[target.name] = 0
            unknown.append(target.table)
        else:
            sizes[target.name] = int(info.size_bytes)
    if unknown:
        notes.append(
            f"size of {', '.join(unknown)} unknown to {engine.dialect}"
            " (DuckDB counts checkpointed blocks only); counted as 0"
        )


__all__ = [
    "CostReport",
    "PipelineCost",
    "estimate_costs",
    "monthly_cost",
    "price_sheet",
    "projected_runs_per_month",
    "report",
]
