"""``headrace run``: the project's pipelines as a DAG, with retries, locks and resume."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.runtime.dag import RunOutcome


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(run)


def run(
    pipelines: Annotated[
        list[str] | None,
        typer.Argument(help="Pipelines to run (default: all), with their dependencies."),
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Steps run at once.")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last failed run: skip what succeeded.")
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option("--wait", help="Seconds to wait for another run of a pipeline to finish."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Backfill from this date/time (inclusive).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Backfill up to this date/time (exclusive).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the pipelines defined in headrace.yml; exit 1 unless every step succeeded."""
    from headrace.cli.app import project_options
    from headrace.cli.progress import LoadProgress
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    if not project.config.pipelines:
        raise typer.BadParameter(
            f"no pipelines in {project.config_file or 'headrace.yml'}; add a pipelines: section"
        )
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --start and --end to backfill")
    window = (start, end) if start is not None and end is not None else None
    with LoadProgress(None, enabled=not as_json and threads == 1) as progress:
        outcome = project.run_pipelines(
            list(pipelines or []),
            progress=progress,
            threads=threads,
            resume=resume,
            wait_s=wait,
            window=window,
        )
    if as_json:
        print_json(outcome.to_json())
    else:
        print_run(outcome)
    if outcome.status != "succeeded":
        raise typer.Exit(1)


def print_run(outcome: RunOutcome) -> None:
    """A table per step (state, attempts, rows, seconds), then problems and checks."""
    from rich import box
    from rich.table import Table

    steps = outcome.steps
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    widths = {
        "step": max(len(s.name) for s in steps),
        "table": max((len(s.result.table) for s in steps if s.result), default=5),
        "status": max(len(_label(s.status)) for s in steps),
    }
    for header in ("step", "table", "status"):
        table.add_column(header, no_wrap=True, min_width=max(widths[header], len(header)))
    for header in ("tries", "loaded", "quarantined", "seconds"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for s in steps:
        r = s.result
        table.add_row(
            escape(s.name),
            escape(r.table) if r else "",
            _status(s.status),
            str(s.attempts) if s.attempts else "",
            f"{r.rows_loaded:,}" if r else "",
            f"{r.rows_quarantined:,}" if r else "",
            f"{s.seconds:.2f}" if s.attempts else "",
        )
    console.print(table)
    for s in steps:
        if s.checks is not None:
            counts = {
                k: sum(r.status == k for r in s.checks.results) for k in ("pass", "warn", "fail")
            }
            console.print(
                f"checks on {escape(s.checks.tables[0]['table'])}: {counts['pass']} passed,"
                f" {counts['warn']} warned, {counts['fail']} failed",
                highlight=False,
            )
        if s.note:
            console.print(f"{escape(s.name)}: {escape(s.note)}", highlight=False)
    for s in steps:
        if s.status in ("failed", "skipped", "cancelled") and s.error:
            colour = "yellow" if s.status == "skipped" else "red"
            console.print(f"[{colour}]{escape(s.name)}[/]: {escape(s.error)}", highlight=False)
    console.print(f"run {outcome.run_id}: {outcome.status}", highlight=False)


def _label(status: str) -> str:
    return "ok" if status == "succeeded" else status


def _status(status: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "skipped": "yellow"}.get(status, "white")
    return f"[{colour}]{_label(status)}[/]"
