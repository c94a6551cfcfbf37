"""Observers of ``headrace run`` on a real warehouse: Prometheus metrics from the run store,
OpenLineage events (checked against the spec's structure), webhooks with retries and
de-duplicated breach alerts, and an observer failure that does not fail the run."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from headrace.observe.metrics import render
from headrace.project import Project

SECRET = "hunter2-token"


def make_project(root: Path, warehouse: str, observe: str = "") -> Project:
    """Four steps with known outcomes: orders loads 2 rows and quarantines 1; customers
    fails a blocking row_count check; missing has no file; marts.revenue builds from orders."""
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    (root / "checks").mkdir(exist_ok=True)
    (root / "orders.csv").write_text("id,amount\n1,10\n2,5\n3,-1\n")
    (root / "customers.csv").write_text("id,name\n1,a\n")
    (root / "checks" / "orders.yml").write_text(
        "- table: raw.orders\n  columns:\n    amount: [{range: {min: 0}}]\n"
    )
    (root / "models" / "marts" / "revenue.sql").write_text(
        "-- materialized: table\nselect id, amount * 2 as doubled from raw.orders\n"
    )
    (root / "headrace.yml").write_text(
        "name: shop\n"
        f"warehouse: {warehouse}\n"
        "runtime: {retries: {max_attempts: 1, initial_delay: 0, max_delay: 0, jitter: 0}}\n"
        "pipelines:\n"
        "  orders: {source: orders.csv, table: raw.orders, checks: checks/orders.yml}\n"
        "  customers: {source: customers.csv, table: raw.customers}\n"
        "  missing: {source: nothere.csv, table: raw.missing}\n"
        "checks:\n"
        "  - table: raw.customers\n"
        "    row_count: {min: 100}\n"
        "  - table: raw.orders\n"
        "    columns:\n"
        "      id: [not_null]\n" + observe
    )
    return Project.discover(start=root)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_match_a_run_with_known_outcomes(tmp_path: Path, engine_url: str) -> None:
    project = make_project(tmp_path, engine_url)
    outcome = project.run_pipelines([])
    assert [s.status for s in outcome.steps] == ["succeeded", "failed", "failed", "succeeded"]
    samples = _samples(render(project).decode())

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("headrace_up") == 1
    assert value("headrace_runs_total", pipeline="orders", status="succeeded") == 1
    assert value("headrace_runs_total", pipeline="customers", status="failed") == 1
    assert value("headrace_runs_total", pipeline="missing", status="failed") == 1
    assert value("headrace_runs_total", pipeline="marts.revenue", status="succeeded") == 1
    assert value("headrace_rows_loaded_total", pipeline="orders") == 2
    assert value("headrace_rows_quarantined_total", pipeline="orders") == 1
    assert value("headrace_rows_loaded_total", pipeline="marts.revenue") == 2
    assert value("headrace_check_failures_total", table="raw.customers", check="row_count") == 1
    assert value("headrace_step_duration_seconds_count", pipeline="orders") == 1
    assert value("headrace_step_duration_seconds_bucket", pipeline="orders", le="+Inf") == 1
    assert value("headrace_step_duration_seconds_bucket", pipeline="orders", le="3600.0") == 1
    assert value("headrace_freshness_lag_seconds", pipeline="orders") >= 0
    assert ("headrace_freshness_lag_seconds", (("pipeline", "missing"),)) not in samples
    # One failure in one run against the default 99.9% target overspends the budget.
    assert value("headrace_slo_error_budget_remaining_ratio", pipeline="orders") == 1
    assert value("headrace_slo_error_budget_remaining_ratio", pipeline="missing") < 0
    assert value("headrace_slo_breached", pipeline="missing") == 1

    # A second run adds to the counters (they are totals over the store).
    project.run_pipelines(["orders"])
    again = _samples(render(project).decode())
    key = ("headrace_runs_total", (("pipeline", "orders"), ("status", "succeeded")))
    assert again[key] == 2


# The parts of the OpenLineage 2-0-2 spec (RunEvent, Run, Job, Dataset, BaseFacet) and of
# the facets headrace writes that a consumer relies on. The client does not ship the spec's
# JSON files, so they are restated here from the spec.
_FACET = {
    "type": "object",
    "required": ["_producer", "_schemaURL"],
    "properties": {
        "_producer": {"type": "string", "format": "uri"},
        "_schemaURL": {"type": "string", "format": "uri", "pattern": "^https://openlineage.io/"},
    },
}
_FACETS = {"type": "object", "additionalProperties": {"$ref": "#/$defs/facet"}}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {
        "namespace": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "facets": {
            **_FACETS,
            "properties": {
                "schema": {
                    "type": "object",
                    "required": ["fields"],
                    "properties": {
                        "fields": {
                            "type": "array",
                            "items": {"type": "object", "required": ["name"]},
                        }
                    },
                },
                "columnLineage": {
                    "type": "object",
                    "required": ["fields"],
                    "properties": {
                        "fields": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "required": ["inputFields"],
                                "properties": {
                                    "inputFields": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["namespace", "name", "field"],
                                        },
                                    }
                                },
                            },
                        }
                    },
                },
                "dataQualityMetrics": {
                    "type": "object",
                    "required": ["columnMetrics"],
                    "properties": {"rowCount": {"type": "integer"}},
                },
                "dataQualityAssertions": {
                    "type": "object",
                    "required": ["assertions"],
                    "properties": {
                        "assertions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["assertion", "success"],
                                "properties": {"success": {"type": "boolean"}},
                            },
                        }
                    },
                },
            },
        },
    },
}
RUN_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"facet": _FACET},
    "type": "object",
    "required": ["eventTime", "eventType", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string", "format": "uri"},
        "schemaURL": {"type": "string", "format": "uri"},
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {
                "runId": {"type": "string", "format": "uuid"},
                "facets": {
                    **_FACETS,
                    "properties": {
                        "parent": {
                            "type": "object",
                            "required": ["run", "job"],
                            "properties": {
                                "run": {"type": "object", "required": ["runId"]},
                                "job": {"type": "object", "required": ["namespace", "name"]},
                            },
                        },
                        "errorMessage": {
                            "type": "object",
                            "required": ["message", "programmingLanguage"],
                        },
                    },
                },
            },
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {"facets": _FACETS},
        },
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {"type": "array", "items": _DATASET},
    },
}


def test_openlineage_events_for_each_step(tmp_path: Path, engine_url: str) -> None:
    observe = "observe:\n  openlineage: {file: lineage/events.ndjson, namespace: shop}\n"
    project = make_project(tmp_path, engine_url, observe)
    outcome = project.run_pipelines([])
    lines = (tmp_path / "lineage" / "events.ndjson").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    validator = jsonschema.Draft202012Validator(
        RUN_EVENT_SCHEMA, format_checker=jsonschema.FormatChecker()
    )
    for event in events:
        validator.validate(event)
        uuid.UUID(event["run"]["runId"])
        assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
    flow = [(e["job"]["name"], e["eventType"]) for e in events]
    assert flow == [
        ("headrace.run", "START"),
        ("orders", "START"),
        ("orders", "COMPLETE"),
        ("customers", "START"),
        ("customers", "FAIL"),
        ("missing", "START"),
        ("missing", "FAIL"),
        ("marts.revenue", "START"),
        ("marts.revenue", "COMPLETE"),
        ("headrace.run", "FAIL"),
    ]
    parent_id = events[0]["run"]["runId"]
    for event in events[1:-1]:
        assert event["job"]["namespace"] == "shop"
        assert event["run"]["facets"]["parent"]["run"]["runId"] == parent_id
    tags = {t["key"]: t["value"] for t in events[0]["run"]["facets"]["tags"]["tags"]}
    assert tags["headrace_run_id"] == outcome.run_id

    orders = events[2]
    assert orders["inputs"] == [
        {"namespace": "file", "name": str((tmp_path / "orders.csv").resolve()), **_empty()}
    ]
    (output,) = orders["outputs"]
    assert output["name"].endswith("raw.orders")
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == ["id", "amount"]
    metrics = output["facets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 2 and metrics["columnMetrics"]["id"]["nullCount"] == 0
    assertions = output["facets"]["dataQualityAssertions"]["assertions"]
    assert {(a["assertion"], a["column"], a["success"]) for a in assertions} == {
        ("not_null", "id", True),
        ("range", "amount", True),  # after quarantine, no bad amount is left
    }
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2

    customers = events[4]
    failed = customers["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"]) for a in failed] == [("row_count", False)]
    assert "row_count" in customers["run"]["facets"]["errorMessage"]["message"]

    model = events[8]
    assert [i["name"] for i in model["inputs"]] == [output["name"]]  # raw.orders, as written
    lineage = model["outputs"][0]["facets"]["columnLineage"]["fields"]
    sources = {
        column: [(f["name"], f["field"]) for f in spec["inputFields"]]
        for column, spec in lineage.items()
    }
    assert sources == {"id": [(output["name"], "id")], "doubled": [(output["name"], "amount")]}


def _empty() -> dict[str, Any]:
    return {"facets": {}, "inputFacets": {}}


class _Hook(BaseHTTPRequestHandler):
    """Answers 500 to the first ``fail_first`` POSTs, then 200; remembers every body."""

    fail_first = 0
    received: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body, dict(self.headers)))
        failing = len(type(self).received) <= type(self).fail_first
        self.send_response(500 if failing else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "fail_first": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhooks_retry_then_deliver_slack_and_json(
    tmp_path: Path,
    duckdb_url: str,
    hook: tuple[str, type[_Hook]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    base, handler = hook
    handler.fail_first = 1
    observe = (
        "observe:\n"
        "  alerts:\n"
        f"    - url: {base}/services/T0/B0/{SECRET}\n"
        "      format: slack\n"
        "      events: [run_failed]\n"
        f"      headers: {{Authorization: 'Bearer {SECRET}'}}\n"
        f"    - url: {base}/json\n"
        "      events: [check_failed]\n"
    )
    project = make_project(tmp_path, duckdb_url, observe)
    outcome = project.run_pipelines([])
    assert outcome.status == "failed"
    paths = [path for path, _, _ in handler.received]
    # check_failed goes first; its hook answered 500 once and got the same message again.
    assert paths == ["/json", "/json", f"/services/T0/B0/{SECRET}"]
    assert handler.received[0][1] == handler.received[1][1]
    slack = handler.received[2][1]
    assert set(slack) == {"text", "blocks"} and "run_failed" in slack["text"]
    assert handler.received[2][2]["Authorization"] == f"Bearer {SECRET}"
    body = handler.received[1][1]
    assert (body["event"], body["project"], body["step"]) == ("check_failed", "shop", "customers")
    assert body["run_id"] == outcome.run_id and body["details"]["checks"][0]["check"] == "row_count"
    for _, payload, _ in handler.received:
        assert SECRET not in json.dumps(payload)
    err = capfd.readouterr().err
    assert SECRET not in err and "warning" not in err


def test_failing_webhook_is_one_warning_with_the_host_only(
    tmp_path: Path,
    duckdb_url: str,
    hook: tuple[str, type[_Hook]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    base, handler = hook
    handler.fail_first = 99
    observe = (
        "observe:\n"
        "  alerts:\n"
        f"    - {{url: '{base}/hook/{SECRET}', events: [run_failed], timeout: 5}}\n"
        "  openlineage: {url: 'http://127.0.0.1:9/lineage', api_key: " + SECRET + "}\n"
    )
    project = make_project(tmp_path, duckdb_url, observe)
    outcome = project.run_pipelines(["orders"])  # succeeds: lineage fails, no alert due
    assert outcome.status == "succeeded"
    outcome = project.run_pipelines([])
    assert outcome.status == "failed"  # the run's own status, not the observers'
    assert len(handler.received) == 3  # run_failed: 3 attempts, all answered 500
    err = capfd.readouterr().err
    assert SECRET not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert any("alert run_failed to 127.0.0.1" in w and "3 attempt" in w for w in warnings)
    assert any("openlineage observer failed" in w for w in warnings)


def test_slo_breach_alerts_once_until_it_recovers(
    tmp_path: Path, engine_url: str, hook: tuple[str, type[_Hook]]
) -> None:
    base, handler = hook
    observe = (
        "observe:\n"
        "  slo: {missing: {target: 50}}\n"
        f"  alerts: [{{url: '{base}/slo', events: [slo_breach]}}]\n"
    )
    project = make_project(tmp_path, engine_url, observe)
    project.run_pipelines(["missing"])
    project.run_pipelines(["missing"])
    breaches = [body for _, body, _ in handler.received]
    assert [(b["event"], b["pipeline"]) for b in breaches] == [("slo_breach", "missing")]
    assert "success 0% < target 50%" in breaches[0]["summary"]
    from headrace.observe.alerts import load_state

    with project.engine(None) as engine:
        assert load_state(engine)["slo:missing"] is True
    # Recovery: enough successes to be above 50% again clears the state...
    (tmp_path / "nothere.csv").write_text("id\n1\n")
    for _ in range(3):
        project.run_pipelines(["missing"])
    with project.engine(None) as engine:
        assert load_state(engine)["slo:missing"] is False
    assert len(handler.received) == 1
