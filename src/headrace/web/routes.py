"""The dashboard's pages and JSON endpoints: each one asks :class:`Dashboard` for data and
renders a template; no logic of its own beyond shaping what a page shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from headrace.errors import HeadraceError
from headrace.web import charts
from headrace.web.auth import COOKIE, safe_next, same_token, session_value

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from headrace.web.data import Dashboard

T = TypeVar("T")
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RECENT_RUNS = 50


class Section:
    """A part of a page that can fail on its own: its data, or the one-line reason."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.data: Any = None
        self.error: str | None = None
        try:
            self.data = fn()
        except HeadraceError as exc:
            self.error = str(exc)


class Pages:
    """Route handlers bound to one dashboard and its templates."""

    def __init__(self, dashboard: Dashboard, templates: Jinja2Templates, token: str | None):
        self.dashboard = dashboard
        self.templates = templates
        self.token = token

    def routes(self) -> list[Route]:
        """Every page and endpoint."""
        return [
            Route("/", self.overview, name="overview"),
            Route("/api/overview", self.api_overview, name="api_overview"),
            Route("/runs", self.runs, name="runs"),
            Route("/runs/{run_id}", self.run, name="run"),
            Route("/api/runs", self.api_runs, name="api_runs"),
            Route("/api/runs/{run_id}", self.api_run, name="api_run"),
            Route("/lineage", self.lineage, name="lineage"),
            Route("/lineage/{model}", self.model_lineage, name="model_lineage"),
            Route("/tables", self.tables, name="tables"),
            Route("/tables/{table}", self.table, name="table"),
            Route("/query", self.query, methods=["GET", "POST"], name="query"),
            Route("/metrics", self.metrics, name="metrics"),
            Route("/login", self.login, methods=["GET", "POST"], name="login"),
            Route("/logout", self.logout, methods=["POST"], name="logout"),
        ]

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """Render ``name`` with what every page needs."""
        context.setdefault("title", "")
        base = {
            "project_name": self.dashboard.project.config.name or self.dashboard.project.root.name,
            "dialect": self.dashboard.dialect,
            "signed_in": self.token is not None,
            "path": request.url.path,
        }
        return self.templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status
        )

    def failure(self, request: Request, exc: HeadraceError, *, lookup: bool = False) -> Response:
        """A HeadraceError as a page: 503 when the warehouse cannot be opened or is busy
        (a writer holds a DuckDB file), 500 for other database errors; a usage error is
        404 when the page looks something up by name (``lookup``), else 400."""
        from headrace.errors import ConnectError, EngineError, TransientError, UsageError

        text = str(exc)
        status = 400
        if isinstance(exc, ConnectError | TransientError):
            status = 503
        elif isinstance(exc, EngineError):
            status = 500
        elif lookup and isinstance(exc, UsageError):
            status = 404
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": text}, status_code=status)
        return self.page(request, "error.html", status, title="Error", message=text)

    # -- overview --------------------------------------------------------------------

    def overview(self, request: Request) -> Response:
        board = self.dashboard
        runs = Section(lambda: board.runs(limit=RECENT_RUNS))
        steps = Section(board.steps)
        checks = Section(board.check_runs)
        slos = Section(board.slos)
        cost = Section(board.costs)
        recent = runs.data or []
        finished = [r for r in recent if r["status"] in ("succeeded", "failed")]
        stats = {
            "last": recent[0] if recent else None,
            "runs": len(recent),
            "success_pct": (
                100.0 * sum(r["status"] == "succeeded" for r in finished) / len(finished)
                if finished
                else None
            ),
            "checks": (checks.data or [None])[-1],
        }
        duration = charts.trend(steps.data or [], "seconds")
        rows = charts.trend(steps.data or [], "rows_loaded")
        return self.page(
            request,
            "overview.html",
            title="Overview",
            runs=runs,
            stats=stats,
            duration=charts.trend_summary(duration),
            rows=charts.trend_summary(rows),
            steps=steps,
            checks=checks,
            slos=slos,
            cost=cost,
        )

    def api_overview(self, request: Request) -> Response:
        board = self.dashboard
        try:
            steps = board.steps()
            payload = {
                "timeline": charts.timeline(board.runs(limit=RECENT_RUNS)),
                "duration": charts.trend(steps, "seconds"),
                "rows": charts.trend(steps, "rows_loaded"),
                "quality": charts.quality(board.check_runs()),
            }
        except HeadraceError as exc:
            return self.failure(request, exc)
        return JSONResponse(payload)

    # -- runs ------------------------------------------------------------------------

    def runs(self, request: Request) -> Response:
        pipeline = request.query_params.get("pipeline") or None
        try:
            found = self.dashboard.runs(pipeline=pipeline, limit=200)
        except HeadraceError as exc:
            return self.failure(request, exc)
        return self.page(request, "runs.html", title="Runs", runs=found, pipeline=pipeline)

    def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            detail = self.dashboard.run_detail(run_id)
        except HeadraceError as exc:
            return self.failure(request, exc, lookup=True)
        return self.page(request, "run.html", title=f"Run {run_id}", run=detail)

    def api_runs(self, request: Request) -> Response:
        pipeline = request.query_params.get("pipeline") or None
        try:
            return JSONResponse({"runs": self.dashboard.runs(pipeline=pipeline, limit=200)})
        except HeadraceError as exc:
            return self.failure(request, exc)

    def api_run(self, request: Request) -> Response:
        try:
            return JSONResponse(self.dashboard.run_detail(request.path_params["run_id"]))
        except HeadraceError as exc:
            return self.failure(request, exc, lookup=True)

    # -- lineage ---------------------------------------------------------------------

    def lineage(self, request: Request) -> Response:
        from headrace.web.dag import layout

        try:
            graph = self.dashboard.call(self.dashboard.project.graph)
        except HeadraceError as exc:
            return self.failure(request, exc)
        return self.page(request, "lineage.html", title="Lineage", dag=layout(graph))

    def model_lineage(self, request: Request) -> Response:
        from headrace.transform.lineage_render import render_json, resolve_target

        model = request.path_params["model"]
        try:
            found = self.dashboard.call(self.dashboard.project.lineage)
            table, _ = resolve_target(found, model)
            detail = render_json(found, table)
        except HeadraceError as exc:
            return self.failure(request, exc, lookup=True)
        return self.page(request, "model.html", title=f"Lineage of {table}", model=detail)

    # -- tables and queries ------------------------------------------------------------

    def tables(self, request: Request) -> Response:
        try:
            found = self.dashboard.tables()
        except HeadraceError as exc:
            return self.failure(request, exc)
        return self.page(request, "tables.html", title="Tables", tables=found, sql="")

    def table(self, request: Request) -> Response:
        name = request.path_params["table"]
        try:
            described = self.dashboard.table(name)
        except HeadraceError as exc:
            return self.failure(request, exc, lookup=True)
        quoted = f"{described['schema']}.{described['name']}"
        sql = f"SELECT *\nFROM {quoted}\nLIMIT 100"
        return self.page(request, "table.html", title=quoted, table=described, sql=sql)

    async def query(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from headrace.web.query import run_query

        if request.method == "GET":
            sql = request.query_params.get("sql", "")
            return self.page(request, "query.html", title="Query", sql=sql, outcome=None)
        form = await request.form()
        sql = str(form.get("sql") or "")
        if not sql.strip():
            return self.page(request, "query.html", 400, title="Query", sql=sql, outcome=None)
        outcome = await run_in_threadpool(run_query, self.dashboard, sql)
        status = 200 if outcome.result is not None else 400
        return self.page(request, "query.html", status, title="Query", sql=sql, outcome=outcome)

    # -- metrics and sign-in -----------------------------------------------------------

    def metrics(self, request: Request) -> Response:
        return Response(self.dashboard.metrics(), media_type=PROMETHEUS_TYPE)

    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if self.token is None:
            return RedirectResponse(target, status_code=303)
        if request.method == "GET":
            return self.page(request, "login.html", title="Sign in", next=target, wrong=False)
        form = await request.form()
        given = str(form.get("token") or "")
        target = safe_next(str(form.get("next") or "/"))
        if not same_token(given, self.token):
            return self.page(request, "login.html", 401, title="Sign in", next=target, wrong=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            session_value(self.token),
            httponly=True,
            samesite="strict",
            path="/",
            secure=request.url.scheme == "https",
        )
        return response

    def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response
