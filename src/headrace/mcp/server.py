"""``headrace mcp``: the MCP server (official ``mcp`` SDK, ``MCPServer``) over stdio or
streamable HTTP.

Read-only in two independent layers: the database session (DuckDB opened read-only with
external access off and its configuration locked; PostgreSQL sessions with
``default_transaction_read_only``, every query in a read-only transaction that is rolled
back, a server-side statement timeout, one statement per protocol message) and the SQL
guard (``sql_guard``). A capability the project or database lacks is not registered.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from headrace.errors import HeadraceError
from headrace.mcp.database import SessionPool
from headrace.mcp.tools import ServerOptions, Toolbox

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from headrace.project import Project

INSTRUCTIONS = """\
headrace gives read-only access to a data warehouse (DuckDB or PostgreSQL) and its
pipelines. Start with list_schemas / list_tables, then describe_table for columns and keys.
Use run_query for read-only SQL (one SELECT, WITH ... SELECT, VALUES, EXPLAIN, SHOW or
DESCRIBE; results are capped by rows and characters, with a note when cut: aggregate or
filter instead of paging through raw rows). explain_query shows how the database would run
a query; recommend_indexes and index_health advise on indexes. check_quality runs the
project's data-quality checks; list_runs / get_run show pipeline history; lineage shows
where a model's columns come from. Writes, DDL, file access and session changes are
refused."""


F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(fn: F) -> F:
    """headrace errors reach the agent as their one-line message (the SDK would replace an
    unexpected exception with a generic line and log a traceback)."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HeadraceError as exc:
            raise ToolError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _add(server: MCPServer, fn: Callable[..., Any]) -> None:
    # Unstructured output: the JSON text is the result; the SDK would otherwise validate
    # and serialise every result a second time as structured content.
    server.add_tool(clear_errors(fn), structured_output=False)


