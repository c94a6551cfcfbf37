"""``headrace metrics`` after a batch run: stdout, an atomic textfile node-exporter can
read, and one clear line when the store or the folder is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_observe_events import make_project

HEADRACE = [sys.executable, "-m", "headrace"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def _values(text: str) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_textfile_after_a_batch_run(tmp_path: Path) -> None:
    make_project(tmp_path, "duckdb:///w.duckdb")
    assert run("run", cwd=tmp_path).returncode == 1  # two steps fail by design
    out = tmp_path / "textfile"
    out.mkdir()
    result = run("metrics", "--textfile", str(out / "headrace.prom"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [p.name for p in out.iterdir()] == ["headrace.prom"]  # no temporary file left
    values = _values((out / "headrace.prom").read_text())
    assert values["headrace_up{}"] == 1
    assert values["headrace_runs_total{pipeline=orders,status=succeeded}"] == 1
    assert values["headrace_rows_quarantined_total{pipeline=orders}"] == 1
    assert values["headrace_check_failures_total{check=row_count,table=raw.customers}"] == 1

    printed = run("metrics", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    same = _values(printed.stdout)
    assert same["headrace_runs_total{pipeline=missing,status=failed}"] == 1


def test_unreadable_store_writes_up_zero_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text("warehouse: duckdb:///nowhere/w.duckdb\n")
    out = tmp_path / "headrace.prom"
    result = run("metrics", "--textfile", str(out), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "run store not readable" in lines[0], result.stderr
    assert _values(out.read_text())["headrace_up{}"] == 0


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    make_project(tmp_path, "duckdb:///w.duckdb")
    missing_dir = run("metrics", "--textfile", str(tmp_path / "no" / "m.prom"), cwd=tmp_path)
    assert missing_dir.returncode == 2
    assert "cannot write" in missing_dir.stderr and "Traceback" not in missing_dir.stderr
    unknown = run("metrics", "--to", "nosuch", cwd=tmp_path)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
