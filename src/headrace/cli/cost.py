"""``headrace cost``: projected monthly cost of each pipeline and model, against a budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, err_console, escape, print_json

if TYPE_CHECKING:
    from headrace.observe.cost import CostReport


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("cost")(cost)


def cost(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Monthly cost per pipeline and model: compute from measured run seconds × runs per
    month, storage from table sizes; warns (exit 0) when the total exceeds the budget."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    report = Project.discover(config_file=config_file).costs()
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if report.over_budget:
        # On stderr, so --json output stays one document; a projection, not a failure.
        err_console.print(
            f"[bold yellow]warning:[/] projected ${report.total_usd:,.2f}/month exceeds the"
            f" budget of ${report.budget_usd:,.2f}/month (observe.cost.budget_usd)",
            highlight=False,
        )


def print_report(report: CostReport) -> None:
    """One line per pipeline, the total against the budget, the rates and notes."""
    from rich import box
    from rich.table import Table

    if report.pipelines:
        view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        width = max(len(p.pipeline) for p in report.pipelines)
        view.add_column("pipeline", no_wrap=True, min_width=width)
        for header in ("runs/month", "s/run", "compute", "storage GB", "storage", "scanned"):
            view.add_column(header, justify="right", no_wrap=True)
        view.add_column("total", justify="right", no_wrap=True)
        for p in report.pipelines:
            view.add_row(
                escape(p.pipeline),
                f"{p.runs_per_month:,.1f}" + (" (set)" if p.runs_source == "config" else ""),
                f"{p.compute_seconds_per_run:,.2f}",
                usd(p.compute_usd),
                f"{p.storage_gb:,.4f}",
                usd(p.storage_usd),
                usd(p.scanned_usd),
                usd(p.total_usd),
            )
        console.print(view)
    colour = "red" if report.over_budget else "green"
    console.print(
        f"total [bold]{usd(report.total_usd)}[/]/month; budget {usd(report.budget_usd)}/month:"
        f" [{colour}]{'over' if report.over_budget else 'within'}[/]",
        highlight=False,
    )
    sheet = report.price_sheet
    console.print(
        f"rates: ${sheet['vcpu_hour_usd']}/vCPU-hour × {sheet['vcpus']:g} vCPU,"
        f" ${sheet['gb_month_usd']}/GB-month, ${sheet['scanned_tb_usd']}/TB scanned"
        f" ({sheet['source']}, {sheet['date']}"
        + (f"; overridden: {', '.join(sheet['overridden'])}" if sheet["overridden"] else "")
        + ")",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)


def usd(amount: float) -> str:
    """Dollars with cents; fractions of a cent shown as such, not rounded to zero."""
    if 0 < amount < 0.01:
        return "<$0.01"
    return f"${amount:,.2f}"
