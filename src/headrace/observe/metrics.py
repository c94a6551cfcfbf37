"""Prometheus metrics read from the run store at scrape time.

The figures live in ``_headrace.steps`` / ``_headrace.check_results``, written by every
``headrace run``; a custom collector reads them on each scrape (or once, for a
node-exporter textfile), so a metric is never lost by a process restart and the served
``/metrics`` and the textfile always agree. Counters are totals over the store's history.

A *run of a pipeline* is one finished step of it (a load, a backfill interval or a model
build); steps a resumed run carried over (0 attempts) are not counted again.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from headrace._version import __version__
from headrace.engines.url import redact

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.observe.runs import StepRecord
    from headrace.project import Project

# Batch steps take from a fraction of a second to an hour or more.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)
FINISHED = ("succeeded", "failed", "skipped", "cancelled")


class StoreCollector(Collector):
    """Every headrace metric, computed from the run store when collected."""

    def __init__(
        self, project: Project, engine: EngineAdapter | None = None, to: str | None = None
    ) -> None:
        self.project = project
        self.engine = engine
        self.to = to
        self.last_error: str | None = None  # why the last collection had headrace_up 0

    def describe(self) -> Iterable[Metric]:
        # Registering must not touch the database; names are not checked for clashes.
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        info = InfoMetricFamily("headrace", "headrace version", value={"version": __version__})
        families: list[Metric] = []
        self.last_error = None
        try:
            if self.engine is not None:
                families = store_metrics(self.project, self.engine)
            else:
                with self.project.engine(self.to, read_only=True) as engine:
                    families = store_metrics(self.project, engine)
        except Exception as exc:  # a scrape reports the store as down instead of failing
            self.last_error = redact(f"{type(exc).__name__}: {exc}").splitlines()[0]
            families = []
        yield info
        yield GaugeMetricFamily(
            "headrace_up", "1 when the run store could be read", value=0 if self.last_error else 1
        )
        yield GaugeMetricFamily(
            "headrace_scrape_duration_seconds",
            "Seconds spent reading the run store for this scrape",
            value=time.perf_counter() - started,
        )
        yield from families


def build_registry(
    project: Project, engine: EngineAdapter | None = None, *, to: str | None = None
) -> CollectorRegistry:
    """A registry whose one collector reads the run store (``to``, default the warehouse,
    or the given ``engine``) each time it is collected."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(project, engine, to))
    return registry


def render(
    project: Project, engine: EngineAdapter | None = None, *, to: str | None = None
) -> bytes:
    """The Prometheus text exposition of the project's metrics (for ``/metrics``)."""
    return generate_latest(build_registry(project, engine, to=to))


def write_textfile(project: Project, path: Path | str, *, to: str | None = None) -> StoreCollector:
    """Write the metrics for a node-exporter textfile collector, atomically (a temporary
    file renamed over ``path``); returns the collector so callers can see ``last_error``."""
    collector = StoreCollector(project, None, to)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    write_to_textfile(str(path), registry)
    return collector


def store_metrics(project: Project, engine: EngineAdapter) -> list[Metric]:
    """The metric families from the run store behind ``engine``."""
    from headrace.observe.runs import has_run_store, step_history

    if not has_run_store(engine):
        return []  # a project that never ran: headrace_up 1 and nothing else
    steps = [s for s in step_history(engine) if s.status in FINISHED and _executed(s)]
    return [
        *_step_metrics(steps),
        _check_failures(engine),
        *_slo_metrics(project, engine),
    ]


def _executed(step: StepRecord) -> bool:
    """False for a step a resumed run carried over: it ran (and counted) in an earlier run."""
    return step.attempts > 0 or step.status != "succeeded"


