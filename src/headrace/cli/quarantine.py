"""``headrace quarantine list|show|replay``: see bad rows, fix the schema, load them once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.project import Project

quarantine_app = typer.Typer(
    help="Inspect quarantined rows and replay them after fixing the schema.",
    no_args_is_help=True,
)

ToOption = Annotated[
    str | None, typer.Option("--to", help="Warehouse URL or connection (default: warehouse).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(quarantine_app, name="quarantine")


def _project() -> Project:
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    return Project.discover(config_file=config_file)


@quarantine_app.command("list")
def list_runs(
    to: ToOption = None,
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Runs that quarantined rows, with counts per reason."""
    from dataclasses import asdict

    from rich import box
    from rich.table import Table

    project = _project()
    summaries = project.quarantine_list(to, table)
    if as_json:
        print_json([asdict(s) for s in summaries])
        return
    if not summaries:
        console.print("no quarantined rows")
        return
    view = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    view.add_column("run", no_wrap=True, min_width=len(summaries[0].run_id))
    view.add_column("table", no_wrap=True)
    view.add_column("rows", justify="right")
    view.add_column("replayed", justify="right")
    view.add_column("reasons")
    for s in summaries:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.reasons.items()))
        view.add_row(s.run_id, escape(s.table), f"{s.rows:,}", f"{s.replayed:,}", escape(reasons))
    console.print(view)


@quarantine_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (from list or a load's summary).")],
    to: ToOption = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The quarantined rows of one run: position, column, reason and raw record."""
    project = _project()
    rows = project.quarantine_show(run_id, to, limit)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        where = f"line {row['line']}" if row["line"] is not None else f"row {row['row_offset']}"
        raw = str(row["raw"] or "")
        raw = raw if len(raw) <= 160 else raw[:157] + "..."
        replayed = f" [dim](replayed by {row['replayed_by']})[/]" if row["replayed_by"] else ""
        console.print(
            f"[bold]{escape(str(row['source']))}[/] {where}: [red]{row['reason']}[/]"
            f" {escape(str(row['message']))}{replayed}",
            highlight=False,
        )
        console.print(f"    {escape(raw)!s}", highlight=False, soft_wrap=True)


@quarantine_app.command("replay")
def replay(
    run_id: Annotated[str, typer.Argument(help="Run whose quarantined rows to replay.")],
    to: ToOption = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="Fixed schema to validate against.")
    ] = None,
    contract: Annotated[
        str | None, typer.Option("--contract", help="evolve | freeze | discard.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-validate a run's quarantined rows and load the good ones exactly once."""
    from headrace.cli.load import print_summary
    from headrace.schema import Contract, load_schema_file

    project = _project()
    declared = load_schema_file(schema) if schema else None
    agreement = Contract(contract) if contract else None
    results = project.quarantine_replay(run_id, to, declared, agreement)
    if as_json:
        print_json([r.to_json() for r in results])
        return
    for result in results:
        print_summary(result)
