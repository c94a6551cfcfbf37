"""``headrace plan``: which steps ``headrace run`` would run and why, changing nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.output import console, escape, print_json


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(plan)


_COLOURS = {"run": "green", "maybe": "yellow", "skip": "cyan"}


def plan(
    select: Annotated[
        list[str] | None,
        typer.Argument(
            help="What to plan (default: everything): NAME, +NAME, NAME+, tag:TAG.",
            metavar="[SELECT]...",
        ),
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Plan rebuilding the selected models.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show which loads and models a run would execute, and why (new, changed SQL, new
    data, forced); models that are up to date are skipped."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    items = project.plan(list(select or []), full_refresh=full_refresh)
    if as_json:
        print_json({"steps": [i.to_json() for i in items]})
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("step", "kind", "action", "why"):
        table.add_column(header, no_wrap=header != "why")
    for item in items:
        kind = item.materialized or item.kind
        colour = _COLOURS.get(item.action, "white")
        table.add_row(
            escape(item.name),
            escape(kind),
            f"[{colour}]{item.action}[/]",
            escape(item.reason),
        )
    console.print(table)
    runs = sum(i.action == "run" for i in items)
    maybe = sum(i.action == "maybe" for i in items)
    console.print(
        f"{runs} to run, {maybe} if new data arrives, {len(items) - runs - maybe} up to date",
        highlight=False,
    )
