"""Workload capture against real databases: pg_stat_statements with parameters filled from
sampled values, the missing-extension error, and the query log round trip."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import psycopg
import pytest

from headrace.advisor.querylog import log_query
from headrace.advisor.workload import capture_pg_stat_statements, capture_querylog
from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import UsageError


@pytest.fixture
def pg(pg_url: str) -> Iterator[EngineAdapter]:
    """A PostgreSQL database with a small orders/customer schema."""
    engine = create_engine(pg_url)
    engine.execute(
        "CREATE TABLE customer (c_custkey INT PRIMARY KEY, c_name TEXT, c_mktsegment TEXT)"
    )
    engine.execute(
        "CREATE TABLE orders (o_orderkey INT PRIMARY KEY, o_custkey INT, o_orderstatus CHAR(1),"
        " o_orderdate DATE, o_totalprice NUMERIC(12, 2))"
    )
    engine.execute(
        "INSERT INTO customer SELECT g, 'Customer#' || g,"
        " (ARRAY['AUTOMOBILE', 'BUILDING', 'MACHINERY'])[1 + g % 3]"
        " FROM generate_series(1, 200) g"
    )
    engine.execute(
        "INSERT INTO orders SELECT g, 1 + g % 200, (ARRAY['O', 'F', 'P'])[1 + g % 3],"
        " DATE '1995-01-01' + (g % 700), g * 1.5 FROM generate_series(1, 5000) g"
    )
    try:
        yield engine
    finally:
        engine.close()


def _run_app_queries(url: str) -> None:
    """What an application does: bound parameters, so the server sees $1, $2, ..."""
    with psycopg.connect(url, autocommit=True) as conn:
        for custkey in (5, 17, 42):
            conn.execute(
                "SELECT o_orderkey, o_totalprice FROM orders"
                " WHERE o_custkey = %s AND o_orderdate BETWEEN %s AND %s",
                (custkey, dt.date(1995, 1, 1), dt.date(1995, 6, 30)),
            ).fetchall()
        conn.execute(
            "SELECT c_name FROM customer WHERE c_custkey IN (%s,%s,%s)", (1, 2, 3)
        ).fetchall()
        conn.execute(
            "SELECT o_orderkey FROM orders WHERE o_orderstatus = %s"
            " ORDER BY o_orderdate DESC LIMIT %s",
            ("F", 10),
        ).fetchall()
        conn.execute(
            "SELECT c.c_name, o.o_totalprice FROM orders o JOIN customer c"
            " ON c.c_custkey = o.o_custkey WHERE c.c_mktsegment = 'BUILDING'"
            " AND o.o_orderdate >= %s",
            (dt.date(1996, 1, 1),),
        ).fetchall()
        # Not workload: a write, a catalog query, and one whose parameter has no column.
        conn.execute("UPDATE orders SET o_totalprice = o_totalprice WHERE o_orderkey = %s", (1,))
        conn.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ("orders",)).fetchall()
        conn.execute(
            "SELECT date_trunc(%s, o_orderdate) AS d, count(*) FROM orders GROUP BY 1",
            ("month",),
        ).fetchall()


def test_pg_stat_statements_fills_parameters_with_real_values(
    pg: EngineAdapter, pg_url: str
) -> None:
    pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    pg.fetchall("SELECT pg_stat_statements_reset()")
    _run_app_queries(pg_url)

    workload = capture_pg_stat_statements(pg)
    # The advisor's own sampling queries are now in pg_stat_statements too: not workload.
    again = capture_pg_stat_statements(pg)
    assert [q.position for q in again.queries] == [q.position for q in workload.queries]

    assert workload.source == "pg_stat_statements"
    texts = {q.sql: q for q in workload.queries}
    assert len(workload.queries) == 4, (list(texts), workload.skipped)
    for query in workload.queries:
        assert "$" not in query.sql
        assert query.position.startswith("pg_stat_statements queryid=")
        assert query.weight > 0
        pg.fetchall(query.sql)  # filled queries run

    by_table = {
        "custkey_range": next(q for q in texts if "BETWEEN" in q),
        "in_list": next(q for q in texts if " IN (" in q),
        "top_n": next(q for q in texts if "LIMIT" in q),
        "join": next(q for q in texts if "JOIN" in q),
    }
    # Values come from the table: the customer exists and the range finds its orders.
    custkey = int(re.search(r"o_custkey = (\d+)", by_table["custkey_range"]).group(1))  # type: ignore[union-attr]
    assert 1 <= custkey <= 200
    assert "CAST('" in by_table["custkey_range"] and "AS DATE)" in by_table["custkey_range"]
    low, high = re.findall(r"CAST\('([0-9-]+)' AS DATE\)", by_table["custkey_range"])
    assert low <= high
    assert "LIMIT 10" in by_table["top_n"]
    assert re.search(r"o_orderstatus = '[OFP]'", by_table["top_n"])
    assert re.search(r"c_mktsegment = '[A-Z]+'", by_table["join"])
    assert pg.fetchall(by_table["in_list"])

    skipped = {s.reason for s in workload.skipped}
    assert any(r.startswith("cannot fill parameter $1") for r in skipped), skipped
    assert all("pg_class" not in q and "UPDATE" not in q.upper() for q in texts)


def test_pg_stat_statements_limit_and_min_calls(pg: EngineAdapter, pg_url: str) -> None:
    pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    pg.fetchall("SELECT pg_stat_statements_reset()")
    _run_app_queries(pg_url)

    assert len(capture_pg_stat_statements(pg, limit=1).queries) == 1
    frequent = capture_pg_stat_statements(pg, min_calls=3)
    assert [q.sql.count("BETWEEN") for q in frequent.queries] == [1]


def test_pg_stat_statements_missing_extension_is_a_usage_error(pg_url: str) -> None:
    with create_engine(pg_url) as engine:
        with pytest.raises(UsageError) as info:
            capture_pg_stat_statements(engine)
    assert "pg_stat_statements" in str(info.value)
    assert "shared_preload_libraries = 'pg_stat_statements'" in str(info.value)
    assert "CREATE EXTENSION pg_stat_statements" in str(info.value)


def test_pg_stat_statements_needs_postgres(duckdb_url: str) -> None:
    with create_engine(duckdb_url) as engine, pytest.raises(UsageError):
        capture_pg_stat_statements(engine)


@pytest.mark.parametrize("engine_kind", ["postgres", "duckdb"])
def test_querylog_round_trip_groups_by_shape(
    engine_kind: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url" if engine_kind == "postgres" else "duckdb_url")
    with create_engine(url) as engine:
        engine.execute("CREATE TABLE orders (o_orderkey INT, o_custkey INT)")
        engine.execute("INSERT INTO orders VALUES (1, 10), (2, 20), (3, 10)")
        for custkey, ms in ((10, 4.0), (20, 6.0), (30, 8.0)):
            log_query(engine, "mcp", f"SELECT * FROM orders WHERE o_custkey = {custkey}", ms, 2)
        log_query(engine, "dashboard", "SELECT count(*) FROM orders", 100.0, 1)
        log_query(engine, "mcp", "SELECT * FROM orders WHERE o_custkey IN (1, 2)", 1.0, 0)
        log_query(engine, "mcp", "SELECT * FROM orders WHERE o_custkey IN (3, 4, 5)", 1.0, 0)
        log_query(engine, "mcp", "SELECT * FROM missing", 1.0, None, error="no such table")
        log_query(engine, "mcp", "DELETE FROM orders", 1.0, 3)
        log_query(engine, "mcp", "SELECT * FROM information_schema.tables", 9000.0, 40)
        # Inside the caller's transaction the log line goes through its own connection,
        # so the caller's rollback does not take it away.
        if engine_kind == "postgres":
            with pytest.raises(RuntimeError), engine.transaction():
                log_query(engine, "mcp", "SELECT * FROM orders WHERE o_custkey = 99", 2.0, 0)
                raise RuntimeError("caller fails")

        workload = capture_querylog(engine)

    assert workload.source == "querylog"
    assert [q.sql for q in workload.queries][0] == "SELECT count(*) FROM orders"
    assert workload.queries[0].weight == pytest.approx(100.0)
    lookups = [q for q in workload.queries if "o_custkey =" in q.sql]
    assert len(lookups) == 1
    runs = 4 if engine_kind == "postgres" else 3
    mean = (4.0 + 6.0 + 8.0 + (2.0 if runs == 4 else 0.0)) / runs
    assert lookups[0].weight == pytest.approx(runs * mean)
    assert lookups[0].sql.startswith("SELECT * FROM orders WHERE o_custkey = ")
    in_lists = [q for q in workload.queries if " IN (" in q.sql]
    assert len(in_lists) == 1 and in_lists[0].weight == pytest.approx(2.0)
    assert len(workload.queries) == 3
    assert all(q.position.startswith("querylog ") for q in workload.queries)


def test_querylog_window_and_limit(duckdb_url: str) -> None:
    with create_engine(duckdb_url) as engine:
        engine.execute("CREATE TABLE t (a INT)")
        log_query(engine, "mcp", "SELECT a FROM t WHERE a = 1", 1.0, 1)
        log_query(engine, "mcp", "SELECT count(*) FROM t", 5.0, 1)
        assert len(capture_querylog(engine, limit=1).queries) == 1
        assert capture_querylog(engine, since_seconds=-60).queries == []


def test_querylog_empty_without_log_table(duckdb_url: str) -> None:
    with create_engine(duckdb_url) as engine:
        assert capture_querylog(engine).queries == []


def test_log_query_never_raises() -> None:
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/nowhere")
    log_query(unreachable, "mcp", "SELECT 1", 1.0, 1)  # swallowed, only a debug log
    read_only = create_engine("duckdb:///:memory:", read_only=True)
    log_query(read_only, "mcp", "SELECT 1", 1.0, 1)
