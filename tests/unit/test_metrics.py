"""Metrics, lineage and alert building blocks without I/O: histogram buckets, exposition of
a store that cannot be read, OpenLineage ids and endpoints, alert payloads and scrubbing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from headrace.config import ProjectConfig
from headrace.observe import alerts
from headrace.observe.metrics import DURATION_BUCKETS, build_registry, histogram_buckets
from headrace.observe.openlineage import run_uuid, split_endpoint
from headrace.project import Project
from headrace.quality.run import CheckResult, CheckRun
from headrace.runtime.dag import RunOutcome, StepOutcome


def test_histogram_buckets_are_cumulative_and_end_with_inf() -> None:
    buckets = histogram_buckets([0.05, 0.7, 42.0, 7200.0])
    assert buckets[0] == ("0.1", 1.0)
    assert dict(buckets)["1.0"] == 2.0
    assert dict(buckets)["60.0"] == 3.0
    assert dict(buckets)["3600.0"] == 3.0
    assert buckets[-1] == ("+Inf", 4.0)
    assert len(buckets) == len(DURATION_BUCKETS) + 1
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)


class _BrokenEngine:
    """Stands in for a store whose every query fails (a locked or missing database)."""

    dialect = "duckdb"

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("cannot open postgresql://app:hunter2@db.internal/wh")

        return fail


def _project(**config: Any) -> Project:
    return Project(root=Path("/nonexistent/project"), config=ProjectConfig(**config))


def test_unreadable_store_is_up_zero_and_still_valid_exposition() -> None:
    registry = build_registry(_project(), _BrokenEngine())  # type: ignore[arg-type]
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["headrace_up"].samples[0].value == 0
    assert "headrace_info" in families
    assert "headrace_runs" not in families
    assert "hunter2" not in text


def test_run_uuid_is_a_stable_uuid_per_run_and_step() -> None:
    first, again = run_uuid("20261126T041500Z-1a2b3c"), run_uuid("20261126T041500Z-1a2b3c")
    assert first == again and uuid.UUID(first)
    step = run_uuid("20261126T041500Z-1a2b3c", "orders")
    assert step != first and uuid.UUID(step)


def test_split_endpoint() -> None:
    assert split_endpoint("http://marquez:5000") == ("http://marquez:5000/", "api/v1/lineage")
    assert split_endpoint("https://h/x/events/") == ("https://h/", "x/events")


def _failed_outcome() -> RunOutcome:
    check = CheckResult(
        table="raw.orders",
        check="not_null(id)",
        kind="not_null",
        column="id",
        status="fail",
        severity="blocking",
        invalid_count=3,
        message="3 rows <null>",
    )
    steps = [
        StepOutcome(
            "orders",
            status="failed",
            attempts=1,
            error="blocking check not_null(id) failed on raw.orders",
            checks=CheckRun("c1", [check], [{"table": "raw.orders", "rows": 9}], None, 0.1),
        ),
        StepOutcome(
            "events",
            status="failed",
            attempts=2,
            error="connection to postgresql://app:hunter2@db.internal:5432/src failed",
        ),
        StepOutcome("marts.daily", kind="model", status="skipped", error="orders did not succeed"),
    ]
    return RunOutcome("20261126T041500Z-1a2b3c", "failed", steps)


def test_run_alerts_and_their_payloads_carry_no_secret() -> None:
    found = alerts.run_alerts(_project(name="shop"), _failed_outcome())
    assert [a.event for a in found] == ["check_failed", "run_failed"]
    check, run = found
    assert check.step == "orders" and check.details["checks"][0]["check"] == "not_null(id)"
    assert run.details["failed_steps"] == ["orders", "events"]
    assert run.details["skipped_steps"] == ["marts.daily"]
    body = alerts.payload(found[1], "json")
    assert body["event"] == "run_failed" and body["project"] == "shop"
    assert set(body) >= {"event", "project", "run_id", "pipeline", "step", "error", "ts"}
    slack = alerts.payload(found[0], "slack")
    assert set(slack) == {"text", "blocks"} and slack["text"].startswith("headrace check_failed")
    assert all(block["type"] in ("section", "context") for block in slack["blocks"])
    for alert in found:
        for fmt in ("json", "slack"):
            assert "hunter2" not in str(alerts.payload(alert, fmt))


def test_slack_text_is_escaped() -> None:
    alert = alerts.Alert("run_failed", "p", "a <b> & c")
    assert "a &lt;b&gt; &amp; c" in str(alerts.payload(alert, "slack")["blocks"])


def test_scrub_cuts_urls_to_their_host() -> None:
    text = (
        "POST https://hooks.slack.com/services/T000/B000/XXXXSECRET failed;"
        " db postgresql://u:pw@h:5432/d; password=topsecret"
    )
    scrubbed = alerts.scrub(text)
    assert "XXXXSECRET" not in scrubbed and "hooks.slack.com" in scrubbed
    assert "pw@" not in scrubbed and "topsecret" not in scrubbed
    assert alerts.host_of("https://user:tok@example.com:8443/x?y=1") == "example.com:8443"
