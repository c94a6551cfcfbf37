"""headrace runs / runs show / slo / cost as a user runs them: output, JSON, exit codes."""

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


CONFIG = (
    "runtime: {retries: {max_attempts: 1}}\n"
    "pipelines:\n"
    "  good: {source: good.csv, table: raw.good}\n"
    "  bad: {source: missing.csv, table: raw.bad}\n"
    "checks:\n"
    "  - table: raw.good\n"
    "    columns: {id: [not_null]}\n"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A project run twice: everything (bad fails, exit 1), then good alone (exit 0)."""
    root = tmp_path_factory.mktemp("observe")
    (root / "good.csv").write_text("id,name\n1,a\n2,b\n3,c\n")
    (root / "headrace.yml").write_text(CONFIG)
    ids = []
    for args, code in ((["run", "--json"], 1), (["run", "good", "--json"], 0)):
        result = run(*args, cwd=root)
        assert result.returncode == code, result.stderr
        ids.append(json.loads(result.stdout)["run_id"])
    return root, ids


def test_runs_lists_newest_first(project: tuple[Path, list[str]]) -> None:
    root, (first, second) = project
    result = run("runs", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.index(second) < result.stdout.index(first)
    assert "failed" in result.stdout and "succeeded" in result.stdout
    assert "missing.csv" in result.stdout  # the failed run's error, under the table


def test_runs_since_json(project: tuple[Path, list[str]]) -> None:
    root, ids = project
    result = run("runs", "--since", "1h", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [r["run_id"] for r in payload] == ids[::-1]
    assert set(payload[0]) >= {
        "run_id",
        "status",
        "pipelines",
        "started_at",
        "finished_at",
        "seconds",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "error",
    }
    bad = json.loads(run("runs", "--pipeline", "bad", "--json", cwd=root).stdout)
    assert [r["run_id"] for r in bad] == ids[:1]


def test_runs_show(project: tuple[Path, list[str]]) -> None:
    root, (first, _) = project
    result = run("runs", "show", first, cwd=root)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert first in out and "failed" in out
    assert "good" in out and "bad" in out and "missing.csv" in out
    assert "not_null(id)" in out  # the check that ran after good's load
    payload = json.loads(run("runs", "show", first, "--json", cwd=root).stdout)
    steps = {s["step"]: s for s in payload["steps"]}
    assert (steps["good"]["status"], steps["good"]["rows_loaded"]) == ("succeeded", 3)
    assert (steps["bad"]["status"], steps["bad"]["attempts"]) == ("failed", 1)
    assert payload["checks"][0]["status"] == "pass"


def test_unknown_run_and_bad_since_exit_2(project: tuple[Path, list[str]]) -> None:
    root, _ = project
    unknown = run("runs", "show", "20990101T000000Z-000000", cwd=root)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("error: no run 20990101T000000Z-000000")
    assert len(unknown.stderr.strip().splitlines()) == 1 and "Traceback" not in unknown.stderr
    since = run("runs", "--since", "nonsense", cwd=root)
    assert since.returncode == 2
    assert "--since" in since.stderr and "not a duration" in since.stderr
    assert "Traceback" not in since.stderr


def test_slo_json(project: tuple[Path, list[str]]) -> None:
    root, _ = project
    result = run("slo", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    slos = {s["pipeline"]: s for s in json.loads(result.stdout)}
    assert (slos["good"]["runs"], slos["good"]["failures"], slos["good"]["breached"]) == (
        2,
        0,
        False,
    )
    assert (slos["bad"]["success_pct"], slos["bad"]["breached"]) == (0.0, True)
    assert slos["good"]["target_pct"] == 99.9
    table = run("slo", cwd=root)
    assert table.returncode == 0 and "breach" in table.stdout
    assert "bad: success 0.00% is below the 99.9% target" in table.stdout


def test_cost_json_and_budget_warning(project: tuple[Path, list[str]]) -> None:
    root, _ = project
    result = run("cost", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["budget_usd"], report["over_budget"]) == (40.0, False)
    assert [p["pipeline"] for p in report["pipelines"]] == ["good", "bad"]
    assert report["price_sheet"]["date"] == "2025-01"
    assert "warning" not in result.stderr
    text = run("cost", cwd=root)
    assert text.returncode == 0 and "budget $40.00/month: within" in text.stdout
    # The same history (same root, so the same warehouse) held against a budget it
    # exceeds: a warning, still exit 0.
    config = root / "tight.yml"
    config.write_text(
        CONFIG + "observe: {cost: {budget_usd: 0, runs_per_month: {good: 100000000}}}\n"
    )
    tight = run("--config", str(config), "cost", "--json", cwd=root)
    assert tight.returncode == 0, tight.stderr
    assert json.loads(tight.stdout)["over_budget"] is True
    assert "warning: projected $" in tight.stderr and "exceeds the budget" in tight.stderr


def test_run_still_runs_and_a_fresh_project_has_no_history(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text("pipelines:\n  x: {source: x.csv, table: raw.x}\n")
    empty = run("runs", cwd=tmp_path)
    assert (empty.returncode, empty.stdout.strip()) == (0, "no runs recorded")
    assert json.loads(run("runs", "--json", cwd=tmp_path).stdout) == []
    (tmp_path / "x.csv").write_text("id\n1\n")
    assert run("run", cwd=tmp_path).returncode == 0  # `run` and `runs` do not collide
    assert len(json.loads(run("runs", "--json", cwd=tmp_path).stdout)) == 1
