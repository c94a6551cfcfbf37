"""headrace advise / bench on real PostgreSQL (HypoPG and the build-and-rollback fallback)
and DuckDB: recommendations, verification by measurement, apply, rights, bad statements.
No assertion on wall time: plans, index scans and catalog state are what is checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.advisor.advise import AdviseOptions, advise
from headrace.engines.registry import create_engine
from headrace.errors import UsageError

HEADRACE = [sys.executable, "-m", "headrace"]

WORKLOAD = """\
-- name: orders_of_customer
SELECT id, ordered_at, amount FROM shop.orders
WHERE customer_id = 42 AND ordered_at >= DATE '2025-03-01' ORDER BY ordered_at;

-- name: latest_orders
SELECT id, customer_id FROM shop.orders ORDER BY ordered_at DESC LIMIT 10;

-- name: customer_by_email
SELECT id, name FROM shop.customers WHERE email = 'c77@example.com';

-- name: wide_total
SELECT status, count(*), sum(amount) FROM shop.orders GROUP BY status;

-- a statement that is not a query, one that does not parse, an unknown table
DELETE FROM shop.orders WHERE id = 1;
SELECT FROM WHERE;
SELECT * FROM shop.nope WHERE id = 1;
"""


def seed(url: str) -> None:
    """Two tables with primary keys only: enough rows that indexes change plans."""
    with create_engine(url) as engine:
        engine.execute("CREATE SCHEMA IF NOT EXISTS shop")
        engine.execute(
            "CREATE TABLE shop.customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"
        )
        engine.execute(
            "CREATE TABLE shop.orders (id INTEGER PRIMARY KEY, customer_id INTEGER,"
            " status TEXT, ordered_at DATE, amount NUMERIC(12, 2))"
        )
        engine.execute(
            "INSERT INTO shop.customers SELECT g, 'name ' || g, 'c' || g || '@example.com'"
            " FROM generate_series(1, 20000) AS t(g)"
        )
        engine.execute(
            "INSERT INTO shop.orders SELECT g, g % 5000, (ARRAY['new', 'paid', 'sent'])[g % 3 + 1],"
            " DATE '2025-01-01' + CAST(g % 365 AS INTEGER), (g % 1000) / 10.0"
            " FROM generate_series(1, 200000) AS t(g)"
        )
        if engine.dialect == "postgres":
            engine.execute("VACUUM ANALYZE shop.orders")
            engine.execute("VACUUM ANALYZE shop.customers")


def index_names(url: str) -> set[str]:
    with create_engine(url) as engine:
        return {
            i.name
            for table in ("shop.orders", "shop.customers")
            for i in engine.indexes(table)
            if not i.primary
        }


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    path = tmp_path / "workload.sql"
    path.write_text(WORKLOAD)
    return path


def test_postgres_recommends_verifies_and_drops_again(pg_url: str, workload: Path) -> None:
    seed(pg_url)
    with create_engine(pg_url) as engine:
        report = advise(engine, AdviseOptions(str(workload), verify=True, repeat=3))
    data = report.to_json()
    assert data["method"] == "hypopg"
    by_query = {label for r in data["recommendations"] for label in r["queries_helped"]}
    assert {"orders_of_customer", "latest_orders", "customer_by_email"} <= by_query
    assert "wide_total" not in by_query
    tables = {(r["table"], tuple(r["columns"])) for r in data["recommendations"]}
    assert ("shop.orders", ("customer_id", "ordered_at")) in tables
    assert ("shop.customers", ("email",)) in tables
    # Measured: every recommended index was scanned, and every helped query's plan uses one.
    assert data["unused_recommendations"] == []
    assert all(r["scans"] and r["scans"] > 0 for r in data["recommendations"])
    assert data["index_utilization_pct"] == 100.0
    after = {q["label"]: q["after"] for q in data["queries"]}
    assert after["customer_by_email"]["uses_secondary_index"]
    assert not after["wide_total"]["uses_secondary_index"]
    assert {"p50_ms", "p95_ms", "max_ms"} <= set(data["before"]) and data["p95_reduction_pct"]
    # Bad statements are skipped and counted, never fatal.
    reasons = [s["reason"] for s in data["workload"]["skipped"]]
    assert len(reasons) == 3 and any("shop.nope" in r for r in reasons)
    assert index_names(pg_url) == set()  # without --apply the indexes are gone again


def test_postgres_apply_keeps_the_indexes(pg_url: str, workload: Path) -> None:
    seed(pg_url)
    with create_engine(pg_url) as engine:
        report = advise(engine, AdviseOptions(str(workload), apply=True, verify=True, repeat=2))
    assert report.applied
    assert index_names(pg_url) == {r.candidate.name() for r in report.recommendations}
    # Run again: what exists covers the workload, nothing more to recommend.
    with create_engine(pg_url) as engine:
        again = advise(engine, AdviseOptions(str(workload)))
    assert again.recommendations == []


def test_budget_limits_the_picks(pg_url: str, workload: Path) -> None:
    seed(pg_url)
    with create_engine(pg_url) as engine:
        everything = advise(engine, AdviseOptions(str(workload)))
        smallest = min(r.size_bytes for r in everything.recommendations)
        tight = advise(engine, AdviseOptions(str(workload), budget_mb=smallest / 1_048_576))
    assert len(tight.recommendations) == 1
    assert tight.recommendations[0].size_bytes <= smallest


def test_without_hypopg_candidates_are_built_and_rolled_back(
    pg_url: str, pg_admin_url: str, workload: Path
) -> None:
    """A role that may not create extensions gets the fallback, and the report says so."""
    seed(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    owner = f"shop_owner_{database}"  # roles are cluster-wide: one per test database
    with create_engine(pg_url) as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN PASSWORD 'pw'")
        admin.execute(f"ALTER SCHEMA shop OWNER TO {owner}")
        admin.execute(f"ALTER TABLE shop.orders OWNER TO {owner}")
        admin.execute(f"ALTER TABLE shop.customers OWNER TO {owner}")
    owner_url = f"postgresql://{owner}:pw@" + pg_url.split("@", 1)[1]
    assert database in owner_url
    with create_engine(owner_url) as engine:
        report = advise(engine, AdviseOptions(str(workload)))
    assert report.method == "build-and-rollback"
    assert any("HypoPG is not available" in n for n in report.notes)
    assert {"customer_by_email"} <= {q for r in report.recommendations for q in r.queries_helped}
    assert index_names(pg_url) == set()


def test_a_role_without_rights_is_stopped_before_anything_changes(
    pg_url: str, workload: Path
) -> None:
    seed(pg_url)
    reader = "reader_" + pg_url.rsplit("/", 1)[1]  # roles are cluster-wide
    with create_engine(pg_url) as admin:
        admin.execute(f"CREATE ROLE {reader} LOGIN PASSWORD 'pw'")
        admin.execute(f"GRANT USAGE ON SCHEMA shop TO {reader}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA shop TO {reader}")
    reader_url = f"postgresql://{reader}:pw@" + pg_url.split("@", 1)[1]
    with create_engine(reader_url) as engine, pytest.raises(UsageError) as info:
        advise(engine, AdviseOptions(str(workload), verify=True))
    assert f"role {reader} cannot create indexes on shop." in str(info.value)
    assert index_names(pg_url) == set()


def test_duckdb_keeps_only_what_measurably_helps(duckdb_url: str, workload: Path) -> None:
    seed(duckdb_url)
    with create_engine(duckdb_url) as engine:
        report = advise(engine, AdviseOptions(str(workload), verify=True, repeat=3))
    data = report.to_json()
    assert data["method"] == "measured-in-rolled-back-transaction"
    # Whatever was kept was measured faster for some query; the table is untouched.
    for rec in data["recommendations"]:
        assert rec["kind"] in ("sort_order", "index") and rec["queries_helped"]
    assert len(data["queries"]) == 4
    with create_engine(duckdb_url) as engine:
        assert engine.fetchall("SELECT count(*) FROM shop.orders") == [(200000,)]
        assert engine.primary_key("shop.orders") == ["id"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_advise_out_and_bench(pg_url: str, workload: Path, tmp_path: Path) -> None:
    seed(pg_url)
    out = tmp_path / "indexes.sql"
    result = _cli(
        "advise", "--to", pg_url, "--workload", str(workload), "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE INDEX CONCURRENTLY" in result.stdout and "skipped" in result.stdout
    script = out.read_text()
    assert script.count("CREATE INDEX CONCURRENTLY") >= 3 and script.count(";") >= 3
    bench = _cli(
        "bench",
        "--to",
        pg_url,
        "--workload",
        str(workload),
        "--repeat",
        "2",
        "--json",
        cwd=tmp_path,
    )
    assert bench.returncode == 0, bench.stderr
    payload = json.loads(bench.stdout)
    assert [q["label"] for q in payload["queries"]] == [
        "orders_of_customer",
        "latest_orders",
        "customer_by_email",
        "wide_total",
    ]
    assert all(q["runs"] == 2 for q in payload["queries"]) and len(payload["skipped"]) == 3
    missing = _cli("advise", "--to", pg_url, "--workload", "nope.sql", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.sql" in missing.stderr
