"""``headrace ping``: connect, report engine, version and round-trip time."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from headrace.cli.output import console, escape, print_json


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(ping)


def ping(
    target: Annotated[
        str | None,
        typer.Argument(
            help="Connection URL or name from headrace.yml (default: the project warehouse).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Connect to a database and print engine, version and round-trip time."""
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    _, url = project.connection(target)
    result = project.ping(target)
    if as_json:
        print_json({"url": str(url), **asdict(result)})
        return
    console.print(
        f"[green]ok[/] {escape(str(url))}: {result.engine} {escape(result.version)}, "
        f"connected in {result.connect_ms:.1f} ms, round trip {result.round_trip_ms:.2f} ms",
        highlight=False,
    )
