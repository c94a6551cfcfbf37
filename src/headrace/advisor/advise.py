"""``headrace advise``: workload -> candidates -> what-if costing -> greedy selection ->
(optionally) verification by measurement. PostgreSQL here; DuckDB in ``duckdb_advice``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.advisor.report import AdviceReport, AdvisedIndex
from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.advisor.measure import QueryTiming
    from headrace.advisor.model import Workload
    from headrace.engines.base import EngineAdapter

WORKLOAD_SOURCES = ("pg_stat_statements", "querylog")


@dataclass(frozen=True)
class AdviseOptions:
    """The knobs of one ``headrace advise`` run."""

    workload: str  # a SQL file path, "pg_stat_statements" or "querylog"
    budget_mb: float | None = None
    max_width: int = 3
    min_gain: float = 0.5
    verify: bool = False
    apply: bool = False
    repeat: int = 10
    warmup: int = 2


def load_workload(engine: EngineAdapter, spec: str, base: Path | None = None) -> Workload:
    """The workload a ``--workload`` value names, with unknown tables skipped."""
    from headrace.advisor.catalog import known_tables
    from headrace.advisor.workload import (
        capture_pg_stat_statements,
        capture_querylog,
        check_tables,
        read_workload_file,
    )

    if spec == "pg_stat_statements":
        if engine.dialect != "postgres":
            raise UsageError("pg_stat_statements is a PostgreSQL workload source")
        workload = capture_pg_stat_statements(engine)
    elif spec == "querylog":
        workload = capture_querylog(engine)
    else:
        path = Path(spec).expanduser()
        workload = read_workload_file(
            path if path.is_absolute() else (base or Path.cwd()) / path, engine.dialect
        )
    return check_tables(
        workload, known_tables(engine), engine.dialect, default_schema=engine.default_schema
    )


def advise(engine: EngineAdapter, options: AdviseOptions, base: Path | None = None) -> AdviceReport:
    """Recommend indexes for the workload; with ``verify`` prove them by measurement."""
    if engine.dialect == "duckdb":
        from headrace.advisor.duckdb_advice import advise_duckdb

        return advise_duckdb(engine, options, base)
    if engine.dialect != "postgres":
        raise UsageError(f"headrace advise supports PostgreSQL and DuckDB, not {engine.name}")
    started = time.perf_counter()
    workload = load_workload(engine, options.workload, base)
    return advise_workload(engine, workload, options, started=started)


def advise_workload(
    engine: EngineAdapter,
    workload: Workload,
    options: AdviseOptions,
    *,
    real_build: bool = True,
    started: float | None = None,
) -> AdviceReport:
    """Advise for a workload already in hand (the MCP server's agent-given queries)."""
    from headrace.advisor.candidates import generate_candidates, query_tables
    from headrace.advisor.catalog import table_metas
    from headrace.advisor.select import select_indexes
    from headrace.advisor.whatif import WhatIf

    started = time.perf_counter() if started is None else started
    if engine.dialect != "postgres":
        raise UsageError("advising an in-hand workload needs PostgreSQL (what-if costing)")
    if not workload.queries:
        raise UsageError(
            f"no usable query in the workload ({len(workload.skipped)} skipped)",
            hint=workload.skipped[0].reason if workload.skipped else "add SELECT statements",
        )
    tables_of = [
        query_tables(q.sql, engine.dialect, engine.default_schema) for q in workload.queries
    ]
    metas = table_metas(engine, set().union(*tables_of))
    candidates = generate_candidates(
        workload,
        metas,
        max_width=options.max_width,
        dialect=engine.dialect,
        default_schema=engine.default_schema,
    )
    if options.verify or options.apply:
        from headrace.advisor.verify import require_index_rights

        require_index_rights(engine, list(metas))
    whatif = WhatIf(engine, allow_real_build=real_build)
    budget = None if options.budget_mb is None else int(options.budget_mb * 1_048_576)
    try:
        selection = select_indexes(
            whatif,
            workload.queries,
            tables_of,
            candidates,
            budget_bytes=budget,
            min_gain=options.min_gain,
            existing={t: m.indexes for t, m in metas.items()},
        )
    finally:
        whatif.reset()  # hypothetical indexes must not show in the measured plans
    labels = [q.label or q.position for q in workload.queries]
    report = AdviceReport(
        engine=engine.name,
        method=whatif.method,
        workload=workload,
        recommendations=[
            AdvisedIndex(
                r.candidate,
                r.candidate.ddl(concurrently=True),
                r.size_bytes,
                [labels[i] for i in r.queries_helped],
            )
            for r in selection.recommendations
        ],
        analysis_seconds=time.perf_counter() - started,
        candidates=len(candidates),
    )
    if whatif.method != "hypopg":
        report.notes.append(
            "HypoPG is not available: candidates were costed by building them inside a"
            " transaction that was rolled back"
        )
    if options.verify or options.apply:
        _verify(engine, options, report)
    return report


def _verify(engine: EngineAdapter, options: AdviseOptions, report: AdviceReport) -> None:
    from headrace.advisor.verify import verify

    outcome = verify(
        engine,
        report.workload.queries,
        [r.candidate for r in report.recommendations],
        repeat=options.repeat,
        warmup=options.warmup,
        apply=options.apply,
    )
    report.before, report.after, report.applied = outcome.before, outcome.after, outcome.applied
    for rec, built in zip(report.recommendations, outcome.built, strict=True):
        rec.size_bytes = built.size_bytes or rec.size_bytes
        rec.scans = built.scans
        rec.error = built.error


def bench(
    engine: EngineAdapter, spec: str, *, repeat: int = 10, warmup: int = 2, base: Path | None = None
) -> tuple[Workload, list[QueryTiming]]:
    """Measure a workload as it is: per-query p50/p95/max and the indexes each plan uses."""
    from headrace.advisor.measure import measure

    workload = load_workload(engine, spec, base)
    return workload, measure(engine, workload.queries, repeat=repeat, warmup=warmup)
