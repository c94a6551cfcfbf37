"""MCP server: ``run_query`` overhead against the driver, and many HTTP clients at once.

Promise 4 puts an MCP server between an agent and the warehouse. This script measures what
that layer costs for a small result, and whether it holds up under concurrent clients, on
DuckDB and PostgreSQL, through the official MCP Python client (``mcp`` 2.x). It prints one
JSON line; progress goes to stderr.

Method:

- Data: ``bench.orders`` with 1,000 rows (``id`` primary key, an integer, a text, a
  ``numeric(12,2)`` and a timestamp column) in a fresh DuckDB file and, on PostgreSQL, in a
  fresh database of a throwaway cluster from ``tests/pg_cluster.py`` (``fsync=off``,
  ``synchronous_commit=off``). The query selects 10 rows by key:
  ``SELECT ... FROM bench.orders WHERE id BETWEEN p1 AND p2 ORDER BY id`` with bound
  parameters; the key range moves on every call.
- Direct: the same query and parameters through the driver in this process, one
  connection (``duckdb.connect(FILE, read_only=True)``; ``psycopg.connect(URL,
  autocommit=True)``), ``execute(...).fetchall()``, ``--queries`` timed calls after
  ``--warmup`` untimed ones.
- In process (no MCP): the SQL guard alone (``guard_sql``) and ``Toolbox.run_query``, the
  function behind the tool (guard, a pooled read-only session, ``BEGIN READ ONLY`` ...
  ``ROLLBACK``, JSON-safe rows), query log off: what headrace adds before the protocol.
- MCP over stdio: ``headrace mcp --to URL`` started by ``mcp.client.stdio.stdio_client``;
  one ``ClientSession``, ``call_tool("run_query", {"sql", "params"})`` sequentially,
  ``--queries`` timed calls after the warm-up, each timed around the ``await`` on the
  client (JSON-RPC framing, the SDK on both sides, the SQL guard, a pooled session,
  ``BEGIN READ ONLY`` ... ``ROLLBACK`` and JSON encoding all count). On PostgreSQL it runs
  twice: at the defaults (the query log writes a row per query) and with
  ``--no-query-log``. DuckDB never logs (its file is opened read-only).
- MCP over HTTP: ``headrace mcp --transport http --token T`` on 127.0.0.1; one client
  (``streamable_http_client`` with ``Authorization: Bearer T``), the same sequential calls.
- Overhead: p50 of each MCP path minus p50 of direct, per engine. Target: < 2 ms.
- Load: the same HTTP server, ``--clients`` asyncio tasks, each with its own HTTP client
  and ``ClientSession``; all initialise first, then start together and send
  ``--per-client`` queries each, back to back. Every call that raises, returns an error
  or does not return exactly 10 rows counts as an error. queries/s is all calls divided by
  the time from the start signal to the last answer. On PostgreSQL a thread samples
  ``pg_stat_activity`` (``application_name = 'headrace'``) every 20 ms for the server's
  peak open sessions, and the query log's row count is compared before and after.
  CPU seconds of the server process (and per query) and of this (client) process are
  reported: server, clients and database share the same cores, and the server is one
  Python process, so its CPU per query bounds its queries/s.
- The share of CPU busy with other work is sampled from ``/proc/stat`` before and after.

Targets: p50 extra < 2 ms (stdio, default flags); under load zero errors. Nothing is
asserted; a section that cannot run reports ``error``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# This file is benchmarks/mcp.py, and Python puts its folder first on the import path:
# drop it, so that ``import mcp`` finds the SDK rather than this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE]
# The shared helpers, loaded by path (the folder is no longer importable).
_spec = importlib.util.spec_from_file_location("headrace_bench_shared", _HERE / "_shared.py")
assert _spec is not None and _spec.loader is not None
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

REPO_ROOT = _HERE.parent
TOKEN = "bench-token-0123456789abcdef"
TABLE_ROWS = 1000
RESULT_ROWS = 10
OVERHEAD_TARGET_MS = 2.0
BUSY_WARNING = 0.15
SAMPLE_EVERY_S = 0.02

QUERY = (
    "SELECT id, customer_id, status, amount, created_at FROM bench.orders"
    " WHERE id BETWEEN {p} AND {p} ORDER BY id"
)

SETUP_SQL = [
    "CREATE SCHEMA bench",
    "CREATE TABLE bench.orders (id integer PRIMARY KEY, customer_id integer NOT NULL,"
    " status text NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamp NOT NULL)",
]
# generate_series exists in both engines (DuckDB returns a list column from the scalar
# form, so the table function is spelled with FROM).
FILL_SQL = {
    "duckdb": (
        "INSERT INTO bench.orders SELECT g, g % 97, CASE WHEN g % 3 = 0 THEN 'shipped'"
        " ELSE 'open' END, (g * 7 % 1000) / 10.0, TIMESTAMP '2024-01-01' + g * INTERVAL 1 HOUR"
        f" FROM generate_series(1, {TABLE_ROWS}) AS t(g)"
    ),
    "postgres": (
        "INSERT INTO bench.orders SELECT g, g % 97, CASE WHEN g % 3 = 0 THEN 'shipped'"
        " ELSE 'open' END, (g * 7 % 1000) / 10.0, TIMESTAMP '2024-01-01' + g * INTERVAL '1 hour'"
        f" FROM generate_series(1, {TABLE_ROWS}) AS g"
    ),
}


def log(message: str) -> None:
    """Progress to stderr, so stdout stays one JSON line."""
    print(f"[mcp-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def headrace_command() -> list[str]:
    """The installed ``headrace`` script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("headrace")
    if script.exists():
        return [str(script)]
    found = shutil.which("headrace")
    return [found] if found else [sys.executable, "-m", "headrace"]