def build_server(project: Project, options: ServerOptions) -> tuple[MCPServer, Toolbox]:
    """The server with every tool the project and database support, and its sessions."""
    from mcp.server import MCPServer

    from headrace.engines.registry import create_engine

    _, url = project.connection(options.target)

    def factory() -> Any:
        return create_engine(url, read_only=True, statement_timeout=options.timeout_s)

    pool = SessionPool(factory)
    if pool.dialect == "duckdb":
        options.query_log = False  # a read-only DuckDB file cannot take the log's writes
    box = Toolbox(pool, project, options, _capabilities(project, pool))
    from headrace._version import __version__

    # WARNING: the SDK would otherwise set up INFO logging for the whole process.
    server = MCPServer(
        name="headrace", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    _register_core(server, box)
    _register_optional(server, box)
    _register_resources(server, box)
    return server, box


def _capabilities(project: Project, pool: SessionPool) -> set[str]:
    found: set[str] = set()
    with pool.session() as engine:
        if engine.table_info("_headrace.runs") is not None:
            found.add("runs")
        if engine.dialect == "postgres":
            found.add("postgres")
            if engine.fetchall("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'"):
                found.add("hypopg")
    try:
        if project.checks([]):
            found.add("checks")
    except HeadraceError:
        pass  # no checks defined: check_quality is simply not offered
    try:
        if project.graph().models:
            found.add("models")
    except HeadraceError:
        pass
    return found


def _register_core(server: MCPServer, box: Toolbox) -> None:
    def list_schemas() -> dict[str, Any]:
        """List the database's schemas. Start here when you do not know where tables live."""
        return {"schemas": box.list_schemas()}

    def list_tables(
        schema: Annotated[
            str | None, Field(description="Only this schema; omit for every schema.")
        ] = None,
    ) -> dict[str, Any]:
        """List tables and views with row estimates, sizes in bytes and comments. Use it to
        find the table a question is about before describing or querying it."""
        return {"tables": box.list_tables(schema)}

    def describe_table(
        table: Annotated[str, Field(description="schema.table (or table in the default schema)")],
        sample_rows: Annotated[
            int, Field(ge=0, le=100, description="Also return up to this many rows.")
        ] = 0,
    ) -> dict[str, Any]:
        """Describe one table or view: columns with types and nullability, primary key,
        foreign keys, indexes, and optionally a few sample rows. Use it before writing a
        query so that column names and joins are right."""
        return box.describe_table(table, sample_rows)

    def run_query(
        sql: Annotated[
            str,
            Field(description="One read-only statement: SELECT, WITH ... SELECT, VALUES, EXPLAIN."),
        ],
        params: Annotated[
            list[Any] | None,
            Field(description="Values for placeholders ($1 or %s on PostgreSQL, ? on DuckDB)."),
        ] = None,
    ) -> dict[str, Any]:
        """Run one read-only SQL query and return its rows with column names and types.
        Results are capped (rows and characters); when cut, "truncated" is true and "note"
        says so: aggregate, filter or LIMIT instead. Pass values through params rather than
        pasting them into the SQL. Long queries are cancelled at the server's timeout."""
        return box.run_query(sql, params)

    def explain_query(
        sql: Annotated[str, Field(description="The SELECT to explain (without EXPLAIN).")],
        hypothetical_indexes: Annotated[
            list[dict[str, Any]] | None,
            Field(
                description="PostgreSQL with HypoPG only: indexes to pretend exist, e.g. "
                '[{"table": "public.orders", "columns": ["customer_id", "ordered_at"]}].'
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Show how the database would execute a query (plan summary plus the JSON plan),
        without running it. With hypothetical_indexes, see whether an index would be used
        before anyone builds it."""
        return box.explain_query(sql, hypothetical_indexes)

    _add(server, list_schemas)
    _add(server, list_tables)
    _add(server, describe_table)
    _add(server, run_query)
    _add(server, explain_query)


def _register_optional(server: MCPServer, box: Toolbox) -> None:
    caps = box.capabilities
    if "hypopg" in caps:

        def recommend_indexes(
            queries: Annotated[
                list[str], Field(min_length=1, description="The read-only queries to speed up.")
            ],
            budget_mb: Annotated[
                float | None, Field(ge=0, description="Storage budget for new indexes.")
            ] = None,
        ) -> dict[str, Any]:
            """Recommend indexes for a set of queries: what-if costing with HypoPG and a
            greedy selection under an optional storage budget. Nothing is built; the DDL is
            returned for a human to review (headrace advise --verify measures it)."""
            return box.recommend_indexes(queries, budget_mb)

        _add(server, recommend_indexes)
    if "postgres" in caps or box.pool.dialect == "duckdb":

        def index_health() -> dict[str, Any]:
            """Report unused, duplicate, invalid and bloated indexes and foreign keys without
            an index, each with the DDL that would fix it. Changes nothing."""
            return box.index_health()

        _add(server, index_health)
    if "checks" in caps:

        def check_quality(
            table: Annotated[
                str | None, Field(description="Only this table's checks; omit for all.")
            ] = None,
        ) -> dict[str, Any]:
            """Run the project's data-quality checks (null, unique, ranges, freshness, ...)
            and return each result with failing-row samples. Results are not stored."""
            return box.check_quality(table)

        _add(server, check_quality)
    if "runs" in caps:

        def list_runs(
            limit: Annotated[int, Field(ge=1, le=200, description="How many, newest first.")] = 20,
            pipeline: Annotated[
                str | None, Field(description="Only runs that included this pipeline.")
            ] = None,
        ) -> dict[str, Any]:
            """List recent pipeline runs with status, row counts and errors."""
            return {"runs": box.list_runs(limit, pipeline)}

        def get_run(
            run_id: Annotated[str, Field(description="A run_id from list_runs.")],
        ) -> dict[str, Any]:
            """One run with each of its steps: states, attempts, rows and errors."""
            return box.get_run(run_id)

        _add(server, list_runs)
        _add(server, get_run)
    if "models" in caps:

        def lineage(
            model: Annotated[str, Field(description="A SQL model: schema.name.")],
            column: Annotated[
                str | None, Field(description="One output column; omit for all columns.")
            ] = None,
        ) -> dict[str, Any]:
            """Column-level lineage of a SQL model: which source columns feed each output
            column, and the models upstream and downstream of it."""
            return box.lineage(model, column)

        _add(server, lineage)
    if box.options.allow_write and (box.project.config.pipelines or "models" in caps):

        def run_pipeline(
            name: Annotated[str, Field(description="A pipeline or model of headrace.yml.")],
        ) -> dict[str, Any]:
            """Run one pipeline (or model) of the project now and return the run's result.
            Only offered because the server was started with --allow-write."""
            return box.run_pipeline(name)

        _add(server, run_pipeline)


def _register_resources(server: MCPServer, box: Toolbox) -> None:
    @server.resource(
        "headrace://tables/{schema}/{table}",
        name="table",
        description="A table's columns, keys and indexes as JSON.",
        mime_type="application/json",
    )
    def table_resource(schema: str, table: str) -> str:
        return json.dumps(box.describe_table(f'"{schema}"."{table}"', 0), default=str)

    if "runs" in box.capabilities:

        @server.resource(
            "headrace://runs/recent",
            name="recent_runs",
            description="The 20 most recent pipeline runs as JSON.",
            mime_type="application/json",
        )
        def recent_runs() -> str:
            return json.dumps(box.list_runs(20, None), default=str)
