"""``headrace serve``: the web dashboard (runs, trends, quality, SLOs, cost, lineage,
table browser) and ``/metrics``; loopback by default, a token for anything else."""

from __future__ import annotations

import os
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8760,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Require this token (bearer header or sign-in form); or HEADRACE_WEB_TOKEN.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Database URL or connection name (default: the warehouse)."),
    ] = None,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Cancel a query after this long (10s, 1m).")
    ] = "10s",
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Rows per query result.")
    ] = 1000,
) -> None:
    """Serve the dashboard: runs timeline, duration and rows trends, quality pass rate, SLOs
    and error budgets, cost versus budget, lineage, and a read-only table browser (the MCP
    server's SQL guard and read-only sessions). Prometheus metrics at /metrics."""
    from headrace.errors import UsageError

    try:
        import uvicorn

        from headrace.web import create_app
    except ImportError as exc:
        raise UsageError(
            f"the dashboard needs the web extra ({exc.name} is not installed)",
            hint="pip install 'headrace[web]'",
        ) from None
    from headrace.cli.app import project_options
    from headrace.cli.output import console
    from headrace.config.durations import parse_duration
    from headrace.mcp.http import is_loopback
    from headrace.project import Project
    from headrace.web.auth import TOKEN_ENV

    try:
        timeout_s = parse_duration(timeout)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timeout") from None
    secret = token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and not secret:
        raise UsageError(
            f"serving the dashboard on {host} (not loopback) needs a token",
            hint=f"pass --token or set {TOKEN_ENV}, or bind 127.0.0.1",
        )
    if secret is not None and len(secret) < 16:
        raise UsageError("the token is too short", hint="use at least 16 characters")
    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    app = create_app(project, token=secret, target=to, timeout_s=timeout_s, max_rows=max_rows)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"headrace dashboard: open http://{shown}:{port}/  (Ctrl-C to stop)")
    if secret:
        # Never echo the token itself: terminal scrollback and CI logs keep it.
        console.print("sign in with the token you set; API clients send Authorization: Bearer")
    uvicorn.run(app, host=host, port=port, log_level="warning")
