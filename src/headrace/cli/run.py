"""``headrace run``: the project's pipelines, in dependency order."""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.output import console, escape, print_json


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(run)


def run(
    pipelines: Annotated[
        list[str] | None,
        typer.Argument(help="Pipelines to run (default: all), with their dependencies."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the pipelines defined in headrace.yml; exit 1 if any failed."""
    from rich import box
    from rich.table import Table

    from headrace.cli.app import project_options
    from headrace.cli.progress import LoadProgress
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    if not project.config.pipelines:
        raise typer.BadParameter(
            f"no pipelines in {project.config_file or 'headrace.yml'}; add a pipelines: section"
        )
    with LoadProgress(None, enabled=not as_json) as progress:
        outcomes = project.run_pipelines(list(pipelines or []), progress=progress)
    failed = [o for o in outcomes if o.status != "succeeded"]
    if as_json:
        print_json(
            {
                "status": "failed" if failed else "succeeded",
                "pipelines": [
                    {
                        **(o.result.to_json() if o.result else {}),
                        "name": o.name,
                        "status": o.status,
                        "error": o.error,
                        "checks": o.checks.to_json() if o.checks else None,
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        # Names and counts stay whole; rich would otherwise squeeze them at 80 columns.
        widths = {
            "pipeline": max(len(o.name) for o in outcomes),
            "table": max((len(o.result.table) for o in outcomes if o.result), default=5),
            "status": max(len(_label(o.status)) for o in outcomes),
        }
        for header in ("pipeline", "table", "status"):
            table.add_column(header, no_wrap=True, min_width=max(widths[header], len(header)))
        for header in ("read", "loaded", "quarantined", "seconds"):
            table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
        for o in outcomes:
            r = o.result
            table.add_row(
                escape(o.name),
                escape(r.table) if r else "",
                _status(o.status),
                f"{r.rows_read:,}" if r else "",
                f"{r.rows_loaded:,}" if r else "",
                f"{r.rows_quarantined:,}" if r else "",
                f"{r.seconds:.2f}" if r else "",
            )
        console.print(table)
        for o in outcomes:
            if o.checks is not None:
                counts = {
                    k: sum(r.status == k for r in o.checks.results)
                    for k in ("pass", "warn", "fail")
                }
                console.print(
                    f"checks on {escape(o.checks.tables[0]['table'])}: {counts['pass']} passed,"
                    f" {counts['warn']} warned, {counts['fail']} failed",
                    highlight=False,
                )
        for o in failed:
            console.print(f"[red]{o.name}[/]: {escape(o.error or o.status)}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _label(status: str) -> str:
    return "ok" if status == "succeeded" else status


def _status(status: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "skipped": "yellow"}.get(status, "white")
    return f"[{colour}]{_label(status)}[/]"
