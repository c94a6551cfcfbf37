"""``headrace serve`` in a real headless Chromium (Debian's ``chromium``, driven by
Playwright for Python): the demo project with real run history, charts drawn, navigation
by mouse and keyboard, the lineage DAG, the table browser's query form.

Screenshots go to ``tests/artifacts/dashboard/`` (ignored by git). With
``HEADRACE_UPDATE_SCREENSHOT=1`` the overview is also copied to ``docs/dashboard.png``.
Without /usr/bin/chromium these tests skip, unless ``HEADRACE_REQUIRE_BROWSER`` is set
(CI), when they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HEADRACE = [sys.executable, "-m", "headrace"]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts" / "dashboard"
CHARTS = ("timeline", "duration", "rows", "quality")
DEMO_MODELS = (
    "staging.orders",
    "staging.order_lines",
    "marts.customer_lifetime_value",
    "marts.daily_category_revenue",
)

if not CHROMIUM.exists():
    if os.environ.get("HEADRACE_REQUIRE_BROWSER"):
        pytest.fail(
            f"HEADRACE_REQUIRE_BROWSER is set but {CHROMIUM} is missing"
            " (apt-get install chromium chromium-driver)",
            pytrace=False,
        )
    pytest.skip(
        f"{CHROMIUM} not installed (apt-get install chromium); set HEADRACE_REQUIRE_BROWSER"
        " to make this a failure",
        allow_module_level=True,
    )


# -- fixtures (local to this file) -----------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``headrace demo``, then ``headrace run`` twice: three runs of history."""
    root = tmp_path_factory.mktemp("dashboard") / "headrace-demo"
    for command in (["demo", str(root)], ["run"], ["run"]):
        done = subprocess.run(
            [*HEADRACE, *command],
            cwd=root.parent if command[0] == "demo" else root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_dir: Path) -> Iterator[str]:
    """``headrace serve`` on a free port, in the demo folder; its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HEADRACE_WEB_TOKEN"}
    proc = subprocess.Popen(
        [*HEADRACE, "serve", "--port", str(port)],
        cwd=demo_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=5) if proc.poll() is not None else ("", "")
                pytest.fail(f"headrace serve did not come up: {out} {err}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page that records console errors, failed responses and every URL it
    requested; a test that expects a failed response removes it from ``tab.failed``."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=server)
    tab = context.new_page()
    tab.problems = []
    tab.failed = []
    tab.requested = []

    def console(message: Any) -> None:
        # A failed load is reported with its URL by the response hook below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            tab.problems.append(message.text)

    tab.on("console", console)
    tab.on("response", lambda r: tab.failed.append((r.status, r.url)) if r.status >= 400 else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.on("request", lambda r: tab.requested.append(r.url))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield tab
    finally:
        context.close()
    assert tab.problems == [], tab.problems
    assert tab.failed == [], tab.failed
    # Offline by design: nothing but the dashboard itself was contacted.
    assert all(url.startswith(server) for url in tab.requested), tab.requested


def shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def canvas_stats(page: Any, chart: str) -> dict[str, int]:
    """The chart canvas's size and how many of its pixels were painted."""
    return dict(
        page.evaluate(
            """(id) => {
                const canvas = document.querySelector('#' + id + ' canvas');
                if (!canvas) return {width: 0, height: 0, painted: 0, colours: 0};
                const data = canvas.getContext('2d')
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0; const colours = new Set();
                for (let i = 0; i < data.length; i += 4) {
                    if (data[i + 3] > 0) {
                        painted++;
                        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
                    }
                }
                return {width: canvas.width, height: canvas.height, painted,
                        colours: colours.size};
            }""",
            chart,
        )
    )


# -- tests -----------------------------------------------------------------------------


