"""Runtime primitives on a real warehouse: retries, timeouts, locks, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace.engines.registry import create_engine
from headrace.errors import TerminalError, TransientError
from headrace.project import Project
from headrace.runtime.lock import LockTimeout, run_lock
from headrace.runtime.retry import RetryPolicy, call_with_retry


def test_retry_only_transient_errors() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("connection lost")
        return "ok"

    retries: list[int] = []
    result = call_with_retry(
        flaky, RetryPolicy(5, 0.0, 0.0, 0.0), on_retry=lambda n, e, d: retries.append(n)
    )
    assert result == ("ok", 3) and retries == [1, 2]

    def broken() -> str:
        calls.append(1)
        raise TerminalError("syntax error")

    calls.clear()
    with pytest.raises(TerminalError):
        call_with_retry(broken, RetryPolicy(5, 0.0, 0.0, 0.0))
    assert len(calls) == 1


def test_lock_excludes_a_second_holder(engine_url: str) -> None:
    with create_engine(engine_url) as first, create_engine(engine_url) as second:
        with run_lock(first, "pipeline:x"):
            with pytest.raises(LockTimeout) as info, run_lock(second, "pipeline:x", 0.3):
                pass
            assert "another run of pipeline:x" in str(info.value)
            with run_lock(second, "pipeline:other"):
                pass  # other names do not collide
        with run_lock(second, "pipeline:x"):
            pass  # released


def _project(tmp_path: Path, pipelines: str) -> Project:
    (tmp_path / "headrace.yml").write_text(
        "warehouse: duckdb:///w.duckdb\n"
        "runtime: {retries: {max_attempts: 2, initial_delay: 0, max_delay: 0, jitter: 0}}\n"
        "pipelines:\n" + pipelines
    )
    return Project.discover(start=tmp_path)


def test_step_timeout_cancels_and_rolls_back(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with create_engine("duckdb:///:memory:") as scratch:
        scratch.execute(
            f"COPY (SELECT range AS id, 'row ' || range AS note FROM range(3000000))"
            f" TO '{big}' (HEADER)"
        )
    project = _project(tmp_path, "  big: {source: big.csv, table: raw.big, timeout: 0.05}\n")
    outcome = project.run_pipelines([])
    step = outcome.steps[0]
    assert (outcome.status, step.status, step.attempts) == ("failed", "failed", 2)
    assert "timeout" in str(step.error)
    assert len(step.attempt_errors) == 2 and all("timeout" in e for e in step.attempt_errors)
    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        assert not engine.table_exists("raw.big")
        steps = engine.fetchall("SELECT status, attempts, attempt_errors FROM _headrace.steps")
        assert [(status, attempts) for status, attempts, _ in steps] == [("failed", 2)]
        assert len(json.loads(steps[0][2])) == 2  # each attempt's error is recorded


def test_injected_transient_faults_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    project = _project(tmp_path, "  a: {source: a.csv, table: raw.a}\n")
    from headrace.runtime import dag

    calls: list[str] = []

    def first_attempt_fails(step: str) -> None:
        calls.append(step)
        if len(calls) == 1:
            raise TransientError("injected")

    monkeypatch.setattr(dag, "maybe_transient", first_attempt_fails)
    outcome = project.run_pipelines([])
    assert (outcome.status, outcome.steps[0].attempts) == ("succeeded", 2)
    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        assert engine.fetchall("SELECT count(*) FROM raw.a") == [(2,)]


def test_resume_skips_succeeded_steps(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    project = _project(
        tmp_path,
        "  a: {source: a.csv, table: raw.a}\n  b: {source: b.csv, table: raw.b, depends_on: [a]}\n",
    )
    first = project.run_pipelines([])
    assert [s.status for s in first.steps] == ["succeeded", "failed"]
    (tmp_path / "b.csv").write_text("id\n3\n")
    second = project.run_pipelines([], resume=True)
    assert second.resumed_from == first.run_id
    assert [(s.status, s.attempts) for s in second.steps] == [("succeeded", 0), ("succeeded", 1)]
    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        assert engine.fetchall("SELECT count(*) FROM raw.a") == [(2,)]  # not loaded twice


def test_backfill_interval_by_interval_exactly_once(tmp_path: Path, engine_url: str) -> None:
    source = tmp_path / "source.duckdb"
    with create_engine(f"duckdb:///{source}") as src:
        src.execute(
            "CREATE TABLE events AS SELECT range AS id,"
            " TIMESTAMP '2026-01-01' + INTERVAL (range) HOUR AS ts FROM range(72)"
        )
    (tmp_path / "headrace.yml").write_text(
        "warehouse: duckdb:///w.duckdb\n"
        f"connections:\n  src: duckdb:///{source}\n  target: {engine_url}\n"
        "pipelines:\n"
        "  events:\n"
        "    source: {connection: src, table: events}\n"
        "    table: raw.events\n"
        "    to: target\n"
        "    incremental: cursor:ts\n"
        "    interval: 1d\n"
    )
    project = Project.discover(start=tmp_path)
    first = project.run_pipelines([], window=("2026-01-01", "2026-01-03"))
    assert [s.name for s in first.steps] == ["events@2026-01-01", "events@2026-01-02"]
    assert [s.result.rows_loaded for s in first.steps if s.result] == [24, 24]
    again = project.run_pipelines([], window=("2026-01-01", "2026-01-04"))
    assert [s.result.rows_read for s in again.steps if s.result] == [0, 0, 24]
    with create_engine(engine_url) as target:
        assert target.fetchall("SELECT count(*), count(DISTINCT id) FROM raw.events") == [(72, 72)]
        assert target.fetchall("SELECT count(*) FROM _headrace.intervals") == [(3,)]


def test_threads_run_independent_steps_and_respect_dependencies(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.csv").write_text("id\n1\n2\n")
    project = _project(
        tmp_path,
        "  a: {source: a.csv, table: raw.a}\n"
        "  b: {source: b.csv, table: raw.b}\n"
        "  c: {source: c.csv, table: raw.c, depends_on: [a, b]}\n",
    )
    outcome = project.run_pipelines([], threads=2)
    assert outcome.status == "succeeded"
    # Loads into one DuckDB file take turns, so none needed a retry for a write conflict.
    assert [s.attempts for s in outcome.steps] == [1, 1, 1]
    by_name = {s.name: s for s in outcome.steps}
    assert by_name["c"].started_at >= max(by_name["a"].finished_at, by_name["b"].finished_at)
    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        for table in ("raw.a", "raw.b", "raw.c"):
            assert engine.fetchall(f"SELECT count(*) FROM {table}") == [(2,)]
