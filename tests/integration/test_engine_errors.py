"""classify_error against real failures: killed backends, timeouts, deadlocks, locks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from headrace.engines.duckdb import DuckDBAdapter
from headrace.engines.postgres import PostgresAdapter
from headrace.engines.registry import create_engine
from headrace.errors import (
    ConnectError,
    QueryTimeoutError,
    TerminalError,
    TransientError,
    UsageError,
)

# -- PostgreSQL ---------------------------------------------------------------------------


def pg(url: str, **kwargs: object) -> PostgresAdapter:
    engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
    assert isinstance(engine, PostgresAdapter)
    return engine


def test_pg_terminated_backend_is_transient_and_adapter_reconnects(pg_url: str) -> None:
    with pg(pg_url) as victim, pg(pg_url) as killer:
        pid = victim.backend_pid
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(TransientError) as info:
            victim.fetchall("SELECT 1")
        assert info.value.sqlstate in (None, "57P01") or "connection" in str(info.value)
        # The next call opens a new session instead of failing forever.
        assert victim.fetchall("SELECT 1") == [(1,)]
        assert victim.backend_pid != pid


def test_pg_statement_timeout_is_query_timeout(pg_url: str) -> None:
    with pg(pg_url, statement_timeout=0.2) as engine:
        with pytest.raises(QueryTimeoutError) as info:
            engine.fetchall("SELECT pg_sleep(5)")
        assert "0.2s" in str(info.value)
        assert engine.fetchall("SELECT 1") == [(1,)]


def test_pg_cancel_from_another_thread(pg_url: str) -> None:
    with pg(pg_url) as engine:
        engine.connect()
        timer = threading.Timer(0.2, engine.cancel)
        timer.start()
        with pytest.raises(TerminalError) as info:
            engine.fetchall("SELECT pg_sleep(5)")
        assert not isinstance(info.value, QueryTimeoutError)
        assert info.value.sqlstate == "57014"


def test_pg_deadlock_is_transient(pg_url: str) -> None:
    with pg(pg_url) as setup:
        setup.execute("CREATE TABLE acct (id int PRIMARY KEY, bal int)")
        setup.execute("INSERT INTO acct VALUES (1, 0), (2, 0)")
    first, second = pg(pg_url), pg(pg_url)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def transfer(engine: PostgresAdapter, a: int, b: int) -> None:
        try:
            with engine.transaction():
                engine.execute("UPDATE acct SET bal = bal + 1 WHERE id = %s", [a])
                barrier.wait(timeout=10)
                engine.execute("UPDATE acct SET bal = bal - 1 WHERE id = %s", [b])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [
        threading.Thread(target=transfer, args=(first, 1, 2)),
        threading.Thread(target=transfer, args=(second, 2, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    first.close()
    second.close()
    assert len(errors) == 1, errors
    assert isinstance(errors[0], TransientError)
    assert errors[0].sqlstate == "40P01"


def test_pg_lock_timeout_is_transient(pg_url: str) -> None:
    with pg(pg_url) as holder, pg(pg_url) as waiter:
        holder.execute("CREATE TABLE t (x int)")
        with holder.transaction():
            holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            waiter.execute("SET lock_timeout = '100ms'")
            with pytest.raises(TransientError) as info:
                waiter.fetchall("SELECT * FROM t")
            assert info.value.sqlstate == "55P03"


def test_pg_serialization_failure_is_transient(pg_url: str) -> None:
    with pg(pg_url) as a, pg(pg_url) as b:
        a.execute("CREATE TABLE c (id int PRIMARY KEY, n int)")
        a.execute("INSERT INTO c VALUES (1, 0)")
        with pytest.raises(TransientError) as info, a.transaction():
            a.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            a.fetchall("SELECT n FROM c WHERE id = 1")
            b.execute("UPDATE c SET n = n + 1 WHERE id = 1")
            a.execute("UPDATE c SET n = n + 10 WHERE id = 1")
        assert info.value.sqlstate == "40001"


def test_pg_too_many_connections_is_transient(pg_url: str) -> None:
    with pg(pg_url) as admin:
        admin.execute("CREATE ROLE limited LOGIN PASSWORD 'pw' CONNECTION LIMIT 1")
        admin.execute("GRANT ALL ON SCHEMA public TO limited")
    base = pg_url.split("@", 1)[1]
    url = f"postgresql://limited:pw@{base}"
    with pg(url) as first:
        first.connect()
        with pytest.raises(TransientError) as info:
            pg(url).connect()
        assert "too many" in str(info.value).lower()
    with pg(pg_url) as admin:
        admin.execute("REVOKE ALL ON SCHEMA public FROM limited")
        admin.execute("DROP ROLE limited")


def test_pg_permission_denied_is_terminal(pg_url: str) -> None:
    with pg(pg_url) as admin:
        admin.execute("CREATE TABLE secret (x int)")
        admin.execute("CREATE ROLE reader LOGIN PASSWORD 'pw'")
    base = pg_url.split("@", 1)[1]
    try:
        with pg(f"postgresql://reader:pw@{base}") as reader:
            with pytest.raises(TerminalError) as info:
                reader.fetchall("SELECT * FROM secret")
            assert info.value.sqlstate == "42501"
            assert info.value.hint and "grant" in info.value.hint
    finally:
        with pg(pg_url) as admin:
            admin.execute("DROP TABLE secret")
            admin.execute("DROP ROLE reader")


def test_pg_wrong_password_is_clear_and_secret_free(pg_url: str) -> None:
    user_host = pg_url.split("@", 1)[1]
    with pytest.raises(ConnectError) as info:
        pg(f"postgresql://postgres:Wr0ngSecret@{user_host}").connect()
    text = str(info.value)
    assert "password authentication failed" in text
    assert "Wr0ngSecret" not in text
    assert "\n" not in text


def test_pg_unreachable_host_is_connect_error() -> None:
    from tests.pg_cluster import free_port

    port = free_port()
    with pytest.raises(ConnectError) as info:
        pg(f"postgresql://u:pw@127.0.0.1:{port}/db").connect()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "running" in str(info.value)


def test_pg_missing_database_hint(pg_url: str) -> None:
    base = pg_url.rsplit("/", 1)[0]
    with pytest.raises(ConnectError) as info:
        pg(f"{base}/no_such_db").connect()
    assert "createdb no_such_db" in str(info.value)


# -- DuckDB -------------------------------------------------------------------------------


def test_duckdb_statement_timeout_interrupts(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with create_engine(url, statement_timeout=0.2) as engine:
        started = time.perf_counter()
        with pytest.raises(QueryTimeoutError):
            engine.fetchall("SELECT count(*) FROM range(10000000000) a")
        assert time.perf_counter() - started < 30
        assert engine.fetchall("SELECT 1") == [(1,)]


def test_duckdb_write_conflict_is_transient(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with create_engine(url) as a:
        a.execute("CREATE TABLE t (id int PRIMARY KEY, n int)")
        a.execute("INSERT INTO t VALUES (1, 0)")
        b = create_engine(url)
        with pytest.raises(TransientError), a.transaction():
            a.execute("UPDATE t SET n = 1 WHERE id = 1")
            with b.transaction():
                b.execute("UPDATE t SET n = 2 WHERE id = 1")
        b.close()


def test_duckdb_file_locked_by_other_process_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys,time; c=duckdb.connect({str(path)!r}); print('ready', flush=True);"
            " sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(TransientError) as info:
            create_engine(f"duckdb:///{path}").connect()
        assert "locked" in str(info.value)
    finally:
        holder.communicate("\n", timeout=30)


def test_duckdb_missing_directory_is_connect_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectError) as info:
        create_engine(f"duckdb:///{tmp_path}/nope/w.duckdb").connect()
    assert "mkdir -p" in str(info.value)


def test_duckdb_read_only_blocks_file_access(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with create_engine(url) as writer:
        writer.execute("CREATE TABLE t AS SELECT 1 AS x")
    (tmp_path / "data.csv").write_text("a\n1\n")
    with create_engine(url, read_only=True) as reader:
        for sql in [
            f"SELECT * FROM read_csv('{tmp_path / 'data.csv'}')",
            f"COPY t TO '{tmp_path / 'out.csv'}'",
            "SET enable_external_access = true",
            f"ATTACH '{tmp_path / 'other.duckdb'}'",
        ]:
            with pytest.raises(TerminalError):
                reader.execute(sql)
    assert not (tmp_path / "out.csv").exists()


def test_duckdb_read_only_memory_is_usage_error() -> None:
    with pytest.raises(UsageError):
        create_engine("duckdb:///:memory:", read_only=True).connect()


def test_duckdb_is_the_registry_default_for_its_scheme() -> None:
    assert isinstance(create_engine("duckdb:///:memory:"), DuckDBAdapter)
