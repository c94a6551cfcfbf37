"""``headrace slo``: success rate, error budget and freshness of each pipeline and model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.observe.slo import SloStatus


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("slo")(slo)


def slo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each pipeline's and model's success rate over its SLO window against its target,
    the error budget left, and freshness against its max age. A report: exit 0."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    statuses = Project.discover(config_file=config_file).slos()
    if as_json:
        print_json([s.to_json() for s in statuses])
        return
    if not statuses:
        console.print("no pipelines or models in this project")
        return
    print_slos(statuses)


def print_slos(statuses: list[SloStatus]) -> None:
    """One line per pipeline (failed = failed/runs in the window), then why any breach."""
    from rich import box
    from rich.table import Table

    view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    view.add_column("pipeline", min_width=min(max(len(s.pipeline) for s in statuses), 24))
    for header in ("target", "failed", "success", "budget"):
        view.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    view.add_column("last ok", justify="right", no_wrap=True, min_width=7)
    view.add_column("max age", justify="right", no_wrap=True, min_width=7)
    view.add_column("state", no_wrap=True, min_width=7)
    for s in statuses:
        view.add_row(
            escape(s.pipeline),
            f"{s.target_pct:g}% in {duration(s.window_s)}",
            f"{s.failures}/{s.runs}",
            "" if s.success_pct is None else f"{s.success_pct:.2f}%",
            f"{s.error_budget_remaining_pct:.1f}%",
            "never" if s.freshness_s is None else f"{duration(s.freshness_s)} ago",
            "" if s.max_age_s is None else duration(s.max_age_s),
            _state(s),
        )
    console.print(view)
    for s in statuses:
        for why in breaches(s):
            console.print(f"[red]{escape(s.pipeline)}[/]: {why}", highlight=False)


def breaches(s: SloStatus) -> list[str]:
    """Why an SLO is breached, one phrase per objective missed."""
    found = []
    if s.success_pct is not None and s.success_pct < s.target_pct:
        found.append(
            f"success {s.success_pct:.2f}% is below the {s.target_pct:g}% target"
            f" ({s.failures} of {s.runs} runs failed in {duration(s.window_s)})"
        )
    if s.fresh is False and s.max_age_s is not None:
        age = (
            "never succeeded" if s.freshness_s is None else f"last ok {duration(s.freshness_s)} ago"
        )
        found.append(f"stale: {age}, max age {duration(s.max_age_s)}")
    return found


def _state(s: SloStatus) -> str:
    if s.breached:
        return "[red]breach[/]"
    return "[dim]no runs[/]" if s.runs == 0 else "[green]ok[/]"


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h, 2d 4h."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h".replace(".0h", "h")
    days, rest = divmod(seconds, 86400)
    hours = round(rest / 3600)
    return f"{days:.0f}d" + (f" {hours}h" if hours else "")
