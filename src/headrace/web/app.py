"""The dashboard as an ASGI app: routes, static files, the token guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from headrace.web.auth import Guard
from headrace.web.data import Dashboard
from headrace.web.routes import Pages
from headrace.web.templating import templates

if TYPE_CHECKING:
    from headrace.project import Project

STATIC = Path(__file__).parent / "static"
# The query form is the largest thing a client sends.
MAX_BODY_BYTES = 1_000_000


def create_app(
    project: Project,
    *,
    token: str | None = None,
    target: str | None = None,
    timeout_s: float = 10.0,
    max_rows: int = 1000,
) -> Starlette:
    """The dashboard for ``project`` (its warehouse, or ``target``); with ``token``, every
    request must carry it (bearer header or the login cookie)."""
    dashboard = Dashboard(project, target=target, timeout_s=timeout_s, max_rows=max_rows)
    pages = Pages(dashboard, templates(), token)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        dashboard.close()

    app = Starlette(
        routes=[*pages.routes(), Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(Guard, token=token)],
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.dashboard = dashboard
    return app
