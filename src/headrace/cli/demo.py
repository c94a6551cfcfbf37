"""``headrace demo``: write the sample project, load it and check it (the command behind
make demo)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape

if TYPE_CHECKING:
    from headrace.demo.result import DemoResult
    from headrace.quality.run import CheckRun

_STATUS_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red"}


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(demo)


def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the sample project.")] = Path(
        "headrace-demo"
    ),
) -> None:
    """Generate a sample e-commerce project, load it into an embedded DuckDB warehouse,
    build its SQL models and run its data-quality checks."""
    from rich import box
    from rich.table import Table

    from headrace.demo.models import LINEAGE_EXAMPLE
    from headrace.project import run_demo

    with console.status("generating, loading and checking the demo project..."):
        result = run_demo(directory)
    table = Table(
        title=f"headrace demo: {escape(str(result.directory))} (files in data/)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    sources = [Path(load.source).name for load in result.tables]
    # Names must stay whole; the numeric columns are narrow enough to give way instead.
    table.add_column("table", no_wrap=True, min_width=max(len(t.table) for t in result.tables))
    table.add_column("source", no_wrap=True, min_width=max(map(len, sources)))
    for header in ("read", "loaded", "quarantined", "seconds"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for load, source in zip(result.tables, sources, strict=True):
        table.add_row(
            load.table,
            escape(source),
            f"{load.rows_read:,}",
            f"{load.rows_loaded:,}",
            f"{load.rows_quarantined:,}",
            f"{load.seconds:.2f}",
        )
    console.print(table)
    _print_models(result)
    _print_checks(result.checks)
    console.print(
        f"warehouse: {escape(result.warehouse_url)}; total {result.seconds:.2f} s.",
        highlight=False,
    )
    # Quarantine and check commands find the warehouse through the project file, hence the
    # cd. The folder as typed (relative to where the user is) and no hard wrap keep it
    # copyable.
    where = escape(shlex.quote(str(directory)))
    console.print(
        f"see bad rows: cd {where} && headrace quarantine list", highlight=False, soft_wrap=True
    )
    console.print(
        f"check again, with failing rows: cd {where} && headrace check",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"what would run next, and why: cd {where} && headrace plan",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"trace a column: cd {where} && headrace lineage {LINEAGE_EXAMPLE}",
        highlight=False,
        soft_wrap=True,
    )


def _print_models(result: DemoResult) -> None:
    """The models the run built, then the lineage of one mart column."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="models (models/)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("model", no_wrap=True)
    table.add_column("materialized", no_wrap=True)
    table.add_column("built", no_wrap=True)
    for header in ("rows", "seconds"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for build in result.models:
        table.add_row(
            escape(build.model),
            build.materialized,
            escape(f"{build.action}: {build.reason}"),
            "" if build.materialized == "view" else f"{build.rows_written:,}",
            f"{build.seconds:.2f}",
        )
    console.print(table)
    target, lines = result.lineage
    if lines:
        console.print(
            f"lineage of {escape(target)}:",
            highlight=False,
            soft_wrap=True,
        )
        for line in lines:
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


def _print_checks(run: CheckRun) -> None:
    """One line per check (no thresholds or samples: `headrace check` shows those)."""
    from rich import box
    from rich.table import Table

    from headrace.demo.checks import CHECKS_FILE

    table = Table(
        title=f"checks ({CHECKS_FILE}): {run.status}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("table", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for header in ("invalid", "%"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for r in run.results:
        # The star marks a failure that does not block (the footer explains it).
        status = "fail*" if r.status == "fail" and not r.blocking_failure else r.status
        table.add_row(
            escape(r.table),
            escape(r.check),
            f"[{_STATUS_COLOURS.get(r.status, 'white')}]{status}[/]",
            "" if r.invalid_count is None else f"{r.invalid_count:,}",
            "" if r.invalid_pct is None else f"{r.invalid_pct:g}",
        )
    console.print(table)
    counts = {s: sum(r.status == s for r in run.results) for s in ("pass", "warn", "fail")}
    console.print(
        f"{counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed"
        " (* = not blocking).",
        highlight=False,
    )