def test_overview_loads_real_runs_and_draws_every_chart(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector("body[data-charts-ready='true']", timeout=30_000)
    assert page.title().startswith("Overview")
    runs = page.locator("#runs-title ~ figure .table-wrap tbody tr")
    assert runs.count() >= 3  # the demo's run and two more
    assert runs.first.locator("a").get_attribute("href").startswith("/runs/")
    for chart in CHARTS:
        points = page.evaluate(f"window.headraceCharts['{chart}'].data[0].length")
        assert points >= 2, chart
        stats = canvas_stats(page, chart)
        assert stats["width"] > 250 and stats["height"] > 100, (chart, stats)
        # Axes, grid and data: a blank or single-colour canvas means nothing was drawn.
        assert stats["painted"] > 2000 and stats["colours"] > 3, (chart, stats)
        # Each chart has its text alternative.
        assert page.locator(f"#{chart}[role='img'][aria-label]").count() == 1
    assert page.locator("text=SLOs and error budgets").is_visible()
    assert page.locator("text=Cost versus budget").is_visible()
    path = shot(page, "overview")
    if os.environ.get("HEADRACE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, REPO / "docs" / "dashboard.png")


def test_navigation_by_links(page: Any) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    page.wait_for_url("**/runs")
    assert page.locator("h1").inner_text().startswith("Runs")
    assert page.locator("nav.main-nav a[aria-current='page']").inner_text() == "Runs"
    first = page.locator("main table tbody tr th a").first
    run_id = first.inner_text()
    first.click()
    page.wait_for_url(f"**/runs/{run_id}")
    steps = page.locator("#steps-title ~ .table-wrap tbody tr")
    assert steps.count() >= 8  # four loads, four models
    shot(page, "run")
    page.get_by_role("link", name="Tables").click()
    page.wait_for_url("**/tables")
    page.get_by_role("link", name="orders", exact=True).first.click()
    page.wait_for_url("**/tables/raw.orders")
    assert "customer_id" in page.locator("main").inner_text()
    shot(page, "table")


def test_keyboard_navigation(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.textContent.trim()")
    assert skip == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # From the top again: Tab to the Lineage link in the main navigation, then Enter.
    page.goto("/")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Lineage":
            break
    else:
        pytest.fail("Tab never reached the Lineage link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    page.keyboard.press("Enter")
    page.wait_for_url("**/lineage")
    # DAG nodes are links reachable by keyboard, too.
    page.focus("a.node[data-node='marts.daily_category_revenue']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/lineage/marts.daily_category_revenue")
    assert page.locator("h1").inner_text().startswith("marts.daily_category_revenue")


def test_lineage_page_shows_the_demo_models(page: Any) -> None:
    page.goto("/lineage")
    nodes = page.locator("svg.dag a.node")
    names = {nodes.nth(i).get_attribute("data-node") for i in range(nodes.count())}
    assert set(DEMO_MODELS) <= names
    assert {"customers", "products", "orders", "order_lines"} <= names
    assert page.locator("svg.dag path.edge").count() >= 8
    box = page.locator("svg.dag").bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 80
    shot(page, "lineage")
    page.locator("a.node[data-node='marts.daily_category_revenue']").click()
    page.wait_for_url("**/lineage/marts.daily_category_revenue")
    assert "raw.order_lines.unit_price" in page.locator("main").inner_text()
    shot(page, "model-lineage")


def test_table_browser_runs_a_query(page: Any) -> None:
    page.goto("/tables")
    page.fill(
        "#sql", "SELECT status, count(*) AS n FROM raw.orders GROUP BY status ORDER BY n DESC"
    )
    page.get_by_role("button", name="Run query").click()
    page.wait_for_url("**/query")
    result = page.locator("#result table.result")
    assert result.locator("thead th").first.inner_text().lower().startswith("status")
    assert result.locator("tbody tr").count() >= 3
    assert "delivered" in result.inner_text()
    shot(page, "query")
    # Ctrl+Enter submits; a write is refused by the guard with its rule.
    page.fill("#sql", "DELETE FROM raw.orders")
    page.press("#sql", "Control+Enter")
    page.wait_for_selector("#result [role='alert']")
    assert "Refused by rule" in page.locator("#result").inner_text()
    assert page.failed == [(400, page.url)]  # the refusal's status
    page.failed.clear()
    shot(page, "query-refused")
