"""The table browser's query form: one read-only statement, through the MCP server's SQL
guard and read-only sessions, results capped by rows and characters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError
from headrace.mcp.sql_guard import SqlRefused, guard_sql

if TYPE_CHECKING:
    from headrace.web.data import Dashboard


@dataclass
class QueryOutcome:
    """What the form shows: a result, a refusal (rule and reason) or an error."""

    sql: str
    result: dict[str, Any] | None = None
    refused_rule: str | None = None
    refused_reason: str | None = None
    error: str | None = None


def run_query(dashboard: Dashboard, sql: str) -> QueryOutcome:
    """Guard and run ``sql``; a refusal or a database error is an outcome, not an exception."""
    from headrace.mcp.database import capped_query

    outcome = QueryOutcome(sql)
    try:
        guarded = guard_sql(sql, dashboard.dialect)
    except SqlRefused as exc:
        outcome.refused_rule, outcome.refused_reason = exc.rule, exc.reason
        return outcome
    started = time.perf_counter()
    rows = 0
    try:
        # An error leaves the `with` so the pool can replace a session that broke.
        with dashboard.session() as engine:
            result = capped_query(
                engine, guarded.sql, max_rows=dashboard.max_rows, max_chars=dashboard.max_chars
            )
        rows = len(result.rows)
        outcome.result = result.to_json()
    except HeadraceError as exc:
        outcome.error = str(exc)
    if dashboard.dialect == "postgres":
        # The advisor's "querylog" workload; a read-only DuckDB file cannot take it.
        from headrace.advisor.querylog import log_query

        elapsed = (time.perf_counter() - started) * 1000
        with dashboard.session() as engine:
            log_query(engine, "dashboard", guarded.sql, elapsed, rows, outcome.error)
    return outcome
