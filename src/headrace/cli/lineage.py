"""``headrace lineage MODEL[.COLUMN]``: where a model's data comes from, table and column."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.transform.graph import ProjectGraph


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(lineage)


def lineage(
    target: Annotated[
        str, typer.Argument(help="A model (schema.name) or one of its columns (schema.name.col).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    mermaid: Annotated[
        bool, typer.Option("--mermaid", help="Print a Mermaid flowchart (for Markdown docs).")
    ] = False,
) -> None:
    """Show the table-level DAG around a model and, per output column, the source columns
    that feed it (through CTEs, joins, unions and window functions)."""
    import sys

    from headrace.cli.app import project_options
    from headrace.project import Project
    from headrace.transform.lineage_render import (
        render_json,
        render_mermaid,
        render_text,
        resolve_target,
    )

    if as_json and mermaid:
        raise typer.BadParameter("choose one of --json and --mermaid")
    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    found = project.lineage()
    table, column = resolve_target(found, _qualified(project.graph(), target))
    if as_json:
        print_json(render_json(found, table, column))
    elif mermaid:
        sys.stdout.write(render_mermaid(found, table, column).rstrip("\n") + "\n")
    else:
        for line in render_text(found, table, column):
            console.print(escape(line), highlight=False, soft_wrap=True)


def _qualified(graph: ProjectGraph, target: str) -> str:
    """``revenue`` or ``revenue.col`` as ``marts.revenue[.col]`` when the name is unique."""
    from headrace.errors import UsageError

    parts = target.lower().split(".")
    if len(parts) >= 2 and ".".join(parts[:2]) in graph.nodes:
        return target
    try:
        name = graph.find(parts[0])
    except UsageError:
        return target  # resolve_target says what is unknown, listing the models
    return ".".join([graph.nodes[name].table, *parts[1:]])
