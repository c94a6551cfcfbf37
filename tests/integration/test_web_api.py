"""The dashboard through starlette's TestClient on the demo project (real runs in DuckDB):
every page and JSON endpoint, the query form behind the SQL guard, /metrics, the token,
same-origin POSTs and the Host check; query logging on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from headrace.project import Project
from headrace.web import create_app

BASE = "http://127.0.0.1:8760"
TOKEN = "web-token-0123456789abcdef"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The demo project, loaded by ``headrace demo`` and run once more (two runs)."""
    from headrace.demo import run_demo

    root = tmp_path_factory.mktemp("web") / "demo"
    run_demo(root)
    project = Project.discover(start=root)
    outcome = project.run_pipelines([])
    assert all(s.status == "succeeded" for s in outcome.steps)
    return project


@pytest.fixture
def client(demo: Project) -> Iterator[TestClient]:
    with TestClient(create_app(demo), base_url=BASE) as client:
        yield client


@pytest.fixture
def guarded(demo: Project) -> Iterator[TestClient]:
    with TestClient(create_app(demo, token=TOKEN), base_url=BASE) as client:
        yield client


def run_ids(client: TestClient) -> list[str]:
    return [r["run_id"] for r in client.get("/api/runs").json()["runs"]]


# -- pages ------------------------------------------------------------------------------


def test_overview_page_shows_runs_charts_slos_and_cost(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    for run_id in run_ids(client)[:2]:
        assert run_id in html
    for chart in ("timeline", "duration", "rows", "quality"):
        assert f'id="{chart}"' in html
    assert "SLOs and error budgets" in html and "Cost versus budget" in html
    assert "order_lines" in html  # an SLO row per pipeline
    assert "Not available" not in html  # every section had its data
    # Accessibility scaffolding: landmarks, skip link, current page marked.
    assert 'href="#main"' in html and '<main id="main"' in html
    assert '<nav class="main-nav" aria-label="Main">' in html
    assert 'href="/" aria-current="page"' in html


def test_pages_load_only_local_assets(client: TestClient) -> None:
    html = client.get("/").text
    assets = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert assets and all(a.startswith("/") for a in assets), assets
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert client.get("/static/vendor/uplot/uPlot.min.css").status_code == 200
    assert client.get("/static/dashboard.js").status_code == 200
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_api_overview_has_chart_series(client: TestClient) -> None:
    data = client.get("/api/overview").json()
    timeline = data["timeline"]
    assert len(timeline["x"]) >= 2 and timeline["x"] == sorted(timeline["x"])
    succeeded = next(s for s in timeline["series"] if s["name"] == "succeeded")
    assert all(v is not None and v > 0 for v in succeeded["values"])
    for key in ("duration", "rows"):
        names = {s["name"] for s in data[key]["series"]}
        assert {"customers", "orders", "order_lines", "marts.daily_category_revenue"} <= names
        assert all(len(s["values"]) == len(data[key]["x"]) for s in data[key]["series"])
    quality = data["quality"]["series"][0]["values"]
    assert quality and all(0 <= v <= 100 for v in quality)


def test_runs_list_and_detail(client: TestClient) -> None:
    ids = run_ids(client)
    assert len(ids) >= 2
    page = client.get("/runs")
    assert page.status_code == 200 and all(i in page.text for i in ids)
    only = client.get("/runs", params={"pipeline": "orders"})
    assert only.status_code == 200 and ids[0] in only.text
    detail = client.get(f"/runs/{ids[0]}")
    assert detail.status_code == 200
    for step in ("customers", "order_lines", "marts.daily_category_revenue"):
        assert step in detail.text
    assert client.get(f"/api/runs/{ids[0]}").json()["steps"]


def test_unknown_run_is_404(client: TestClient) -> None:
    assert client.get("/runs/no-such-run").status_code == 404
    assert client.get("/api/runs/no-such-run").json()["error"].startswith("no run")


def test_lineage_dag_and_model_columns(client: TestClient) -> None:
    page = client.get("/lineage")
    assert page.status_code == 200
    for name in ("staging.orders", "marts.customer_lifetime_value", "order_lines"):
        assert f'data-node="{name}"' in page.text
    assert 'href="/lineage/marts.daily_category_revenue"' in page.text
    model = client.get("/lineage/marts.daily_category_revenue")
    assert model.status_code == 200
    assert "raw.order_lines.unit_price" in model.text  # revenue's ultimate source
    assert client.get("/lineage/marts.nothing").status_code == 404


def test_table_browser(client: TestClient) -> None:
    tables = client.get("/tables")
    assert tables.status_code == 200
    assert 'href="/tables/raw.orders"' in tables.text
    table = client.get("/tables/raw.orders")
    assert table.status_code == 200
    assert "customer_id" in table.text and "Sample rows" in table.text
    assert client.get("/tables/raw.nothing").status_code == 404


# -- the query form ----------------------------------------------------------------------


def test_query_runs_an_allowed_statement(client: TestClient) -> None:
    done = client.post("/query", data={"sql": "SELECT count(*) AS n FROM raw.customers"})
    assert done.status_code == 200
    assert "4,997" in done.text or ">4997<" in done.text


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DROP TABLE raw.orders", "statement_kind"),
        ("SELECT 1; DELETE FROM raw.orders", "one_statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "function"),
    ],
)
def test_query_refuses_forbidden_statements(
    client: TestClient, demo: Project, sql: str, rule: str
) -> None:
    done = client.post("/query", data={"sql": sql})
    assert done.status_code == 400
    assert "Refused by rule" in done.text
    found = re.search(r"Refused by rule <code>([^<]+)</code>", done.text)
    assert found is not None and rule in found.group(1), found
    rows = client.post("/query", data={"sql": "SELECT count(*) FROM raw.orders"})
    assert rows.status_code == 200  # nothing was dropped or deleted


