"""headrace mcp through the official MCP Python client (ClientSession over stdio and over
streamable HTTP) against real DuckDB and PostgreSQL: every tool end to end, the attack
corpus refused or neutralised with the data untouched, legitimate analytics allowed,
bearer-token auth on HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from headrace.engines.registry import create_engine
from tests.mcp_attacks import ALLOWED, FORBIDDEN, SCHEMA_SQL

HEADRACE = [sys.executable, "-m", "headrace"]
TOKEN = "test-token-0123456789abcdef"


def make_project(root: Path, url: str) -> Path:
    """The attack schema, one pipeline run (for run history), a check file and a model."""
    root.mkdir(parents=True, exist_ok=True)
    with create_engine(url) as engine:
        for sql in SCHEMA_SQL:
            engine.execute(sql)
    (root / "fx.csv").write_text("currency,rate\nEUR,1.1\nGBP,1.3\n")
    (root / "models" / "marts").mkdir(parents=True)
    (root / "models" / "marts" / "revenue.sql").write_text(
        "select c.country, sum(o.amount) as revenue from shop.orders o\n"
        "join shop.customers c on c.id = o.customer_id group by c.country"
    )
    (root / "headrace.yml").write_text(
        f"warehouse: {url}\n"
        "pipelines:\n  fx: {source: fx.csv, table: raw.fx}\n"
        "checks:\n  - table: shop.orders\n    columns: {id: [not_null]}\n"
    )
    done = subprocess.run([*HEADRACE, "run"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def counts(url: str) -> dict[str, int]:
    with create_engine(url) as engine:
        return {
            t: int(engine.fetchall(f"SELECT count(*) FROM {t}")[0][0])
            for t in ("shop.orders", "shop.customers", "raw.fx")
        }


def stdio(root: Path, *extra: str) -> Any:
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "headrace", "mcp", "--timeout", "2s", *extra],
        cwd=str(root),
        env={**os.environ},
    )


def with_session(params: Any, body: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``body(session)`` against a stdio server."""
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await body(session)

    anyio.run(main)


