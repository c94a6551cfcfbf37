"""``headrace check``: run data-quality checks, one scan per table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.quality.run import CheckRun


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(check)


def check(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Tables to check (default: every table with checks).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Warehouse URL or connection (default: warehouse).")
    ] = None,
    checks_file: Annotated[
        Path | None,
        typer.Option("--checks", help="Check file (default: headrace.yml and checks/*.yml)."),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Failing rows to show per check.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the SQL that would run; run nothing.")
    ] = False,
) -> None:
    """Run data-quality checks; exit 1 if a blocking check fails."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    if explain:
        for compiled in project.explain_checks(list(tables or []), to=to, checks_file=checks_file):
            count = 1 + len(compiled.extra)
            console.print(
                f"[bold]{escape(compiled.table)}[/]: {count} {'query' if count == 1 else 'queries'}"
            )
            console.print(f"-- {compiled.aggregate.purpose}", highlight=False)
            console.print(escape(compiled.aggregate.sql) + ";", highlight=False, soft_wrap=True)
            for query in [
                *compiled.extra.values(),
                *([compiled.passing] if compiled.passing else []),
            ]:
                console.print(f"-- {query.purpose}", highlight=False)
                console.print(escape(query.sql) + ";", highlight=False, soft_wrap=True)
            for name, why in compiled.proven.items():
                console.print(f"-- {escape(name)}: no query, {why}", highlight=False)
        return
    run = project.run_checks(list(tables or []), to=to, checks_file=checks_file, samples=samples)
    if as_json:
        print_json(run.to_json())
    else:
        print_run(run)
    if run.status == "failed":
        raise typer.Exit(1)


def print_run(run: CheckRun) -> None:
    """The rich table and the summary line."""
    from rich import box
    from rich.table import Table

    view = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    view.add_column("table", no_wrap=True)
    view.add_column("check", no_wrap=True)
    view.add_column("status", no_wrap=True)
    view.add_column("invalid", justify="right", no_wrap=True)
    view.add_column("%", justify="right", no_wrap=True)
    view.add_column("threshold / observed")
    colours = {"pass": "green", "warn": "yellow", "fail": "red"}
    for r in run.results:
        status = r.status if r.severity == "blocking" or r.status != "fail" else "fail*"
        detail = r.threshold or ""
        if r.status != "pass" and r.message:
            detail = r.message
        elif r.message and not detail:
            detail = r.message
        view.add_row(
            escape(r.table),
            escape(r.check),
            f"[{colours.get(r.status, 'white')}]{status}[/]",
            "" if r.invalid_count is None else f"{r.invalid_count:,}",
            "" if r.invalid_pct is None else f"{r.invalid_pct:g}",
            escape(detail),
        )
    console.print(view)
    for r in run.results:
        if r.status in ("fail", "warn") and r.sample_rows:
            console.print(f"[bold]{escape(r.check)}[/] on {escape(r.table)}: sample failing rows")
            for sample in r.sample_rows:
                text = json.dumps(sample, default=str, ensure_ascii=False)
                console.print(f"  {escape(text)}", highlight=False, soft_wrap=True)
            if r.failing_rows_sql:
                console.print(
                    f"  all of them: {escape(r.failing_rows_sql)}", highlight=False, soft_wrap=True
                )
    counts = {s: sum(r.status == s for r in run.results) for s in ("pass", "warn", "fail")}
    passing = "n/a" if run.records_passing_pct is None else f"{run.records_passing_pct:g}%"
    console.print(
        f"{counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed"
        f" (* = not blocking); records passing all row checks: {passing}; run {run.run_id}",
        highlight=False,
    )
    for table in run.tables:
        worst = sorted(
            ((pct, name) for name, pct in table["completeness_pct"].items() if pct is not None)
        )[:5]
        shown = ", ".join(f"{name} {pct:g}%" for pct, name in worst)
        console.print(
            f"  {escape(table['table'])}: completeness (lowest) {escape(shown)}", highlight=False
        )
