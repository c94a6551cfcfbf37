"""``headrace mcp``: serve the warehouse to AI agents over the Model Context Protocol."""

from __future__ import annotations

import os
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("mcp")(mcp_command)


def mcp_command(
    to: Annotated[
        str | None,
        typer.Option("--to", help="Database URL or connection name (default: the warehouse)."),
    ] = None,
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (for a local client) or http.")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host", help="HTTP address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Bearer token HTTP clients must send (or HEADRACE_MCP_TOKEN)."
        ),
    ] = None,
    allow_write: Annotated[
        bool, typer.Option("--allow-write", help="Offer run_pipeline (queries stay read-only).")
    ] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Rows per result.")] = 1000,
    max_chars: Annotated[
        int, typer.Option("--max-chars", min=100, help="Characters of JSON per result.")
    ] = 50_000,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Cancel a query after this long (10s, 1m).")
    ] = "10s",
    query_log: Annotated[
        bool,
        typer.Option(
            "--query-log/--no-query-log",
            help="Record queries in _headrace.query_log for headrace advise --workload"
            " querylog (PostgreSQL; the server's only write, on a second connection).",
        ),
    ] = False,
) -> None:
    """Serve the warehouse to AI agents (MCP): explore, query read-only, explain, advise on
    indexes, check quality, follow runs. Read-only in the database session and by SQL
    parsing; HTTP needs a bearer token and binds to 127.0.0.1 by default."""
    from headrace.cli.app import project_options
    from headrace.config.durations import parse_duration
    from headrace.mcp.http import TOKEN_ENV, check_binding, serve_http
    from headrace.mcp.server import build_server
    from headrace.mcp.tools import ServerOptions
    from headrace.project import Project

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("use stdio or http", param_hint="--transport")
    try:
        timeout_s = parse_duration(timeout)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timeout") from None
    secret = token or os.environ.get(TOKEN_ENV)
    if transport == "http":
        secret = check_binding(host, secret)
    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    options = ServerOptions(to, allow_write, max_rows, max_chars, timeout_s, query_log)
    server, box = build_server(project, options)
    try:
        if transport == "stdio":
            server.run("stdio")
        else:
            assert secret is not None
            serve_http(server, host=host, port=port, token=secret)
    finally:
        box.pool.close()
