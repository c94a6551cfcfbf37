"""``headrace metrics``: the Prometheus metrics of ``/metrics``, printed or written to a
node-exporter textfile after a batch run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command()(metrics)


def metrics(
    textfile: Annotated[
        Path | None,
        typer.Option(
            "--textfile",
            help="Write here (atomically) for node-exporter's textfile collector, e.g. "
            "/var/lib/node_exporter/textfile/headrace.prom; default: print to stdout.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Run store to read: a URL or connection name (default: the warehouse)."
        ),
    ] = None,
) -> None:
    """Print the run store's metrics in the Prometheus text format: runs by pipeline and
    status, rows loaded and quarantined, step durations, check failures, freshness lag and
    SLO error budget. Exit 1 (after writing headrace_up 0) when the store cannot be read."""
    import sys

    from headrace.cli.app import project_options
    from headrace.cli.output import print_error
    from headrace.errors import UsageError
    from headrace.observe.metrics import StoreCollector, write_textfile
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    project.connection(to)  # an unknown connection name is a usage error, before anything
    if textfile is None:
        from prometheus_client import CollectorRegistry, generate_latest

        collector = StoreCollector(project, None, to)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        sys.stdout.write(generate_latest(registry).decode())
    else:
        try:
            collector = write_textfile(project, textfile, to=to)
        except OSError as exc:
            raise UsageError(
                f"cannot write {textfile}: {exc.strerror or exc}",
                hint="--textfile needs a writable folder (node-exporter's textfile directory)",
            ) from None
    if collector.last_error:
        print_error(f"run store not readable: {collector.last_error}")
        raise typer.Exit(1)
