"""``headrace indexes health``: what to drop, rebuild or add, with the DDL to do it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.advisor.health import HealthReport

indexes_app = typer.Typer(help="Inspect the indexes of a database.", no_args_is_help=True)

_HEADINGS = {
    "invalid": "invalid indexes (drop and build again)",
    "duplicate": "duplicate or prefix-covered indexes (drop)",
    "unused": "unused indexes (drop)",
    "missing_fk_index": "foreign keys without an index (create)",
    "bloat": "bloated indexes (rebuild)",
}


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(indexes_app, name="indexes")


@indexes_app.command("health")
def health(
    to: Annotated[
        str | None, typer.Option("--to", help="Database URL or connection (default: warehouse).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Unused, duplicate, invalid and bloated indexes, and foreign keys without one."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    report = Project.discover(config_file=config_file).index_health(to=to)
    # A report, not a check: findings are the answer, so the exit code stays 0.
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)


def print_report(report: HealthReport) -> None:
    """One table per kind of finding, the fixes under it, then notes and a summary."""
    from rich import box
    from rich.table import Table

    from headrace.advisor.health import KINDS, human_bytes

    for kind in KINDS:
        findings = report.of_kind(kind)
        if not findings:
            continue
        console.print(f"[bold]{_HEADINGS[kind]}[/]: {len(findings)}", highlight=False)
        view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        view.add_column("table", no_wrap=True)
        view.add_column("index", no_wrap=True)
        view.add_column("columns")
        view.add_column("size", justify="right", no_wrap=True)
        view.add_column("scans", justify="right", no_wrap=True)
        view.add_column("why")
        for f in findings:
            view.add_row(
                escape(f.table),
                escape(f.index or "-"),
                escape(", ".join(f.columns)),
                "" if f.size_bytes is None else human_bytes(f.size_bytes),
                "" if f.scans is None else f"{f.scans:,}",
                escape(f.detail),
            )
        console.print(view)
        console.print("  fix:", highlight=False)
        for f in findings:
            for line in f.ddl.splitlines():
                console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)
        console.print()
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items() if n)
    total = (
        "" if report.total_index_bytes is None else f" ({human_bytes(report.total_index_bytes)})"
    )
    reset = report.stats_reset.isoformat(sep=" ", timespec="seconds") if report.stats_reset else ""
    console.print(
        f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
        f"{': ' + counts if counts else ''}; {report.index_count} indexes{total} on "
        f"{report.engine}{'; stats reset ' + reset if reset else ''}",
        highlight=False,
    )