def query_for(dialect: str) -> str:
    """The benchmark query with the dialect's placeholder."""
    return QUERY.format(p="%s" if dialect == "postgres" else "?")


def key_range(i: int) -> list[int]:
    """A 10-row key range that moves on every call."""
    lo = 1 + (i * 37) % (TABLE_ROWS - RESULT_ROWS)
    return [lo, lo + RESULT_ROWS - 1]


def summary(ms: list[float]) -> dict[str, Any]:
    """p50, p95, mean, min and max of latencies in milliseconds."""
    if not ms:
        return {"n": 0}
    ordered = sorted(ms)

    def pct(q: float) -> float:
        # nearest rank
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": round(pct(0.50), 3),
        "p95_ms": round(pct(0.95), 3),
        "p99_ms": round(pct(0.99), 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "min_ms": round(ordered[0], 3),
        "max_ms": round(ordered[-1], 3),
    }


# -- data -----------------------------------------------------------------------------------


def make_duckdb(path: Path) -> str:
    """A fresh DuckDB file with bench.orders; its URL."""
    import duckdb

    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        for sql in SETUP_SQL:
            con.execute(sql)
        con.execute(FILL_SQL["duckdb"])
        con.execute("CHECKPOINT")
    return f"duckdb:///{path}"


class Postgres:
    """A throwaway cluster with one database holding bench.orders."""

    def __init__(self, base: Path) -> None:
        import psycopg

        sys.path.insert(0, str(REPO_ROOT))
        from tests.pg_cluster import find_bin_dir, start_cluster

        bin_dir = find_bin_dir() or Path("/usr/lib/postgresql/15/bin")
        self.cluster = start_cluster(base, bin_dir)
        self.admin = psycopg.connect(self.cluster.admin_url, autocommit=True)
        self.version = str(self.admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        self.admin.execute("CREATE DATABASE mcpbench")
        self.url = self.cluster.url("mcpbench")
        with psycopg.connect(self.url, autocommit=True) as con:
            for sql in SETUP_SQL:
                con.execute(sql)
            con.execute(FILL_SQL["postgres"])
            con.execute("VACUUM ANALYZE bench.orders")

    def sessions(self) -> tuple[int, int]:
        """(open headrace sessions, of which query-log writers) in the bench database."""
        row = self.admin.execute(
            # The pool's read-only sessions end every call with ROLLBACK; the query log's
            # writer connections end theirs with the INSERT's COMMIT.
            "SELECT count(*), count(*) FILTER (WHERE query = 'COMMIT'"
            " OR query ILIKE 'INSERT INTO%query_log%')"
            " FROM pg_stat_activity WHERE application_name = 'headrace'"
            " AND datname = 'mcpbench'"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def query_log_rows(self) -> int | None:
        """Rows in _headrace.query_log (None if there is no log yet)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            try:
                return int(con.execute("SELECT count(*) FROM _headrace.query_log").fetchone()[0])  # type: ignore[index]
            except psycopg.errors.UndefinedTable:
                return None

    def close(self) -> None:
        """Close the admin connection and stop the cluster."""
        try:
            self.admin.close()
        finally:
            self.cluster.stop()


class SessionSampler(threading.Thread):
    """Polls the server's open PostgreSQL sessions until stopped; keeps the peaks."""

    def __init__(self, pg: Postgres) -> None:
        super().__init__(daemon=True)
        self.pg = pg
        self.stop_event = threading.Event()
        self.peak = 0
        self.peak_writers = 0
        self.samples = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                total, writers = self.pg.sessions()
            except Exception:  # noqa: BLE001 - a missed sample is not worth a crash
                total, writers = 0, 0
            self.peak = max(self.peak, total)
            self.peak_writers = max(self.peak_writers, writers)
            self.samples += 1
            self.stop_event.wait(SAMPLE_EVERY_S)

    def finish(self) -> dict[str, Any]:
        self.stop_event.set()
        self.join(timeout=5)
        return {
            "peak_sessions": self.peak,
            "peak_query_log_writer_sessions": self.peak_writers,
            "samples": self.samples,
        }


# -- direct ---------------------------------------------------------------------------------


def direct(dialect: str, url: str, path: Path | None, n: int, warmup: int) -> dict[str, Any]:
    """The query through the driver itself, one connection, sequential."""
    sql = query_for(dialect)
    if dialect == "duckdb":
        import duckdb

        assert path is not None
        con: Any = duckdb.connect(str(path), read_only=True)
    else:
        import psycopg

        con = psycopg.connect(url, autocommit=True)
    times: list[float] = []
    wrong = 0
    try:
        for i in range(warmup + n):
            params = key_range(i)
            started = time.perf_counter()
            rows = con.execute(sql, params).fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            if len(rows) != RESULT_ROWS:
                wrong += 1
            if i >= warmup:
                times.append(elapsed)
    finally:
        con.close()
    return {**summary(times), "wrong_results": wrong}


def in_process(dialect: str, url: str, workdir: Path, n: int, warmup: int) -> dict[str, Any]:
    """headrace's own layer without MCP: the SQL guard alone, and ``Toolbox.run_query``
    (guard, pooled session, BEGIN READ ONLY ... ROLLBACK, JSON-safe rows), query log off."""
    from headrace.mcp.server import build_server
    from headrace.mcp.sql_guard import guard_sql
    from headrace.mcp.tools import ServerOptions
    from headrace.project import Project

    sql = query_for(dialect)
    guard: list[float] = []
    for i in range(warmup + n):
        started = time.perf_counter()
        guard_sql(sql, dialect)
        if i >= warmup:
            guard.append((time.perf_counter() - started) * 1000)
    # MCPServer() configures the root logger (INFO, to stderr); keep this process quiet, or
    # the MCP client's per-request INFO lines would be timed along with the calls below.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        _, box = build_server(Project.discover(workdir), ServerOptions(url, query_log=False))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    calls: list[float] = []
    wrong = 0
    try:
        for i in range(warmup + n):
            started = time.perf_counter()
            result = box.run_query(sql, key_range(i))
            elapsed = (time.perf_counter() - started) * 1000
            if result["row_count"] != RESULT_ROWS:
                wrong += 1
            if i >= warmup:
                calls.append(elapsed)
    finally:
        box.pool.close()
    return {
        "guard_sql": summary(guard),
        "toolbox_run_query": {**summary(calls), "wrong_results": wrong},
    }


# -- MCP clients ----------------------------------------------------------------------------


def check_result(result: Any) -> str | None:
    """None if a run_query result holds the 10 expected rows, else what was wrong."""
    text = result.content[0].text if result.content else ""
    if result.is_error:
        return f"tool error: {text[:200]}"
    try:
        count = json.loads(text)["row_count"]
    except (ValueError, KeyError, TypeError):
        return f"unreadable result: {text[:200]}"
    return None if count == RESULT_ROWS else f"{count} rows instead of {RESULT_ROWS}"


async def timed_calls(session: Any, sql: str, n: int, warmup: int) -> dict[str, Any]:
    """``warmup`` untimed then ``n`` timed run_query calls, one after another."""
    times: list[float] = []
    errors: list[str] = []
    for i in range(warmup + n):
        started = time.perf_counter()
        try:
            result = await session.call_tool("run_query", {"sql": sql, "params": key_range(i)})
            problem = check_result(result)
        except Exception as exc:  # noqa: BLE001 - counted, not raised
            problem = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        if problem:
            errors.append(problem)
        if i >= warmup:
            times.append(elapsed)
    return {**summary(times), "errors": len(errors), "first_errors": errors[:3]}


def stdio_bench(
    dialect: str, url: str, workdir: Path, extra: list[str], n: int, warmup: int
) -> dict[str, Any]:
    """One stdio client, sequential calls."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    command = headrace_command()
    params = StdioServerParameters(
        command=command[0],
        args=[*command[1:], "mcp", "--to", url, *extra],
        cwd=str(workdir),
        env=dict(os.environ),
    )
    errlog_path = workdir / f"stdio-{dialect}-{len(extra)}.log"

    async def main() -> dict[str, Any]:
        with errlog_path.open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                started = time.perf_counter()
                await session.initialize()
                init_ms = (time.perf_counter() - started) * 1000
                result = await timed_calls(session, query_for(dialect), n, warmup)
                return {**result, "initialize_ms": round(init_ms, 1)}

    try:
        return anyio.run(main)
    except Exception as exc:
        tail = errlog_path.read_text()[-1500:] if errlog_path.exists() else ""
        raise RuntimeError(f"{type(exc).__name__}: {exc}; server stderr: {tail}") from exc


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """``headrace mcp --transport http`` in a child process."""

    def __init__(self, url: str, workdir: Path, extra: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.errlog_path = workdir / f"http-{self.port}.log"
        self.errlog = self.errlog_path.open("w")
        self.process = subprocess.Popen(
            [
                *headrace_command(),
                "mcp",
                "--to",
                url,
                "--transport",
                "http",
                "--port",
                str(self.port),
                "--token",
                TOKEN,
                *extra,
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self.errlog,
            stderr=self.errlog,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.errlog_path.read_text()[-1500:]}")
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("the HTTP server did not listen within 60 s")
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process so far."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.errlog.close()


def http_session(url: str) -> Any:
    """(http client, transport) for one MCP client with the bearer token."""
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"})
    return http, streamable_http_client(url, http_client=http)


def http_sequential(dialect: str, server: HttpServer, n: int, warmup: int) -> dict[str, Any]:
    """One HTTP client, sequential calls."""
    import anyio
    from mcp import ClientSession

    async def main() -> dict[str, Any]:
        http, transport = http_session(server.url)
        async with http, transport as streams, ClientSession(streams[0], streams[1]) as session:
            started = time.perf_counter()
            await session.initialize()
            init_ms = (time.perf_counter() - started) * 1000
            result = await timed_calls(session, query_for(dialect), n, warmup)
            return {**result, "initialize_ms": round(init_ms, 1)}

    return anyio.run(main)


def http_load(
    dialect: str,
    server: HttpServer,
    clients: int,
    per_client: int,
    pg: Postgres | None,
    timeout_s: float,
) -> dict[str, Any]:
    """``clients`` concurrent sessions, ``per_client`` queries each, started together."""
    import anyio
    from mcp import ClientSession

    sql = query_for(dialect)
    latencies: list[float] = []
    errors: list[str] = []
    finished: list[float] = []
    init_ms: list[float] = []
    ready = anyio.Event()
    go = anyio.Event()
    state = {"ready": 0, "sessions_failed": 0}

    def mark_ready() -> None:
        state["ready"] += 1
        if state["ready"] == clients:
            ready.set()

    async def client(k: int) -> None:
        counted = False
        try:
            http, transport = http_session(server.url)
            async with (
                http,
                transport as streams,
                ClientSession(streams[0], streams[1]) as session,
            ):
                started = time.perf_counter()
                await session.initialize()
                init_ms.append((time.perf_counter() - started) * 1000)
                counted = True
                mark_ready()
                await go.wait()
                for i in range(per_client):
                    started = time.perf_counter()
                    try:
                        result = await session.call_tool(
                            "run_query", {"sql": sql, "params": key_range(k * per_client + i)}
                        )
                        problem = check_result(result)
                    except Exception as exc:  # noqa: BLE001 - counted, not raised
                        problem = f"{type(exc).__name__}: {exc}"
                    latencies.append((time.perf_counter() - started) * 1000)
                    if problem:
                        errors.append(problem)
                finished.append(time.perf_counter())
        except Exception as exc:  # noqa: BLE001 - a client that could not even start
            state["sessions_failed"] += 1
            errors.append(f"session: {type(exc).__name__}: {exc}")
        finally:
            if not counted:
                mark_ready()

    measured: dict[str, Any] = {}

    async def main() -> None:
        with anyio.fail_after(timeout_s):
            async with anyio.create_task_group() as group:
                for k in range(clients):
                    group.start_soon(client, k)
                await ready.wait()
                sampler = SessionSampler(pg) if pg is not None else None
                log_before = pg.query_log_rows() if pg is not None else None
                if sampler is not None:
                    sampler.start()
                measured["server_cpu_before"] = server.cpu_seconds()
                measured["client_cpu_before"] = client_cpu()
                measured["start"] = time.perf_counter()
                go.set()
            measured["server_cpu_after"] = server.cpu_seconds()
            measured["client_cpu_after"] = client_cpu()
            if sampler is not None:
                measured["sessions"] = sampler.finish()
            if pg is not None:
                measured["log"] = (log_before, pg.query_log_rows())

    main_error: str | None = None
    try:
        anyio.run(main)
    except Exception as exc:  # noqa: BLE001 - report what was measured so far
        main_error = f"{type(exc).__name__}: {exc}"
    total = clients * per_client
    wall = (max(finished) - measured["start"]) if finished and "start" in measured else None
    result: dict[str, Any] = {
        "clients": clients,
        "per_client": per_client,
        "queries_sent": len(latencies),
        "errors": len(errors) + (total - len(latencies) if main_error else 0),
        "sessions_failed": state["sessions_failed"],
        "first_errors": errors[:5],
        "latency": summary(latencies),
        "wall_seconds": round(wall, 3) if wall else None,
        "queries_per_s": round(len(latencies) / wall, 1) if wall else None,
        "initialize": summary(init_ms),
    }
    if main_error:
        result["error"] = main_error
    server_before = measured.get("server_cpu_before")
    server_after = measured.get("server_cpu_after")
    if server_before is not None and server_after is not None:
        result["server_cpu_seconds"] = round(server_after - server_before, 2)
        if latencies:
            # one Python process: its CPU per query bounds the throughput (1 core / this)
            result["server_cpu_ms_per_query"] = round(
                (server_after - server_before) * 1000 / len(latencies), 2
            )
    if "client_cpu_after" in measured:
        result["client_cpu_seconds"] = round(
            measured["client_cpu_after"] - measured["client_cpu_before"], 2
        )
    if "sessions" in measured:
        result.update(measured["sessions"])
    if "log" in measured:
        before, after = measured["log"]
        result["query_log_rows_added"] = (after or 0) - (before or 0)
    result["meets_target"] = result["errors"] == 0 and not main_error
    return result


def client_cpu() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- one engine -----------------------------------------------------------------------------


def bench_engine(
    dialect: str, args: argparse.Namespace, workdir: Path, notes: list[str]
) -> dict[str, Any]:
    """Direct, stdio, HTTP and load on one engine."""
    pg: Postgres | None = None
    base: Path | None = None
    result: dict[str, Any] = {}
    try:
        if dialect == "duckdb":
            # not bench.duckdb: a catalog named like the schema makes "bench.orders" ambiguous
            path: Path | None = workdir / "mcpbench.duckdb"
            assert path is not None
            url = make_duckdb(path)
            import duckdb

            result["engine_version"] = duckdb.__version__
        else:
            path = None
            base = Path(tempfile.mkdtemp(prefix="headrace-pg-"))
            log(f"starting a throwaway PostgreSQL cluster in {base}")
            pg = Postgres(base)
            url = pg.url
            result["engine_version"] = pg.version
        n, warmup = args.queries, args.warmup

        log(f"{dialect}: direct driver, {n} queries")
        result["direct"] = direct(dialect, url, path, n, warmup)
        log(f"{dialect}: in-process guard and Toolbox.run_query, {n} queries")
        result["in_process"] = guarded(
            f"{dialect} in-process", notes, lambda: in_process(dialect, url, workdir, n, warmup)
        )
        stdio_runs: list[tuple[str, list[str]]] = [("stdio", [])]
        if dialect == "postgres":
            stdio_runs.append(("stdio_no_query_log", ["--no-query-log"]))
        for name, extra in stdio_runs:
            log(f"{dialect}: {name}, {n} queries")
            result[name] = guarded(
                f"{dialect} {name}",
                notes,
                lambda extra=extra: stdio_bench(dialect, url, workdir, extra, n, warmup),
            )
        log(f"{dialect}: starting the HTTP server")
        server = HttpServer(url, workdir)
        try:
            log(f"{dialect}: http, one client, {n} queries")
            result["http"] = guarded(
                f"{dialect} http", notes, lambda: http_sequential(dialect, server, n, warmup)
            )
            log(f"{dialect}: load, {args.clients} clients x {args.per_client} queries")
            result["load"] = guarded(
                f"{dialect} load",
                notes,
                lambda: http_load(
                    dialect, server, args.clients, args.per_client, pg, args.load_timeout
                ),
            )
        finally:
            server.stop()
        direct_p50 = result["direct"].get("p50_ms")
        extra_ms: dict[str, Any] = {}
        for name in ("stdio", "stdio_no_query_log", "http"):
            p50 = (result.get(name) or {}).get("p50_ms")
            if p50 is not None and direct_p50 is not None:
                extra_ms[name] = round(p50 - direct_p50, 3)
        result["p50_extra_ms"] = extra_ms
        result["target_p50_extra_ms"] = OVERHEAD_TARGET_MS
        result["meets_target"] = (
            extra_ms.get("stdio") is not None and extra_ms["stdio"] < OVERHEAD_TARGET_MS
        )
        if dialect == "duckdb":
            result["query_log"] = "off (a read-only DuckDB file cannot take the log's writes)"
        return result
    finally:
        if pg is not None:
            log("stopping the PostgreSQL cluster")
            pg.close()
        if base is not None and not args.keep:
            shutil.rmtree(base, ignore_errors=True)


# -- report ---------------------------------------------------------------------------------


def guarded(what: str, notes: list[str], step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    return _shared.guarded(what, notes, step, log)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the engines, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--engines", default="duckdb,postgres", help="comma-separated: duckdb, postgres"
    )
    parser.add_argument("--queries", type=int, default=500, help="timed sequential queries")
    parser.add_argument("--warmup", type=int, default=50, help="untimed queries first")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--per-client", type=int, default=100, help="queries per client")
    parser.add_argument(
        "--load-timeout", type=float, default=300.0, help="seconds for the whole load phase"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the files and the cluster dir")
    args = parser.parse_args(argv)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"duckdb", "postgres"}
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    workdir: Path = (args.workdir or Path(tempfile.mkdtemp(prefix="headrace-mcp-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    notes = [
        "latency is timed on the client around each awaited call; client, server and"
        " database share the machine's cores",
        "direct uses one autocommit connection (PostgreSQL) or a read-only connection"
        " (DuckDB); MCP adds BEGIN READ ONLY ... ROLLBACK, the SQL guard, JSON-RPC and"
        " JSON encoding",
        "the PostgreSQL cluster runs with fsync=off and synchronous_commit=off: the query"
        " log's commit is cheaper here than on a durable server",
    ]
    busy_before = _shared.cpu_busy()
    sections: dict[str, Any] = {}
    for dialect in ("duckdb", "postgres"):
        if dialect in engines:
            sections[dialect] = guarded(
                dialect, notes, lambda d=dialect: bench_engine(d, args, workdir, notes)
            )
        else:
            sections[dialect] = {"skipped": True}
    busy_after = _shared.cpu_busy()
    busiest = max(x for x in (busy_before, busy_after, 0.0) if x is not None)
    if busiest > BUSY_WARNING:
        notes.append(
            f"other work was using {busiest:.0%} of the CPUs just before or after the run:"
            " figures are noisy; re-run on an idle machine"
        )
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "mcp",
                "table_rows": TABLE_ROWS,
                "result_rows": RESULT_ROWS,
                "queries": args.queries,
                "warmup": args.warmup,
                "clients": args.clients,
                "per_client": args.per_client,
                "cpu_count": os.cpu_count(),
                "machine": _shared.machine(("mcp", "duckdb", "psycopg")),
                "cpu_busy_outside_run": {"before": busy_before, "after": busy_after},
                **sections,
                "total_seconds": round(time.perf_counter() - started, 1),
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
