"""``headrace lineage`` on a real project: catalog columns from the warehouse (SELECT *
expands), declared schemas before the first load, text, JSON and Mermaid output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEADRACE = [sys.executable, "-m", "headrace"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def make_project(root: Path) -> Path:
    (root / "models" / "staging").mkdir(parents=True)
    (root / "models" / "marts").mkdir(parents=True)
    (root / "orders.csv").write_text("id,customer,amount\n1,a,10\n2,b,5\n")
    (root / "orders.yml").write_text("columns: {id: int64, customer: string, amount: float64}\n")
    (root / "headrace.yml").write_text(
        "warehouse: duckdb:///w.duckdb\n"
        "pipelines:\n  orders: {source: orders.csv, table: raw.orders, schema: orders.yml}\n"
    )
    (root / "models" / "staging" / "orders.sql").write_text(
        "select *, amount * 100 as cents from raw.orders"
    )
    (root / "models" / "marts" / "spend.sql").write_text(
        "with o as (select * from staging.orders)\n"
        "select customer, sum(cents) as spent, row_number() over (order by customer) as n\n"
        "from o group by customer"
    )
    return root


def test_lineage_from_declared_schema_then_from_the_warehouse(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    # Before anything is loaded: raw.orders' columns come from its schema file.
    before = run("lineage", "marts.spend.spent", "--json", cwd=root)
    assert before.returncode == 0, before.stderr
    payload = json.loads(before.stdout)
    assert payload["columns"]["spent"]["source_columns"] == ["raw.orders.amount"]
    assert payload["tree"]["upstream"][0]["column"] == "staging.orders.cents"

    assert run("run", cwd=root).returncode == 0
    text = run("lineage", "staging.orders", cwd=root)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "staging.orders  [model]"
    assert "downstream: marts.spend" in lines
    # SELECT * expanded from the warehouse catalog, in table order.
    columns = [line.split()[1] for line in lines if "<-" in line]
    assert columns == ["id", "customer", "amount", "cents"]

    spend = json.loads(run("lineage", "spend", "--json", cwd=root).stdout)
    assert spend["upstream"] == ["staging.orders"]
    assert spend["columns"]["n"]["source_columns"] == ["raw.orders.customer"]

    mermaid = run("lineage", "spend.spent", "--mermaid", cwd=root)
    assert mermaid.stdout.startswith("flowchart LR\n") and "-->" in mermaid.stdout


def test_lineage_mistakes(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    unknown = run("lineage", "marts.nope", cwd=root)
    assert unknown.returncode == 2 and "unknown model" in unknown.stderr
    column = run("lineage", "marts.spend.nope", cwd=root)
    assert column.returncode == 2 and "has no column nope" in column.stderr
    both = run("lineage", "marts.spend", "--json", "--mermaid", cwd=root)
    assert both.returncode == 2