def _step_metrics(steps: list[StepRecord]) -> list[Metric]:
    runs = CounterMetricFamily(
        "headrace_runs",
        "Finished runs of each pipeline or model (steps of headrace run), by final status",
        labels=["pipeline", "status"],
    )
    loaded = CounterMetricFamily(
        "headrace_rows_loaded",
        "Rows loaded into (or written by a model to) the pipeline's table",
        labels=["pipeline"],
    )
    quarantined = CounterMetricFamily(
        "headrace_rows_quarantined", "Rows sent to quarantine", labels=["pipeline"]
    )
    for (pipeline, status), count in sorted(Counter((s.pipeline, s.status) for s in steps).items()):
        runs.add_metric([pipeline, status], count)
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    durations: dict[str, list[float]] = defaultdict(list)
    for step in steps:
        rows[step.pipeline][0] += step.rows_loaded or 0
        rows[step.pipeline][1] += step.rows_quarantined or 0
        if step.seconds is not None and step.attempts > 0:
            durations[step.pipeline].append(max(step.seconds, 0.0))
    for pipeline, (done, bad) in sorted(rows.items()):
        loaded.add_metric([pipeline], done)
        quarantined.add_metric([pipeline], bad)
    histogram = HistogramMetricFamily(
        "headrace_step_duration_seconds",
        "Wall time of each step (all attempts, checks included)",
        labels=["pipeline"],
    )
    for pipeline, seconds in sorted(durations.items()):
        histogram.add_metric([pipeline], buckets=histogram_buckets(seconds), sum_value=sum(seconds))
    return [runs, loaded, quarantined, histogram]


def histogram_buckets(
    values: list[float], bounds: tuple[float, ...] = DURATION_BUCKETS
) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs for ``values``, ending with ``+Inf``."""
    # Bounds print like the client's own histograms ("0.1", "60.0"), so queries match both.
    found = [(repr(float(b)), float(sum(v <= b for v in values))) for b in bounds]
    return [*found, ("+Inf", float(len(values)))]


def _check_failures(engine: EngineAdapter) -> Metric:
    from headrace.load import state

    family = CounterMetricFamily(
        "headrace_check_failures",
        "Recorded failures of each data-quality check",
        labels=["table", "check"],
    )
    rows = engine.fetchall(
        "SELECT table_name, check_name, count(*)"
        f" FROM {state.state_table('check_results', engine.dialect)}"
        " WHERE status = 'fail' GROUP BY table_name, check_name ORDER BY 1, 2"
    )
    for table, check, count in rows:
        family.add_metric([str(table), str(check)], int(count))
    return family


def _slo_metrics(project: Project, engine: EngineAdapter) -> list[Metric]:
    from headrace.observe.slo import compute_slos
    from headrace.observe.targets import project_targets

    lag = GaugeMetricFamily(
        "headrace_freshness_lag_seconds",
        "Seconds since the pipeline last succeeded (absent: never succeeded)",
        labels=["pipeline"],
    )
    last = GaugeMetricFamily(
        "headrace_last_success_timestamp_seconds",
        "Unix time the pipeline last succeeded (for alerts on a stale textfile)",
        labels=["pipeline"],
    )
    budget = GaugeMetricFamily(
        "headrace_slo_error_budget_remaining_ratio",
        "Share of the SLO window's error budget left (1 untouched, below 0 overspent)",
        labels=["pipeline"],
    )
    breached = GaugeMetricFamily(
        "headrace_slo_breached",
        "1 when the pipeline misses its success-rate or freshness objective",
        labels=["pipeline"],
    )
    for slo in compute_slos(engine, project.config.observe, project_targets(project).names):
        if slo.freshness_s is not None:
            lag.add_metric([slo.pipeline], slo.freshness_s)
        if slo.last_success_at is not None:
            last.add_metric([slo.pipeline], slo.last_success_at.timestamp())
        budget.add_metric([slo.pipeline], slo.error_budget_remaining_pct / 100.0)
        breached.add_metric([slo.pipeline], 1.0 if slo.breached else 0.0)
    return [lag, last, budget, breached]


__all__ = [
    "DURATION_BUCKETS",
    "StoreCollector",
    "build_registry",
    "histogram_buckets",
    "render",
    "store_metrics",
    "write_textfile",
]
