"""Run history, SLOs and cost from a real run store on DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.engines.registry import create_engine
from headrace.errors import UsageError
from headrace.observe.runs import step_history
from headrace.project import Project


def write_project(root: Path, warehouse: str, observe: str = "") -> Project:
    """Two pipelines (one whose file is missing), a model on the good one, a check."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "good.csv").write_text("id,name\n1,a\n2,b\n3,c\n")
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    (root / "models" / "marts" / "names.sql").write_text(
        "-- materialized: table\nselect id, upper(name) as name from raw.good\n"
    )
    (root / "headrace.yml").write_text(
        f"warehouse: {warehouse}\n"
        "runtime: {retries: {max_attempts: 1}}\n"
        "pipelines:\n"
        "  good: {source: good.csv, table: raw.good}\n"
        "  bad: {source: missing.csv, table: raw.bad}\n"
        "checks:\n"
        "  - table: raw.good\n"
        "    columns: {id: [not_null]}\n" + observe
    )
    return Project.discover(start=root)


@pytest.fixture
def ran(engine_url: str, tmp_path: Path) -> tuple[Project, list[str]]:
    """The project after three runs: everything (bad fails), then good alone twice."""
    project = write_project(tmp_path / "p", engine_url)
    first = project.run_pipelines([])
    assert first.status == "failed"
    ids = [first.run_id]
    for _ in range(2):
        outcome = project.run_pipelines(["good"])
        assert outcome.status == "succeeded", [(s.name, s.error) for s in outcome.steps]
        ids.append(outcome.run_id)
    return project, ids


def test_list_runs_newest_first_with_filters(ran: tuple[Project, list[str]]) -> None:
    project, ids = ran
    runs = project.runs()
    assert [r.run_id for r in runs] == ids[::-1]
    assert [r.status for r in runs] == ["succeeded", "succeeded", "failed"]
    assert runs[-1].pipelines.split(", ")[:2] == ["good", "bad"]
    assert all(r.seconds is not None and r.seconds >= 0 for r in runs)
    assert runs[0].rows_loaded == 3 and runs[0].error is None
    assert "missing.csv" in str(runs[-1].error)
    assert [r.run_id for r in project.runs(pipeline="bad")] == [ids[0]]
    assert [r.run_id for r in project.runs(pipeline="good")] == ids[::-1]
    assert project.runs(pipeline="nothing") == []
    assert len(project.runs(since_s=3600)) == 3
    assert [r.run_id for r in project.runs(limit=1)] == [ids[-1]]
    as_json = runs[0].to_json()
    assert set(as_json) >= {"run_id", "status", "pipelines", "started_at", "seconds"}


def test_run_detail_has_steps_checks_and_errors(ran: tuple[Project, list[str]]) -> None:
    project, ids = ran
    detail = project.run_detail(ids[0])
    steps = {s.step: s for s in detail.steps}
    assert set(steps) == {"good", "bad", "marts.names"}
    good, bad, model = steps["good"], steps["bad"], steps["marts.names"]
    assert (good.status, good.kind, good.attempts, good.rows_read, good.rows_loaded) == (
        "succeeded",
        "load",
        1,
        3,
        3,
    )
    assert good.rows_quarantined == 0 and good.seconds is not None
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert "missing.csv" in str(bad.error) and len(bad.attempt_errors) == 1
    assert (model.kind, model.status, model.rows_loaded) == ("model", "succeeded", 3)
    checks = [(c["table"], c["check"], c["status"]) for c in detail.checks]
    assert ("raw.good", "not_null(id)", "pass") in checks
    payload = detail.to_json()
    assert payload["steps"] and payload["checks"] and payload["status"] == "failed"
    # A later run's own checks belong to it, not to the first run.
    assert len(project.run_detail(ids[1]).checks) == 1
    with pytest.raises(UsageError, match="no run nope"):
        project.run_detail("nope")


def test_step_history_names_pipelines(ran: tuple[Project, list[str]], engine_url: str) -> None:
    _, ids = ran
    with create_engine(engine_url) as engine:
        history = step_history(engine)
        assert [s.pipeline for s in history].count("good") == 3
        assert {s.run_id for s in history} == set(ids)
        assert step_history(engine, since_s=3600) == history


def test_slos_count_step_outcomes(ran: tuple[Project, list[str]]) -> None:
    project, _ = ran
    slos = {s.pipeline: s for s in project.slos()}
    assert list(slos) == ["good", "bad", "marts.names"]
    good, bad, model = slos["good"], slos["bad"], slos["marts.names"]
    # good: 3 runs, 0 failures at the default 99.9%: 100% success, whole budget.
    assert (good.runs, good.failures, good.success_pct) == (3, 0, 100.0)
    assert (good.error_budget_remaining_pct, good.breached, good.target_pct) == (100.0, False, 99.9)
    assert good.last_success_at is not None and good.freshness_s is not None
    assert good.fresh is None  # no max_age objective
    # bad: 1 run, 1 failure: allowed 0.001 × 1, budget 1 - 1/0.001 = -99,900%.
    assert (bad.runs, bad.failures, bad.success_pct, bad.breached) == (1, 1, 0.0, True)
    assert bad.error_budget_remaining_pct == pytest.approx(-99900.0)
    assert bad.last_success_at is None
    assert (model.runs, model.failures) == (1, 0)