def test_query_results_are_capped_and_escaped(demo: Project) -> None:
    with TestClient(create_app(demo, max_rows=5), base_url=BASE) as client:
        capped = client.post("/query", data={"sql": "SELECT * FROM raw.orders"})
        assert capped.status_code == 200
        assert "result truncated to 5 rows" in capped.text
        hostile = client.post("/query", data={"sql": "SELECT '<script>alert(1)</script>' AS x"})
    assert "<script>alert(1)</script>" not in hostile.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.text


def test_query_database_error_is_a_message(client: TestClient) -> None:
    done = client.post("/query", data={"sql": "SELECT no_such_column FROM raw.orders"})
    assert done.status_code == 400
    assert "The database said" in done.text and "Traceback" not in done.text


# -- metrics -----------------------------------------------------------------------------


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    got = client.get("/metrics")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(got.text)}
    assert families["headrace_up"].samples[0].value == 1
    assert len(families) > 3


# -- the token and request checks -------------------------------------------------------


def test_token_required_for_pages_api_and_metrics(guarded: TestClient) -> None:
    page = guarded.get("/runs", headers=HTML, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fruns"
    api = guarded.get("/api/overview")
    assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
    assert guarded.get("/metrics").status_code == 401
    assert guarded.post("/query", data={"sql": "SELECT 1"}).status_code == 401
    wrong = guarded.get("/api/overview", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    # The login form and its stylesheet are reachable without it.
    assert guarded.get("/login").status_code == 200
    assert guarded.get("/static/app.css").status_code == 200


def test_bearer_token_is_accepted(guarded: TestClient) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/overview", headers=auth).status_code == 200
    assert guarded.get("/metrics", headers=auth).status_code == 200
    assert guarded.get("/", headers={**auth, **HTML}).status_code == 200


def test_login_sets_a_strict_http_only_cookie(guarded: TestClient) -> None:
    wrong = guarded.post("/login", data={"token": "nope", "next": "/runs"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    done = guarded.post("/login", data={"token": TOKEN, "next": "/runs"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/runs"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert TOKEN not in cookie  # an HMAC of it, not the token
    assert guarded.get("/runs", headers=HTML).status_code == 200
    out = guarded.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    guarded.cookies.clear()
    assert guarded.get("/api/overview").status_code == 401


def test_login_redirects_only_to_local_paths(guarded: TestClient) -> None:
    done = guarded.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert done.headers["location"] == "/"


def test_cross_site_post_is_refused(client: TestClient) -> None:
    sql = {"sql": "SELECT 1"}
    assert client.post("/query", data=sql, headers={"origin": BASE}).status_code == 200
    foreign = client.post("/query", data=sql, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403
    fetch = client.post("/query", data=sql, headers={"sec-fetch-site": "cross-site"})
    assert fetch.status_code == 403
    sibling = client.post("/query", data=sql, headers={"sec-fetch-site": "same-site"})
    assert sibling.status_code == 403
    # Browsers send "Origin: null" from sandboxed frames and data: URLs.
    assert client.post("/query", data=sql, headers={"origin": "null"}).status_code == 403


def test_foreign_host_refused_without_token(demo: Project) -> None:
    # DNS rebinding: a page on evil.example resolving its name to 127.0.0.1.
    with TestClient(create_app(demo), base_url="http://evil.example:8760") as client:
        assert client.get("/").status_code == 421
    with TestClient(create_app(demo), base_url="http://localhost:8760") as client:
        assert client.get("/").status_code == 200


def test_serve_refuses_public_host_without_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HEADRACE_WEB_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "headrace", "serve", "--host", "0.0.0.0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a token" in lines[0], done.stderr


# -- PostgreSQL: queries go to the query log -------------------------------------------


@pytest.mark.postgres
def test_queries_are_logged_on_postgres(pg_url: str, tmp_path: Path) -> None:
    from headrace.engines.registry import create_engine

    with create_engine(pg_url) as engine:
        engine.execute("CREATE TABLE public.items (id int PRIMARY KEY, name text)")
        engine.execute("INSERT INTO public.items VALUES (1, 'a'), (2, 'b')")
    project = Project.discover(start=tmp_path)
    with TestClient(create_app(project, target=pg_url), base_url=BASE) as client:
        done = client.post("/query", data={"sql": "SELECT name FROM public.items ORDER BY id"})
        assert done.status_code == 200 and ">b<" in done.text
        refused = client.post("/query", data={"sql": "DELETE FROM public.items"})
        assert refused.status_code == 400
        assert client.get("/tables/public.items").status_code == 200
    with create_engine(pg_url) as engine:
        logged: list[Any] = engine.fetchall(
            "SELECT source, query, rows FROM _headrace.query_log ORDER BY logged_at"
        )
        assert engine.fetchall("SELECT count(*) FROM public.items")[0][0] == 2
    assert [(s, r) for s, _, r in logged] == [("dashboard", 2)]
    assert "public.items" in logged[0][1]
