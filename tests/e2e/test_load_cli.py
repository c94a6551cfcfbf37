"""headrace load / run / quarantine as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADRACE = [sys.executable, "-m", "headrace"]
JSON_KEYS = {
    "run_id",
    "status",
    "table",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_merged_away",
    "files_skipped",
    "seconds",
    "rows_per_second",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_load_json_contract(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("id,amount\n1,2.5\n2,oops\n3,4\n")
    (tmp_path / "schema.yml").write_text("columns: {id: int64, amount: float64}\n")
    result = run(
        "load", "orders.csv", "sales.orders", "--schema", "schema.yml", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert JSON_KEYS <= set(payload)
    assert (payload["rows_read"], payload["rows_loaded"], payload["rows_quarantined"]) == (3, 2, 1)
    assert payload["status"] == "succeeded"
    assert (tmp_path / "warehouse.duckdb").exists()  # the default target

    listed = json.loads(run("quarantine", "list", "--json", cwd=tmp_path).stdout)
    assert listed[0]["run_id"] == payload["run_id"] and listed[0]["rows"] == 1
    shown = run("quarantine", "show", payload["run_id"], cwd=tmp_path)
    assert "line 3" in shown.stdout and "2,oops" in shown.stdout


def test_load_human_summary_and_rerun_incremental(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    first = run("load", "a.csv", "t", "--incremental", "files", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "loaded main.t: 2 rows" in first.stdout
    again = json.loads(
        run("load", "a.csv", "t", "--incremental", "files", "--json", cwd=tmp_path).stdout
    )
    assert (again["rows_loaded"], again["files_skipped"]) == (0, 1)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["load", "missing.csv", "t"], 1, "no such file"),
        (["load", "a.csv", "t", "--write", "upsert"], 2, "unknown write mode 'upsert'"),
        (["load", "a.csv", "t", "--write", "merge"], 2, "merge needs a key"),
        (["load", "a.csv", "bad name;"], 2, "not a table name"),
        (["load", "a.csv", "t", "--schema", "nope.yml"], 2, "nope.yml"),
        (["load", "a.csv", "t", "--encoding", "ebcdic"], 2, "encoding"),
        (["load", "duckdb:///x.duckdb", "t"], 2, "--source-table"),
        (["load", "a.csv", "t", "--incremental", "cursor:id"], 2, "--incremental files"),
        (["quarantine", "show", "no-such-run"], 2, "no run"),
    ],
)
def test_load_bad_input(args: list[str], code: int, fragment: str, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0]


def test_freeze_contract_names_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    (tmp_path / "b.csv").write_text("id,coupon\n2,X\n")
    assert run("load", "a.csv", "t", cwd=tmp_path).returncode == 0
    result = run("load", "b.csv", "t", "--contract", "freeze", cwd=tmp_path)
    assert result.returncode == 1
    assert "coupon" in result.stderr and "freeze" in result.stderr


def test_run_pipelines_from_project(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text("customer_id,name\n1,a\n2,b\n")
    (tmp_path / "data" / "o.ndjson").write_text('{"order_id": 1, "customer_id": 1}\n{"x"\n')
    (tmp_path / "headrace.yml").write_text(
        "name: shop\n"
        "pipelines:\n"
        "  customers:\n"
        "    source: data/c.csv\n"
        "    table: raw.customers\n"
        "    write: merge\n"
        "    key: [customer_id]\n"
        "  orders:\n"
        "    source: data/o.ndjson\n"
        "    table: raw.orders\n"
        "    depends_on: [customers]\n"
    )
    result = run("run", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [p["name"] for p in payload["steps"]] == ["customers", "orders"]
    assert payload["steps"][1]["rows_quarantined"] == 1
    assert {p["status"] for p in payload["steps"]} == {"succeeded"}
    assert payload["steps"][0]["attempts"] == 1
    missing = run("run", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "unknown pipeline or model 'nope'" in missing.stderr


def test_run_reports_config_errors_with_line(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text(
        "pipelines:\n  a:\n    source: x.csv\n    table: t\n    depends_on: [b]\n"
        "  b:\n    source: y.csv\n    table: u\n    depends_on: [a]\n"
    )
    result = run("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "cycle" in result.stderr and "headrace.yml:5" in result.stderr


def test_run_blocking_check_failure_skips_downstream(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\n1\n1\n")
    (tmp_path / "o.csv").write_text("order_id,customer_id\n1,1\n")
    (tmp_path / "headrace.yml").write_text(
        "pipelines:\n"
        "  customers: {source: c.csv, table: raw.customers}\n"
        "  orders: {source: o.csv, table: raw.orders, depends_on: [customers]}\n"
        "checks:\n"
        "  - table: raw.customers\n"
        "    unique: [[customer_id]]\n"
    )
    result = run("run", "--json", cwd=tmp_path)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    statuses = {p["name"]: p["status"] for p in payload["steps"]}
    assert statuses == {"customers": "failed", "orders": "skipped"}
    customers = payload["steps"][0]
    assert customers["rows_loaded"] == 2  # loaded, then judged
    assert customers["checks"]["status"] == "failed"
    assert "unique(customer_id)" in customers["error"]