def test_slo_freshness_and_per_pipeline_targets(engine_url: str, tmp_path: Path) -> None:
    observe = (
        "observe:\n"
        "  slo:\n"
        "    default: {target: 99, window: 7d, max_age: 1h}\n"
        "    bad: {target: 50, max_age: 1h}\n"
    )
    project = write_project(tmp_path / "p", engine_url, observe)
    project.run_pipelines(["good", "bad"])
    slos = {s.pipeline: s for s in project.slos()}
    assert (slos["good"].target_pct, slos["good"].window_s) == (99.0, 7 * 86400.0)
    assert (slos["good"].fresh, slos["good"].breached) == (True, False)
    # bad never succeeded: stale; 0% success is below its 50% target too.
    assert (slos["bad"].fresh, slos["bad"].breached) == (False, True)
    # The model never ran: no runs in window, never fresh.
    model = slos["marts.names"]
    assert (model.runs, model.note, model.success_pct) == (0, "no runs in window", None)
    assert (model.error_budget_remaining_pct, model.fresh, model.breached) == (100.0, False, True)


def test_costs_from_history_and_sizes(ran: tuple[Project, list[str]]) -> None:
    project, _ = ran
    report = project.costs()
    costs = {c.pipeline: c for c in report.pipelines}
    assert list(costs) == ["good", "bad", "marts.names"]
    # 3 runs within a minute: the span counts as a day, 3 × 30 = 90 runs/month.
    assert costs["good"].runs_per_month == pytest.approx(90.0)
    assert costs["bad"].runs_per_month == pytest.approx(30.0)
    assert costs["marts.names"].runs_per_month == pytest.approx(30.0)
    assert costs["good"].compute_seconds_per_run > 0
    assert costs["bad"].storage_gb == 0  # its table was never created
    assert all(c.runs_source == "history" for c in costs.values())
    assert report.total_usd == pytest.approx(sum(c.total_usd for c in costs.values()))
    assert (report.budget_usd, report.over_budget) == (40.0, False)
    assert report.price_sheet["date"] and report.price_sheet["vcpu_hour_usd"] == 0.04048
    assert any("does not charge per byte scanned" in n for n in report.notes)
    assert all(c.scanned_usd == 0 for c in costs.values())
    assert set(report.to_json()) == {
        "pipelines",
        "total_usd",
        "budget_usd",
        "over_budget",
        "price_sheet",
        "notes",
    }


def test_stored_tables_are_priced(engine_url: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine_url, "observe: {cost: {gb_month_usd: 1000}}\n")
    project.run_pipelines(["good"])
    good = {c.pipeline: c for c in project.costs().pipelines}["good"]
    assert good.storage_gb > 0
    assert good.storage_usd == pytest.approx(good.storage_gb * 1000)


def test_budget_breach_and_configured_runs(engine_url: str, tmp_path: Path) -> None:
    observe = (
        "observe:\n"
        "  cost:\n"
        "    budget_usd: 0.01\n"
        "    vcpus: 4\n"
        "    runs_per_month: {good: 10000000}\n"
    )
    project = write_project(tmp_path / "p", engine_url, observe)
    project.run_pipelines(["good"])
    report = project.costs()
    good = {c.pipeline: c for c in report.pipelines}["good"]
    assert (good.runs_per_month, good.runs_source) == (10_000_000, "config")
    # 10M runs × s/run × 4 vCPUs ÷ 3600 × $0.04048.
    expected = 10_000_000 * good.compute_seconds_per_run * 4 / 3600 * 0.04048
    assert good.compute_usd == pytest.approx(expected)
    assert report.over_budget and report.total_usd > 0.01
    # Models never built: no runs, compute 0, and a note says so.
    assert any(n.startswith("no runs recorded for bad, marts.names:") for n in report.notes)


def test_backfill_intervals_count_for_their_pipeline(engine_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source.duckdb"
    with create_engine(f"duckdb:///{source}") as src:
        src.execute(
            "CREATE TABLE events AS SELECT range AS id,"
            " TIMESTAMP '2026-01-01' + INTERVAL (range) HOUR AS ts FROM range(48)"
        )
    (tmp_path / "headrace.yml").write_text(
        f"warehouse: {engine_url}\n"
        f"connections:\n  src: duckdb:///{source}\n"
        "pipelines:\n"
        "  events:\n"
        "    source: {connection: src, table: events}\n"
        "    table: raw.events\n"
        "    incremental: cursor:ts\n"
        "    interval: 1d\n"
    )
    project = Project.discover(start=tmp_path)
    outcome = project.run_pipelines([], window=("2026-01-01", "2026-01-03"))
    assert outcome.status == "succeeded"
    (events,) = project.slos()
    assert (events.pipeline, events.runs, events.failures) == ("events", 2, 0)
    (cost,) = project.costs().pipelines
    # Both intervals ran in one `headrace run`: one run, 1 × 30 = 30 runs/month.
    assert cost.runs_per_month == pytest.approx(30.0)
    assert [r.run_id for r in project.runs(pipeline="events")] == [outcome.run_id]
    steps = [s.step for s in project.run_detail(outcome.run_id).steps]
    assert steps == ["events@2026-01-01", "events@2026-01-02"]


def test_a_project_that_never_ran(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "duckdb:///w.duckdb")
    assert project.runs() == []
    assert [s.note for s in project.slos()] == ["no runs in window"] * 3
    assert project.costs().total_usd == 0
    with pytest.raises(UsageError):
        project.run_detail("20260101T000000Z-abcdef")
    assert not (tmp_path / "p" / "w.duckdb").exists()  # reading created nothing
