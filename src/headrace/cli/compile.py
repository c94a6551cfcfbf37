"""``headrace compile MODEL``: a model's SQL exactly as it will run."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("compile")(compile_model)


def compile_model(
    model: Annotated[str, typer.Argument(help="The model: schema.name or name.")],
    dialect: Annotated[
        str | None,
        typer.Option("--dialect", help="Render for this engine's SQL (default: the warehouse's)."),
    ] = None,
) -> None:
    """Print the model's SELECT with table names resolved, transpiled for the target."""
    import sys

    from headrace.cli.app import project_options
    from headrace.config.sql_models import check_dialect
    from headrace.project import Project

    if dialect is not None:
        try:
            check_dialect(dialect)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--dialect") from None
    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    sys.stdout.write(project.compile_model(model, dialect) + ";\n")
