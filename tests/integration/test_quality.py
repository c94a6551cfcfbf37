"""headrace check on both engines: one scan, verdicts, samples, history, load-time checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.engines.base import EngineAdapter
from headrace.errors import ConfigError
from headrace.load.options import build_request
from headrace.load.runner import run_load
from headrace.quality.run import explain, run_checks
from headrace.quality.spec import load_check_file

ORDERS = (
    "order_id,customer_id,status,amount,email,note,ordered_at,shipped_at\n"
    "1,10,placed,10.5,a@x.com,hi,2099-01-01 10:00:00,2099-01-01 12:00:00\n"
    "2,11,shipped,-5,bad-email,,2099-01-01 11:00:00,2099-01-01 09:00:00\n"
    "3,12,lost,100,c@y.com,yo,2099-01-02 01:00:00,\n"
    "3,99,placed,20,d@z.com,ok,2099-01-02 02:00:00,\n"
)
CHECKS = """
checks:
  - table: {schema}.orders
    row_count: {{min: 1}}
    freshness: {{column: ordered_at, max_age: 1d}}
    unique: [[order_id]]
    columns:
      order_id: [not_null]
      customer_id: [not_null, {{relationships: {{table: {schema}.customers, column: customer_id}}}}]
      status: [{{accepted_values: [placed, shipped, delivered, returned], severity: non_blocking}}]
      amount: [{{range: {{min: 0, max: 100000}}, fail_if: invalid_pct > 30}}]
      email: [{{regex: '^[^@]+@[^@]+$', warn_if: invalid_pct > 0}}]
      note: [{{completeness: {{min_pct: 95}}}}]
    sql:
      - name: shipped_after_ordered
        bad_rows: "select * from {schema}.orders where shipped_at < ordered_at"
"""


@pytest.fixture
def shop(engine: EngineAdapter, tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "customers.csv").write_text("customer_id,name\n10,a\n11,b\n12,c\n")
    schema = "public" if engine.dialect == "postgres" else "main"
    run_load(engine, build_request(source=str(tmp_path / "orders.csv"), table="orders"))
    run_load(engine, build_request(source=str(tmp_path / "customers.csv"), table="customers"))
    checks = tmp_path / "checks.yml"
    checks.write_text(CHECKS.format(schema=schema))
    return checks


def test_verdicts_counts_and_samples(engine: EngineAdapter, shop: Path) -> None:
    run = run_checks(engine, load_check_file(shop))
    by_name = {r.check: r for r in run.results}
    expected = {
        "row_count": "pass",
        "freshness(ordered_at)": "pass",
        "unique(order_id)": "fail",
        "not_null(order_id)": "pass",
        "relationships(customer_id)": "fail",
        "accepted_values(status)": "fail",
        "range(amount)": "pass",  # 25% invalid, fail_if invalid_pct > 30
        "regex(email)": "warn",
        "completeness(note)": "fail",
        "shipped_after_ordered": "fail",
    }
    for name, status in expected.items():
        assert by_name[name].status == status, (name, by_name[name])
    assert by_name["unique(order_id)"].invalid_count == 2  # both rows of the duplicated key
    assert by_name["range(amount)"].invalid_pct == 25.0
    assert by_name["accepted_values(status)"].severity == "non_blocking"
    assert run.status == "failed"
    sample = by_name["relationships(customer_id)"].sample_rows
    assert [r["customer_id"] for r in sample] == [99]
    assert by_name["regex(email)"].failing_rows_sql
    all_failing = engine.fetchall(str(by_name["accepted_values(status)"].failing_rows_sql))
    assert len(all_failing) == 1
    # rows 1 and 4 pass every row-level check (relationships and uniqueness are not row-level)
    assert run.records_passing_pct == 50.0
    stored = engine.fetchall("SELECT count(*) FROM _headrace.check_results")
    assert stored == [(len(run.results),)]


def test_one_scan_per_table(engine: EngineAdapter, shop: Path) -> None:
    compiled = explain(engine, load_check_file(shop))
    assert len(compiled) == 1
    table = compiled[0]
    assert table.aggregate.sql.count(" FROM ") == 1
    # unique, relationships and custom SQL need their own query; the rest share the scan
    assert sorted(table.extra) == [
        "relationships(customer_id)",
        "shipped_after_ordered",
        "unique(order_id)",
    ]


def test_primary_key_proves_uniqueness(engine: EngineAdapter, tmp_path: Path) -> None:
    engine.execute("CREATE TABLE k (id integer PRIMARY KEY, v text)")
    engine.execute("INSERT INTO k VALUES (1, 'a'), (2, 'b')")
    checks = tmp_path / "c.yml"
    checks.write_text("- table: k\n  unique: [[id]]\n")
    compiled = explain(engine, load_check_file(checks))
    assert compiled[0].extra == {}
    run = run_checks(engine, load_check_file(checks))
    assert run.results[0].status == "pass"
    assert "PRIMARY KEY" in str(run.results[0].message)


def test_unknown_column_names_file_and_line(engine: EngineAdapter, shop: Path) -> None:
    bad = shop.with_name("bad.yml")
    bad.write_text(shop.read_text().replace("note: [", "nte: ["))
    with pytest.raises(ConfigError) as info:
        run_checks(engine, load_check_file(bad))
    assert "bad.yml:13" in str(info.value) and "did you mean 'note'" in str(info.value)
    assert engine.fetchall("SELECT count(*) FROM _headrace.check_results") == [(0,)]


def test_anomaly_on_row_count_history(engine: EngineAdapter, tmp_path: Path) -> None:
    engine.execute("CREATE TABLE m (x integer)")
    checks = tmp_path / "a.yml"
    checks.write_text(
        "- table: m\n  anomaly: {metric: row_count, sensitivity: 3, window: 10, min_history: 4}\n"
    )
    definitions = load_check_file(checks)
    for n in (100, 102, 98, 101, 99):
        engine.execute("DELETE FROM m")
        engine.execute(f"INSERT INTO m SELECT 1 FROM generate_series(1, {n}) AS g(i)")
        assert run_checks(engine, definitions).results[0].status == "pass"
    engine.execute("INSERT INTO m SELECT 1 FROM generate_series(1, 400) AS g(i)")
    spike = run_checks(engine, definitions).results[0]
    assert spike.status == "fail" and "anomaly" in str(spike.message)


def test_row_checks_at_load_time_quarantine_with_check_name(
    engine: EngineAdapter, tmp_path: Path
) -> None:
    schema = "public" if engine.dialect == "postgres" else "main"
    (tmp_path / "c.yml").write_text(
        f"- table: {schema}.t\n  columns:\n"
        "    qty: [{range: {min: 1}}]\n    status: [{accepted_values: [a, b]}]\n"
    )
    data = tmp_path / "t.csv"
    data.write_text("id,qty,status\n1,5,a\n2,0,a\n3,2,zzz\n4,3,b\n")
    result = run_load(
        engine, build_request(source=str(data), table="t", checks_file=tmp_path / "c.yml")
    )
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    reasons = sorted(engine.fetchall("SELECT reason FROM _headrace.quarantine"))
    assert reasons == [("accepted_values(status)",), ("range(qty)",)]
