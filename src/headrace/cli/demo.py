"""``headrace demo``: write the sample project and load it (the command behind make demo)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from headrace.cli.output import console, escape


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(demo)


def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the sample project.")] = Path(
        "headrace-demo"
    ),
) -> None:
    """Generate a sample e-commerce project and load it into an embedded DuckDB warehouse."""
    from rich import box
    from rich.table import Table

    from headrace.project import run_demo

    with console.status("generating and loading the demo project..."):
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
    console.print(
        f"warehouse: {escape(result.warehouse_url)}; total {result.seconds:.2f} s.",
        highlight=False,
    )
    # Quarantine commands find the warehouse through the project file, hence the cd. The
    # folder as typed (relative to where the user is) and no hard wrap keep it copyable.
    where = shlex.quote(str(directory))
    console.print(
        f"see bad rows: cd {escape(where)} && headrace quarantine list",
        highlight=False,
        soft_wrap=True,
    )
