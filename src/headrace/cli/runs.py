"""``headrace runs [--pipeline P] [--since 7d]`` and ``headrace runs show RUN_ID``: run history."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.observe.runs import RunDetail, RunSummary
    from headrace.project import Project

runs_app = typer.Typer(
    help="Run history: steps, states, attempts, rows, checks, durations, errors.",
    invoke_without_command=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# Run and step states, and check outcomes (pass, warn, fail).
_COLOURS = {
    "succeeded": "green",
    "pass": "green",
    "failed": "red",
    "fail": "red",
    "skipped": "yellow",
    "cancelled": "yellow",
    "warn": "yellow",
}


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(runs_app, name="runs")


def _project() -> Project:
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    return Project.discover(config_file=config_file)


@runs_app.callback()
def list_runs(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Only runs of this pipeline or model.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only runs started this long ago: 1h, 7d.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Recorded runs of ``headrace run``, newest first (``runs show RUN_ID`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    since_s = parse_since(since)
    runs = _project().runs(pipeline=pipeline, since_s=since_s, limit=limit)
    if as_json:
        print_json([r.to_json() for r in runs])
        return
    if not runs:
        console.print("no runs recorded" + (" in that window" if since else ""), highlight=False)
        return
    print_runs(runs)


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (from headrace runs or headrace run).")],
    as_json: JsonOption = False,
) -> None:
    """One run: each step's state, attempts, rows, duration and errors, and its checks."""
    detail = _project().run_detail(run_id)
    if as_json:
        print_json(detail.to_json())
        return
    print_detail(detail)


def parse_since(since: str | None) -> float | None:
    """Seconds in ``--since``; a usage error (exit 2) when it is not a duration."""
    from headrace.config.durations import parse_duration
    from headrace.errors import UsageError

    if since is None:
        return None
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"--since: must be above zero, got {since!r}")
    return seconds


def print_runs(runs: list[RunSummary]) -> None:
    """One line per run."""
    from rich import box
    from rich.table import Table

    view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    view.add_column("run", no_wrap=True, min_width=max(len(r.run_id) for r in runs))
    # The run id starts with its UTC start time; the exact instant is in show and --json.
    view.add_column("status", no_wrap=True, min_width=max(len(r.status) for r in runs))
    view.add_column("seconds", justify="right", no_wrap=True, min_width=7)
    for header in ("loaded", "quarantined"):
        view.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    view.add_column("pipelines")
    for r in runs:
        view.add_row(
            r.run_id,
            status(r.status),
            "" if r.seconds is None else f"{r.seconds:.2f}",
            f"{r.rows_loaded:,}",
            f"{r.rows_quarantined:,}",
            escape(r.pipelines),
        )
    console.print(view)
    for r in runs:
        if r.error:
            colour = _COLOURS.get(r.status, "white")
            console.print(f"[{colour}]{r.run_id}[/]: {escape(r.error)}", highlight=False)


def print_detail(run: RunDetail) -> None:
    """The run's header, a table of its steps, attempt errors, then check results."""
    from rich import box
    from rich.table import Table

    took = "" if run.seconds is None else f" in {run.seconds:.2f}s"
    console.print(
        f"run [bold]{run.run_id}[/]: {status(run.status)}{took},"
        f" started {when(run.started_at)} UTC",
        highlight=False,
    )
    console.print(
        f"rows read {run.rows_read:,}, loaded {run.rows_loaded:,},"
        f" quarantined {run.rows_quarantined:,}",
        highlight=False,
    )
    if run.steps:
        view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        view.add_column("step", no_wrap=True, min_width=max(len(s.step) for s in run.steps))
        view.add_column("kind", no_wrap=True)
        view.add_column("status", no_wrap=True)
        for header in ("tries", "read", "loaded", "quarantined", "seconds"):
            view.add_column(header, justify="right", no_wrap=True)
        for s in run.steps:
            view.add_row(
                escape(s.step),
                s.kind,
                status(s.status),
                str(s.attempts),
                _count(s.rows_read),
                _count(s.rows_loaded),
                _count(s.rows_quarantined),
                "" if s.seconds is None else f"{s.seconds:.2f}",
            )
        console.print(view)
    for s in run.steps:
        if s.error:
            colour = _COLOURS.get(s.status, "white")
            console.print(f"[{colour}]{escape(s.step)}[/]: {escape(s.error)}", highlight=False)
        # Earlier failed attempts explain a retry that later succeeded or failed again.
        earlier = s.attempt_errors[:-1] if s.status == "failed" else s.attempt_errors
        for number, error in enumerate(earlier, start=1):
            console.print(f"  attempt {number}: {escape(error)}", highlight=False)
    if run.checks:
        view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for header in ("table", "check", "column", "status", "severity"):
            view.add_column(header, no_wrap=True)
        view.add_column("invalid", justify="right", no_wrap=True)
        for c in run.checks:
            view.add_row(
                escape(str(c["table"])),
                escape(str(c["check"])),
                escape(str(c["column"] or "")),
                status(str(c["status"])),
                str(c["severity"]),
                _count(c["invalid_count"]),
            )
        console.print(view)


def status(value: str) -> str:
    """A state in its colour."""
    return f"[{_COLOURS.get(value, 'white')}]{escape(value)}[/]"


def when(value: dt.datetime | None) -> str:
    """A UTC timestamp to the second."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
