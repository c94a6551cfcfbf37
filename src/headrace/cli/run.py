"""``headrace run``: the project's pipelines and models as a DAG, with retries, locks and resume."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.runtime.dag import RunOutcome, StepOutcome


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(run)


def run(
    select: Annotated[
        list[str] | None,
        typer.Argument(
            help="What to run (default: everything): NAME, +NAME (with its upstream),"
            " NAME+ (with its downstream), tag:TAG.",
            metavar="[SELECT]...",
        ),
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
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Rebuild the selected models from scratch."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the pipelines and SQL models of the project in DAG order: loads, then the models
    that read them, each followed by its checks. Exit 1 unless every step succeeded."""
    from headrace.cli.app import project_options
    from headrace.cli.progress import LoadProgress
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    if not project.config.pipelines and not project.graph().nodes:
        raise typer.BadParameter(
            f"nothing to run: no pipelines in {project.config_file or 'headrace.yml'} and no"
            f" models under {project.config.models.path}/"
        )
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --start and --end to backfill")
    window = (start, end) if start is not None and end is not None else None
    with LoadProgress(None, enabled=not as_json and threads == 1) as progress:
        outcome = project.run_pipelines(
            list(select or []),
            progress=progress,
            threads=threads,
            resume=resume,
            wait_s=wait,
            window=window,
            full_refresh=full_refresh,
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
        "table": max((len(_table(s)) for s in steps), default=5),
        "status": max(len(_label(s.status, s.build.action if s.build else None)) for s in steps),
    }
    for header in ("step", "table", "status"):
        table.add_column(header, no_wrap=True, min_width=max(widths[header], len(header)))
    for header in ("tries", "rows", "quarantined", "seconds"):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for s in steps:
        r, b = s.result, s.build
        built = b is not None and b.action not in ("view", "unchanged")
        written = r.rows_loaded if r else (b.rows_written if b and built else None)
        table.add_row(
            escape(s.name),
            escape(_table(s)),
            _status(s.status, b.action if b else None),
            str(s.attempts) if s.attempts else "",
            "" if written is None else f"{written:,}",
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
        if s.note and not (s.build and s.build.action == "unchanged"):
            console.print(f"{escape(s.name)}: {escape(s.note)}", highlight=False)
    for s in steps:
        if s.status in ("failed", "skipped", "cancelled") and s.error:
            colour = "yellow" if s.status == "skipped" else "red"
            console.print(f"[{colour}]{escape(s.name)}[/]: {escape(s.error)}", highlight=False)
    console.print(f"run {outcome.run_id}: {outcome.status}", highlight=False)


def _label(status: str, action: str | None = None) -> str:
    if status == "succeeded" and action == "unchanged":
        return "up to date"
    if status == "succeeded" and action:
        return f"ok ({action})"
    return "ok" if status == "succeeded" else status


def _status(status: str, action: str | None = None) -> str:
    colour = {"succeeded": "green", "failed": "red", "skipped": "yellow"}.get(status, "white")
    if action == "unchanged":
        colour = "cyan"
    return f"[{colour}]{_label(status, action)}[/]"


def _table(step: StepOutcome) -> str:
    if step.result is not None:
        return step.result.table
    return step.name if step.kind == "model" else ""
