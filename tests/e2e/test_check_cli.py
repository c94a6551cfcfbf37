"""headrace check as a user runs it: exit codes, JSON, --explain, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADRACE = [sys.executable, "-m", "headrace"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text("order_id,status,amount\n1,placed,5\n2,lost,-1\n")
    assert run("load", "orders.csv", "main.orders", cwd=tmp_path).returncode == 0
    return tmp_path


def write_checks(project: Path, body: str) -> None:
    (project / "headrace.yml").write_text("checks:\n  - table: main.orders\n" + body)


def test_blocking_failure_exits_1_and_json_shape(project: Path) -> None:
    write_checks(project, "    columns:\n      status: [{accepted_values: [placed]}]\n")
    result = run("check", "--json", cwd=project)
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) >= {"run_id", "status", "tables", "checks", "records_passing_pct"}
    check = payload["checks"][0]
    assert set(check) >= {
        "table",
        "check",
        "column",
        "status",
        "invalid_count",
        "invalid_pct",
        "rows_scanned",
        "threshold",
        "sample_rows",
        "failing_rows_sql",
    }
    assert (check["status"], check["invalid_count"], check["invalid_pct"]) == ("fail", 1, 50.0)
    assert check["sample_rows"][0]["status"] == "lost"


def test_warn_and_non_blocking_exit_0(project: Path) -> None:
    write_checks(
        project,
        "    columns:\n"
        "      status: [{accepted_values: [placed], severity: non_blocking}]\n"
        "      amount: [{range: {min: 0}, warn_if: invalid_count > 0}]\n",
    )
    result = run("check", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "0 passed, 1 warned, 1 failed" in result.stdout


def test_explain_prints_one_scan(project: Path) -> None:
    write_checks(project, "    row_count: {min: 1}\n    columns:\n      amount: [not_null]\n")
    result = run("check", "--explain", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SELECT count(*) AS _rows") == 1
    history = run("check", "--json", cwd=project)
    assert json.loads(history.stdout)["status"] == "passed"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("    columns:\n      amount: [not_nul]\n", "did you mean 'not_null'"),
        ("    columns:\n      amont: [not_null]\n", "has no column 'amont'"),
        ("    columns:\n      status: [{regex: '(['}]\n", "regex"),
        ("    row_count: {min: 1, fail_if: invalid_pct > 1}\n", "threshold on a check"),
        ("    sql:\n      - name: x\n        bad_rows: delete from main.orders\n", "one SELECT"),
    ],
)
def test_bad_check_files_are_one_line_with_file_and_line(
    project: Path, body: str, fragment: str
) -> None:
    write_checks(project, body)
    result = run("check", cwd=project)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "headrace.yml:" in lines[0] and fragment in lines[0]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            "    sql:\n      - name: x\n        bad_rows: select nosuch from main.orders\n",
            "check x",
        ),
        (
            "    metrics:\n      - name: m\n        expression: amount\n"
            "        fail_if: value > 1\n",
            "check m",
        ),
        ("    columns:\n      status: [{range: {min: 0}}]\n", "range(status)"),
        ("    columns:\n      status: [{regex: '^(?=x).+$'}]\n", "regex(status)"),
    ],
)
def test_database_side_mistakes_name_the_check(project: Path, body: str, fragment: str) -> None:
    write_checks(project, body)
    result = run("check", cwd=project)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "headrace.yml:" in lines[0] and fragment in lines[0], lines


def test_load_time_check_mistakes_are_clear(project: Path) -> None:
    (project / "c.yml").write_text(
        "- table: main.t2\n  columns:\n    status: [{range: {min: 0}}]\n"
    )
    (project / "t2.csv").write_text("id,status\n1,a\n")
    result = run("load", "t2.csv", "main.t2", "--checks", "c.yml", cwd=project)
    assert result.returncode == 2
    assert "c.yml:3" in result.stderr and "range(status)" in result.stderr
    other = run("load", "t2.csv", "main.t3", "--checks", "c.yml", cwd=project)
    assert other.returncode == 2 and "no checks for main.t3" in other.stderr
