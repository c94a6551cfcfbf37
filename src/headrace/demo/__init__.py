"""``headrace demo``: generate a small e-commerce project and load it with its own pipelines.

The demo is an ordinary headrace project: ``headrace.yml`` declares one pipeline per file,
and the demo runs them through :class:`headrace.project.Project`, the same way
``headrace run`` does, so bad rows land in ``_headrace.quarantine`` like any other load's.
Then it runs ``checks/demo.yml`` the way ``headrace check`` does, so the results land in
``_headrace.check_results``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.demo.checks import CHECKS_FILE, EXPECTED_FAIL, EXPECTED_WARN
from headrace.demo.generate import GeneratedData, generate_data
from headrace.demo.models import LINEAGE_EXAMPLE
from headrace.demo.planted import PLANTED_BAD_ROWS, BadRow
from headrace.demo.result import DemoResult, TableLoad
from headrace.demo.scaffold import write_project_files
from headrace.demo.tables import DATA_DIR, DEMO_TABLES, QUARANTINE_TABLE
from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.runtime.dag import StepOutcome as PipelineOutcome
    from headrace.transform.materialize import ModelBuild


def run_demo(directory: Path, *, seed: int = 7) -> DemoResult:
    """Generate the demo files in ``directory`` (overwriting them), run its pipelines,
    then its models, then its checks."""
    from headrace.project import Project

    started = time.perf_counter()
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    generate_data(directory, seed=seed)
    write_project_files(directory)
    project = Project.discover(start=directory)
    # The demo runs its own checks once, after every table is loaded.
    steps = project.run_pipelines([], checks=False).steps
    outcomes = [s for s in steps if s.kind == "load"]
    _raise_on_failure(outcomes)
    models = _built_models(steps)
    results = {o.name: o.result for o in outcomes if o.result is not None}
    tables = [
        TableLoad(
            table=result.table,
            source=directory / DATA_DIR / spec.file,
            rows_read=result.rows_read,
            rows_loaded=result.rows_loaded,
            rows_quarantined=result.rows_quarantined,
            seconds=result.seconds,
            run_id=result.run_id,
        )
        for spec in DEMO_TABLES
        if (result := results.get(spec.pipeline)) is not None
    ]
    # Only the demo's own file: a check a user adds under checks/ must not break the demo.
    checks = project.run_checks([], checks_file=directory / CHECKS_FILE)
    from headrace.transform.lineage_render import render_text

    _, url = project.connection()
    lineage = project.lineage()
    table, column = LINEAGE_EXAMPLE.rsplit(".", 1)
    return DemoResult(
        directory=directory,
        warehouse_url=str(url),
        tables=tables,
        checks=checks,
        seconds=time.perf_counter() - started,
        models=models,
        lineage=(LINEAGE_EXAMPLE, render_text(lineage, table, column)),
    )


def _built_models(steps: list[PipelineOutcome]) -> list[ModelBuild]:
    """The model builds of the run; a failed one is an error naming the model."""
    builds = []
    for step in steps:
        if step.kind != "model":
            continue
        if step.status != "succeeded" or step.build is None:
            raise HeadraceError(
                f"demo model {step.name!r} {step.status}: {step.error}",
                hint="run `headrace --debug run` inside the demo folder for details",
            )
        builds.append(step.build)
    return builds


def _raise_on_failure(outcomes: list[PipelineOutcome]) -> None:
    """One error naming the pipeline that failed, its error, and what it held back."""
    missing = {t.pipeline for t in DEMO_TABLES} - {o.name for o in outcomes}
    if missing:
        raise HeadraceError(f"demo pipelines did not run: {', '.join(sorted(missing))}")
    unfinished = [o for o in outcomes if o.status != "succeeded" or o.result is None]
    if not unfinished:
        return
    # A skipped pipeline only says which dependency blocked it; the failure says why.
    first = next((o for o in unfinished if o.status == "failed"), unfinished[0])
    others = [o for o in unfinished if o is not first]
    also = "".join(
        f"; {status}: {', '.join(o.name for o in others if o.status == status)}"
        for status in ("failed", "skipped")
        if any(o.status == status for o in others)
    )
    raise HeadraceError(
        f"demo pipeline {first.name!r} {first.status}: {first.error}{also}",
        hint="run `headrace --debug run` inside the demo folder for details",
    )


__all__ = [
    "CHECKS_FILE",
    "EXPECTED_FAIL",
    "EXPECTED_WARN",
    "PLANTED_BAD_ROWS",
    "QUARANTINE_TABLE",
    "BadRow",
    "DemoResult",
    "GeneratedData",
    "TableLoad",
    "generate_data",
    "run_demo",
    "write_project_files",
]