def payload(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


@pytest.fixture
def project(engine_url: str, tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", engine_url)


def test_every_tool_end_to_end(project: Path, engine_url: str) -> None:
    dialect = "postgres" if engine_url.startswith("postgres") else "duckdb"

    async def body(session: Any) -> None:
        names = {t.name for t in (await session.list_tools()).tools}
        expected = {
            "list_schemas",
            "list_tables",
            "describe_table",
            "run_query",
            "explain_query",
            "index_health",
            "check_quality",
            "list_runs",
            "get_run",
            "lineage",
        }
        assert expected <= names and "run_pipeline" not in names
        assert "shop" in payload(await session.call_tool("list_schemas", {}))["schemas"]
        tables = payload(await session.call_tool("list_tables", {"schema": "shop"}))["tables"]
        assert {t["name"] for t in tables} == {"orders", "customers"}
        described = payload(
            await session.call_tool("describe_table", {"table": "shop.orders", "sample_rows": 2})
        )
        assert [c["name"] for c in described["columns"]][:2] == ["id", "customer_id"]
        assert len(described["sample_rows"]) == 2
        placeholder = "%s" if dialect == "postgres" else "?"
        rows = payload(
            await session.call_tool(
                "run_query",
                {
                    "sql": f"SELECT id, amount FROM shop.orders WHERE customer_id = {placeholder}"
                    " ORDER BY id",
                    "params": [1],
                },
            )
        )
        assert rows["rows"] == [[1, "120.00"], [2, "35.50"]] and not rows["truncated"]
        assert [c["name"] for c in rows["columns"]] == ["id", "amount"]
        plan = payload(
            await session.call_tool("explain_query", {"sql": "SELECT * FROM shop.orders"})
        )
        assert plan["summary"]
        health = payload(await session.call_tool("index_health", {}))
        assert "findings" in health
        quality = payload(await session.call_tool("check_quality", {"table": "shop.orders"}))
        assert quality["checks"][0]["status"] == "pass"
        runs = payload(await session.call_tool("list_runs", {"limit": 5}))["runs"]
        assert runs and runs[0]["status"] == "succeeded"
        run = payload(await session.call_tool("get_run", {"run_id": runs[0]["run_id"]}))
        assert run["steps"][0]["step"] == "fx"
        lineage = payload(
            await session.call_tool("lineage", {"model": "marts.revenue", "column": "revenue"})
        )
        assert lineage["columns"]["revenue"]["source_columns"] == ["shop.orders.amount"]
        resource = await session.read_resource("headrace://tables/shop/orders")
        assert json.loads(resource.contents[0].text)["name"] == "orders"
        recent = await session.read_resource("headrace://runs/recent")
        assert json.loads(recent.contents[0].text)[0]["run_id"] == runs[0]["run_id"]
        missing = await session.call_tool("describe_table", {"table": "shop.nope"})
        assert missing.is_error and "no table or view shop.nope" in missing.content[0].text

    with_session(stdio(project), body)


def test_results_are_capped_with_a_note(project: Path) -> None:
    async def body(session: Any) -> None:
        big = payload(
            await session.call_tool(
                "run_query", {"sql": "SELECT * FROM shop.orders CROSS JOIN shop.orders AS o2"}
            )
        )
        assert big["row_count"] == 3 and big["truncated"] and "3 rows" in big["note"]
        wide = payload(
            await session.call_tool(
                "run_query", {"sql": "SELECT repeat('x', 900) AS s FROM shop.orders"}
            )
        )
        assert wide["truncated"] and "characters" in wide["note"]

    with_session(stdio(project, "--max-rows", "3", "--max-chars", "2000"), body)


def test_attack_corpus_is_refused_and_changes_nothing(project: Path, engine_url: str) -> None:
    dialect = "postgres" if engine_url.startswith("postgres") else "duckdb"
    attacks = [(i, sql) for i, d, sql in FORBIDDEN if d == dialect]
    assert len(attacks) >= 40
    before = counts(engine_url)
    passed: list[str] = []

    async def body(session: Any) -> None:
        for attack_id, sql in attacks:
            result = await session.call_tool("run_query", {"sql": sql})
            if not result.is_error:
                passed.append(attack_id)
        # Still serving, and still correct, after everything it refused.
        assert payload(await session.call_tool("run_query", {"sql": "SELECT 1 AS one"}))[
            "rows"
        ] == [[1]]

    with_session(stdio(project), body)
    assert passed == []
    assert counts(engine_url) == before
    with create_engine(engine_url) as engine:
        assert engine.table_info("shop.orders") is not None


def test_legitimate_analytics_all_run(project: Path, engine_url: str) -> None:
    dialect = "postgres" if engine_url.startswith("postgres") else "duckdb"
    queries = [(i, sql) for i, d, sql in ALLOWED if d == dialect]
    failed: list[tuple[str, str]] = []

    async def body(session: Any) -> None:
        for query_id, sql in queries:
            result = await session.call_tool("run_query", {"sql": sql})
            if result.is_error:
                failed.append((query_id, result.content[0].text))

    with_session(stdio(project), body)
    assert failed == []


def test_long_queries_are_cancelled_at_the_timeout(project: Path, engine_url: str) -> None:
    big = (
        "SELECT count(*) FROM generate_series(1, 3000000000) AS g"
        if engine_url.startswith("postgres")
        else "SELECT count(*) FROM range(100000000000) AS r(g) WHERE g % 7 = 3"
    )

    async def body(session: Any) -> None:
        started = time.monotonic()
        result = await session.call_tool("run_query", {"sql": big})
        assert result.is_error and "timeout" in result.content[0].text
        assert time.monotonic() - started < 60
        assert payload(await session.call_tool("run_query", {"sql": "SELECT 2 AS two"}))[
            "rows"
        ] == [[2]]

    with_session(stdio(project), body)


def test_run_pipeline_only_with_allow_write(project: Path, engine_url: str) -> None:
    async def body(session: Any) -> None:
        names = {t.name for t in (await session.list_tools()).tools}
        assert "run_pipeline" in names
        result = payload(await session.call_tool("run_pipeline", {"name": "fx"}))
        assert result["status"] == "succeeded"
        # Queries stay read-only even so.
        denied = await session.call_tool("run_query", {"sql": "DELETE FROM shop.orders"})
        assert denied.is_error

    with_session(stdio(project, "--allow-write"), body)
    assert counts(engine_url)["raw.fx"] == 4  # the pipeline appended its file again


def test_session_layer_holds_without_the_guard(pg_url: str, tmp_path: Path) -> None:
    """Layer 1 alone: every forbidden statement, sent straight to a read-only session of a
    plain role (the documented agent role), leaves the data as it was."""
    from headrace.mcp.database import capped_query

    make_project(tmp_path / "p", pg_url)
    agent = "agent_" + pg_url.rsplit("/", 1)[1]  # roles are cluster-wide
    with create_engine(pg_url) as admin:
        admin.execute(f"CREATE ROLE {agent} LOGIN PASSWORD 'agent-pw'")
        admin.execute(f"GRANT USAGE ON SCHEMA shop TO {agent}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA shop TO {agent}")
    agent_url = f"postgresql://{agent}:agent-pw@" + pg_url.split("@", 1)[1]
    before = counts(pg_url)
    with create_engine(agent_url, read_only=True, statement_timeout=1) as engine:
        for _, dialect, sql in FORBIDDEN:
            if dialect != "postgres":
                continue
            try:
                capped_query(engine, sql, max_rows=5, max_chars=1000)
            except Exception:  # noqa: BLE001 - refused by the database is the point
                engine.close()  # a fresh session for the next one
    assert counts(pg_url) == before
    with create_engine(pg_url) as admin:
        assert admin.table_info("shop.orders") is not None


# -- streamable HTTP --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path, duckdb_url: str) -> Iterator[str]:
    root = make_project(tmp_path / "p", duckdb_url)
    port = free_port()
    process = subprocess.Popen(
        [*HEADRACE, "mcp", "--transport", "http", "--port", str(port), "--token", TOKEN],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            pytest.fail(process.stderr.read().decode() if process.stderr else "exited")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_http_needs_the_token_and_serves_sessions(http_server: str) -> None:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"accept": "application/json, text/event-stream"}
    assert httpx2.post(http_server, json=body, headers=headers).status_code == 401
    wrong = {**headers, "authorization": "Bearer wrong-token-0123456789"}
    assert httpx2.post(http_server, json=body, headers=wrong).status_code == 401

    async def client() -> tuple[str | None, list[Any]]:
        http = create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"})
        async with (
            http,
            streamable_http_client(http_server, http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            result = payload(
                await session.call_tool(
                    "run_query", {"sql": "SELECT count(*) AS n FROM shop.orders"}
                )
            )
            return getattr(session, "session_id", None), result["rows"]

    async def main() -> None:
        results = []

        async def one() -> None:
            results.append(await client())

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(one)
        assert [rows for _, rows in results] == [[[4]]] * 3

    anyio.run(main)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--transport", "http", "--host", "0.0.0.0"], "needs a bearer token"),
        (["--transport", "http"], "needs a bearer token"),
        (["--transport", "http", "--token", "short"], "too short"),
        (["--transport", "carrier-pigeon"], "use stdio or http"),
    ],
)
def test_http_refuses_unsafe_starts(args: list[str], fragment: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HEADRACE_MCP_TOKEN"}
    done = subprocess.run(
        [*HEADRACE, "mcp", *args], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.returncode == 2 and fragment in done.stderr


def test_duckdb_sessions_step_aside_when_idle(duckdb_url: str, tmp_path: Path) -> None:
    """While the agent is quiet, another process can write the DuckDB file the server
    reads; the next question reconnects and sees the new rows."""
    root = make_project(tmp_path / "p", duckdb_url)
    (root / "more.csv").write_text("currency,rate\nJPY,0.007\n")

    async def body(session: Any) -> None:
        first = payload(
            await session.call_tool("run_query", {"sql": "SELECT count(*) FROM raw.fx"})
        )
        assert first["rows"] == [[2]]
        await anyio.sleep(3.5)  # past the idle close (2 s)
        loaded = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                [*HEADRACE, "load", "more.csv", "raw.fx"], cwd=root, capture_output=True, text=True
            )
        )
        assert loaded.returncode == 0, loaded.stderr
        again = payload(
            await session.call_tool("run_query", {"sql": "SELECT count(*) FROM raw.fx"})
        )
        assert again["rows"] == [[3]]

    with_session(stdio(root), body)
