"""SQL models from the command line: plan, compile, run, and every mistake a user can make
in a model project, each one clear line with file and line and exit code 2."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headrace.engines.registry import create_engine

HEADRACE = [sys.executable, "-m", "headrace"]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def project(root: Path, models: dict[str, str], warehouse: str = "duckdb:///w.duckdb") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "orders.csv").write_text(
        "id,customer,amount,day\n1,a,10,2026-01-01\n2,b,5,2026-01-02\n"
    )
    (root / "headrace.yml").write_text(
        f"warehouse: {warehouse}\n"
        "pipelines:\n"
        "  orders: {source: 'orders*.csv', table: raw.orders, incremental: files}\n"
    )
    for path, sql in models.items():
        target = root / "models" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sql)
    return root


GOOD = {
    "staging/orders.sql": (
        "-- materialized: table\nselect id, customer, amount, day from raw.orders\n"
    ),
    "marts/revenue.sql": (
        "-- materialized: incremental\n"
        "-- incremental: {strategy: delete_insert, time_column: day}\n"
        "select day, sum(amount) as revenue from staging.orders group by day\n"
    ),
}


def test_plan_run_compile(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    plan = run("plan", "--json", cwd=root)
    assert plan.returncode == 0, plan.stderr
    assert [(s["name"], s["action"], s["reason"]) for s in json.loads(plan.stdout)["steps"]] == [
        ("orders", "run", "loads read their source"),
        ("staging.orders", "run", "new"),
        ("marts.revenue", "run", "new"),
    ]
    first = run("run", cwd=root)
    assert first.returncode == 0, first.stderr
    assert "ok (table)" in first.stdout and "ok (full)" in first.stdout
    second = run("run", "--json", cwd=root)
    steps = {s["name"]: s for s in json.loads(second.stdout)["steps"]}
    assert steps["marts.revenue"]["kind"] == "model"
    assert steps["marts.revenue"]["model"]["action"] == "unchanged"
    text = run("plan", cwd=root).stdout
    assert "up to date" in text and "runs if orders brings new data" in text

    compiled = run("compile", "revenue", "--dialect", "postgres", cwd=root)
    assert compiled.returncode == 0, compiled.stderr
    assert 'FROM "staging"."orders" AS orders' in compiled.stdout
    bad = run("compile", "revenue", "--dialect", "nosuch", cwd=root)
    assert bad.returncode == 2 and "unknown SQL dialect 'nosuch'" in bad.stderr
    assert run("compile", "orders", cwd=root).returncode == 2  # a pipeline, not a model


def test_run_full_refresh_and_selection(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    assert run("run", cwd=root).returncode == 0
    result = run("run", "marts.revenue", "--full-refresh", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert [s["name"] for s in steps] == ["marts.revenue"]
    assert steps[0]["model"]["action"] == "full"
    assert steps[0]["model"]["reason"] == "forced (--full-refresh)"
    assert run("run", "tag:nope", cwd=root).returncode == 2


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (
            {
                "a/x.sql": "select * from b.y",
                "b/y.sql": "-- materialized: table\nselect 1 as one\nunion all select * from a.x",
            },
            ["x.sql:1", "cycle: ", "a.x -> b.y -> a.x", "a.x reads b.y"],
        ),
        ({"a/x.sql": "select 1;\nselect 2"}, ["x.sql:2", "one query", "2 statements"]),
        ({"a/x.sql": "-- hi\ndelete from raw.orders"}, ["x.sql:2", "a model is a SELECT"]),
        ({"a/x.sql": "select from where ("}, ["x.sql:1", "SQL syntax error"]),
        ({"a/x.sql": "-- materialised: table\nselect 1"}, ["x.sql:1", "materialised"]),
        (
            {"a/x.sql": "-- materialized: tabel\nselect 1"},
            ["x.sql:1", "materialized", "view", "incremental"],
        ),
        (
            {"a/x.sql": "-- materialized: incremental\nselect 1 as day"},
            ["x.sql:1", "needs incremental: {time_column: COL}"],
        ),
        (
            {
                "a/x.sql": "-- materialized: incremental\n-- unique_key: id\n"
                "-- incremental: {strategy: append, time_column: d, lookback: 1d}\nselect 1",
            },
            ["x.sql:3", "lookback", "double"],
        ),
        (
            {
                "a/orders.sql": "select 1 as one",
                "b/orders.sql": "select 2 as two",
                "c/z.sql": "select * from orders",
            },
            ["z.sql:1", "'orders'", "ambiguous", "a.orders", "b.orders"],
        ),
        ({"a/x.sql": "select * from a.x"}, ["x.sql:1", "reads itself"]),
        ({"a/x.sql": "select *\nfrom raw.missing"}, ["x.sql:2", "reads raw.missing"]),
        (
            {"a/x.sql": "-- checks: {columns: {id: [not_nul]}}\nselect 1 as id"},
            ["x.sql:1", "not_nul"],
        ),
        ({"raw/orders.sql": "select 1 as id"}, ["writes the table pipeline orders loads"]),
    ],
    ids=[
        "cycle",
        "two-statements",
        "not-select",
        "syntax",
        "unknown-setting",
        "bad-materialization",
        "incremental-without-time-column",
        "append-with-lookback",
        "ambiguous",
        "self-reference",
        "unknown-table",
        "bad-check",
        "two-writers",
    ],
)
def test_model_mistakes_are_one_clear_line(
    tmp_path: Path, models: dict[str, str], expected: list[str]
) -> None:
    root = project(tmp_path, models)
    for command in (["run"], ["plan"]):
        result = run(*command, cwd=root)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        for part in expected:
            assert part in lines[0], (part, lines[0])


def test_duckdb_only_sql_is_refused_for_postgres_with_its_line(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"a/x.sql": "select customer,\n  sum(amount) as total\nfrom raw.orders\ngroup by all"},
    )
    result = run("compile", "a.x", "--dialect", "postgres", cwd=root)
    assert result.returncode == 2
    assert "x.sql:4" in result.stderr and "GROUP BY ALL" in result.stderr
    assert run("compile", "a.x", cwd=root).returncode == 0  # fine on DuckDB itself


def test_models_config_keys_must_name_a_model_or_schema(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    with (root / "headrace.yml").open("a") as f:
        f.write("models:\n  config:\n    stagign: {materialized: table}\n")
    result = run("plan", cwd=root)
    assert result.returncode == 2
    assert "headrace.yml:6" in result.stderr and "'stagign'" in result.stderr


def _wait_for(process: subprocess.Popen[bytes], marker: bytes, timeout: float = 60) -> None:
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                process.kill()
                pytest.fail(f"no {marker!r} in {seen!r}")
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                pytest.fail(f"exited before {marker!r}: {seen!r}")
            seen += chunk


def test_a_build_killed_before_commit_leaves_no_trace(engine_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, GOOD, engine_url)
    assert run("run", cwd=root).returncode == 0
    (root / "orders2.csv").write_text("id,customer,amount,day\n3,c,7,2026-01-03\n")
    before = _snapshot(engine_url)
    process = subprocess.Popen(
        [*HEADRACE, "run"],
        cwd=root,
        env={**os.environ, "HEADRACE_TEST_PAUSE": "model_before_commit"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for(process, b"headrace-paused:model_before_commit")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    # The first model build was under way: neither its table nor its state moved.
    assert _snapshot(engine_url)[1:] == before[1:]
    assert run("run", cwd=root).returncode == 0
    assert _rows(engine_url, "SELECT day, revenue FROM marts.revenue ORDER BY 1") == [
        ("2026-01-01", 10),
        ("2026-01-02", 5),
        ("2026-01-03", 7),
    ]
    assert _rows(engine_url, "SELECT count(*) FROM staging.orders") == [(3,)]


def _snapshot(url: str) -> tuple[object, ...]:
    return (
        _rows(url, "SELECT count(*) FROM raw.orders"),
        _rows(url, "SELECT count(*) FROM staging.orders"),
        _rows(url, "SELECT day, revenue FROM marts.revenue ORDER BY 1"),
        _rows(url, "SELECT model, version FROM _headrace.models ORDER BY 1"),
    )


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with create_engine(url) as engine:
        return [
            tuple(str(v) if hasattr(v, "isoformat") else (int(v) if _whole(v) else v) for v in r)
            for r in engine.fetchall(sql)
        ]


def _whole(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        or (type(value).__name__ == "Decimal")
    )


def test_unportable_sql_stops_a_postgres_run_before_anything_loads(
    pg_url: str, tmp_path: Path
) -> None:
    root = project(
        tmp_path,
        {"a/x.sql": "select customer, sum(amount) as total\nfrom raw.orders\ngroup by all"},
        pg_url,
    )
    for command in ("run", "plan"):
        result = run(command, cwd=root)
        assert result.returncode == 2, result.stderr
        assert "x.sql:3" in result.stderr and "GROUP BY ALL" in result.stderr
    with create_engine(pg_url) as engine:
        assert engine.table_info("raw.orders") is None  # the load did not run either


def test_backfill_window_refuses_a_model(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    result = run("run", "marts.revenue", "--start", "2026-01-01", "--end", "2026-01-02", cwd=root)
    assert result.returncode == 2 and "marts.revenue is a model" in result.stderr
