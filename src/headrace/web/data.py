"""Where the dashboard's data comes from: read-only sessions on the warehouse, lent one
request at a time, and the observe, catalog and lineage functions run over them.

The sessions are the MCP server's (``SessionPool``, sessions opened read-only with a
statement timeout): the dashboard can never write, whatever a page or query asks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from headrace.mcp.database import SessionPool

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.project import Project

T = TypeVar("T")

# How far back the trend charts look.
TREND_WINDOW_S = 30 * 86400.0


class Dashboard:
    """The project, its read-only sessions and the limits of the query form."""

    def __init__(
        self,
        project: Project,
        *,
        target: str | None = None,
        timeout_s: float = 10.0,
        max_rows: int = 1000,
        max_chars: int = 200_000,
    ) -> None:
        from headrace.engines.registry import create_engine

        _, url = project.connection(target)

        def factory() -> EngineAdapter:
            return create_engine(url, read_only=True, statement_timeout=timeout_s)

        self.project = project
        self.pool = SessionPool(factory, size=4)
        self.max_rows = max_rows
        self.max_chars = max_chars
        # One DuckDB file admits one writing process or many reading ones, and one process
        # must open it with one configuration: requests take turns, and sessions close after
        # each so that `headrace run` in another terminal can write between page loads.
        self._gate: AbstractContextManager[Any] = (
            threading.RLock() if self.pool.dialect == "duckdb" else nullcontext()
        )

    @property
    def dialect(self) -> str:
        """The warehouse's SQL dialect (duckdb or postgres)."""
        return self.pool.dialect

    @contextmanager
    def session(self) -> Iterator[EngineAdapter]:
        """A read-only session for one request."""
        with self._gate:
            try:
                with self.pool.session() as engine:
                    yield engine
            finally:
                if self.pool.dialect == "duckdb":
                    self.pool.close()

    def call(self, fn: Callable[[], T]) -> T:
        """Run a service-layer call that opens its own connection, in turn with requests."""
        with self._gate:
            return fn()

    def close(self) -> None:
        """Close every idle session (on shutdown)."""
        self.pool.close()

    # -- runs ------------------------------------------------------------------------

    def runs(self, *, pipeline: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent runs, newest first, as JSON-ready dicts."""
        from headrace.observe.runs import list_runs

        with self.session() as engine:
            return [r.to_json() for r in list_runs(engine, pipeline=pipeline, limit=limit)]

    def run_detail(self, run_id: str) -> dict[str, Any]:
        """One run with its steps and checks (UsageError when unknown)."""
        from headrace.observe.runs import get_run

        with self.session() as engine:
            return get_run(engine, run_id).to_json()

    def steps(self, since_s: float = TREND_WINDOW_S) -> list[dict[str, Any]]:
        """Steps of the trend window, oldest first."""
        from headrace.observe.runs import step_history

        with self.session() as engine:
            return [s.to_json() for s in step_history(engine, since_s=since_s)]

    def check_runs(self, since_s: float = TREND_WINDOW_S) -> list[dict[str, Any]]:
        """Per stored check run: when, how many checks, how many passed."""
        from headrace.web.quality import check_runs

        with self.session() as engine:
            return check_runs(engine, since_s)

    # -- SLOs and cost ---------------------------------------------------------------

    def slos(self) -> list[dict[str, Any]]:
        """Each pipeline's SLO status and error budget."""
        from headrace.observe.slo import compute_slos
        from headrace.observe.targets import project_targets

        names = project_targets(self.project).names
        with self.session() as engine:
            found = compute_slos(engine, self.project.config.observe, names)
        return [s.to_json() for s in found]

    def costs(self) -> dict[str, Any]:
        """The projected monthly cost by pipeline against the budget."""
        from headrace.observe.cost import estimate_costs

        with self.session() as engine:
            return estimate_costs(engine, self.project).to_json()

    def metrics(self) -> bytes:
        """The Prometheus text exposition, read through a dashboard session."""
        from headrace.errors import HeadraceError
        from headrace.observe.metrics import render

        try:
            with self.session() as engine:
                return render(self.project, engine)
        except HeadraceError:
            # No session (no warehouse yet, or a writer holds the file): the collector
            # then reports headrace_up 0 with its reason rather than the scrape failing.
            with self._gate:
                return render(self.project)

    # -- catalog and queries ---------------------------------------------------------

    def tables(self) -> list[dict[str, Any]]:
        """Tables and views of the warehouse."""
        from headrace.mcp.catalog import list_tables

        with self.session() as engine:
            return list_tables(engine, None)

    def table(self, name: str, sample_rows: int = 20) -> dict[str, Any]:
        """Columns, keys and a few rows of one table."""
        from headrace.mcp.catalog import describe_table
        from headrace.mcp.database import capped_query

        with self.session() as engine:
            described = describe_table(engine, name)
            ref = engine.quote_table(f"{described['schema']}.{described['name']}")
            sample = capped_query(
                engine, f"SELECT * FROM {ref}", max_rows=sample_rows, max_chars=self.max_chars
            )
        described["sample"] = sample.to_json()
        return described
