"""What the MCP tools do, as plain functions over a session pool and the project; the server
module wraps them with typed signatures and the docstrings an agent reads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError, UsageError
from headrace.mcp.catalog import describe_table, list_tables
from headrace.mcp.database import capped_query

if TYPE_CHECKING:
    from headrace.mcp.database import SessionPool
    from headrace.project import Project


@dataclass
class ServerOptions:
    """How ``headrace mcp`` was started."""

    target: str | None = None  # connection name or URL; None: the project warehouse
    allow_write: bool = False
    max_rows: int = 1000
    max_chars: int = 50_000
    timeout_s: float = 10.0
    query_log: bool = False  # opt in: it writes (the only write), through a second session


@dataclass
class Toolbox:
    """The tools' shared state: sessions, project, limits."""

    pool: SessionPool
    project: Project
    options: ServerOptions
    capabilities: set[str] = field(default_factory=set)

    # -- exploring --------------------------------------------------------------------

    def list_schemas(self) -> list[str]:
        with self.pool.session() as engine:
            return [s for s in engine.list_schemas() if s not in ("pg_toast",)]

    def list_tables(self, schema: str | None) -> list[dict[str, Any]]:
        with self.pool.session() as engine:
            return list_tables(engine, schema)

    def describe_table(self, table: str, sample_rows: int) -> dict[str, Any]:
        with self.pool.session() as engine:
            described = describe_table(engine, table)
            if sample_rows > 0:
                ref = engine.quote_table(f"{described['schema']}.{described['name']}")
                sample = capped_query(
                    engine,
                    f"SELECT * FROM {ref}",
                    max_rows=min(sample_rows, 100, self.options.max_rows),
                    max_chars=self.options.max_chars,
                )
                described["sample_rows"] = sample.rows
        return described

    # -- querying ---------------------------------------------------------------------

    def run_query(self, sql: str, params: list[Any] | None) -> dict[str, Any]:
        from headrace.mcp.sql_guard import guard_sql

        guarded = guard_sql(sql, self.pool.dialect)
        started = time.perf_counter()
        error: str | None = None
        rows = 0
        try:
            with self.pool.session() as engine:
                result = capped_query(
                    engine,
                    guarded.sql,
                    params or None,
                    max_rows=self.options.max_rows,
                    max_chars=self.options.max_chars,
                )
                rows = len(result.rows)
                return result.to_json()
        except HeadraceError as exc:
            error = str(exc)
            raise
        finally:
            self._log(guarded.sql, (time.perf_counter() - started) * 1000, rows, error)

    def explain_query(
        self, sql: str, hypothetical_indexes: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        from headrace.mcp.sql_guard import guard_sql

        guarded = guard_sql(sql, self.pool.dialect)
        if guarded.kind not in ("select", "values"):
            raise UsageError("explain_query takes a SELECT (without EXPLAIN in front)")
        with self.pool.session() as engine:
            hypothetical = self._hypothetical(engine, hypothetical_indexes or [])
            try:
                prefix = "EXPLAIN (FORMAT JSON) " if engine.dialect == "postgres" else "EXPLAIN "
                found = engine.fetch_capped(prefix + guarded.sql, max_rows=50)
            finally:
                if hypothetical:
                    engine.execute("SELECT hypopg_reset()")
        if engine.dialect == "postgres":
            plan = found.rows[0][0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            top = plan[0]["Plan"]
            return {
                "summary": plan_summary(top),
                "total_cost": top.get("Total Cost"),
                "estimated_rows": top.get("Plan Rows"),
                "hypothetical_indexes": hypothetical,
                "plan": plan,
            }
        text = "\n".join(str(r[-1]) for r in found.rows)
        return {"summary": text.splitlines(), "plan": text, "hypothetical_indexes": []}

    def _hypothetical(self, engine: Any, wanted: list[dict[str, Any]]) -> list[str]:
        """Create HypoPG indexes for this call (structured: no DDL text from the agent)."""
        if not wanted:
            return []
        from headrace.advisor.model import IndexCandidate

        if engine.dialect != "postgres" or "hypopg" not in self.capabilities:
            raise UsageError(
                "hypothetical indexes need PostgreSQL with the HypoPG extension installed",
                hint="CREATE EXTENSION hypopg (by a database owner)",
            )
        created = []
        for item in wanted:
            table, columns = item.get("table"), item.get("columns")
            if not isinstance(table, str) or not columns or not isinstance(columns, list):
                raise UsageError('each hypothetical index is {"table": "s.t", "columns": [...]}')
            candidate = IndexCandidate(
                table, tuple(str(c) for c in columns), tuple(map(str, item.get("include") or []))
            )
            engine.fetchall("SELECT indexrelid FROM hypopg_create_index(%s)", [candidate.ddl()])
            created.append(candidate.describe())
        return created

    # -- advisor, quality, runs, lineage ----------------------------------------------

    def recommend_indexes(self, queries: list[str], budget_mb: float | None) -> dict[str, Any]:
        from headrace.advisor.advise import AdviseOptions, advise_workload
        from headrace.advisor.model import Workload, WorkloadQuery
        from headrace.mcp.sql_guard import guard_sql

        workload = Workload("mcp")
        for i, sql in enumerate(queries, start=1):
            guarded = guard_sql(sql, self.pool.dialect)
            workload.queries.append(WorkloadQuery(guarded.sql, f"query {i}", label=f"query {i}"))
        with self.pool.session() as engine:
            report = advise_workload(
                engine, workload, AdviseOptions("mcp", budget_mb=budget_mb), real_build=False
            )
        return report.to_json()

    def index_health(self) -> dict[str, Any]:
        from headrace.advisor.health import index_health

        with self.pool.session() as engine:
            return index_health(engine).to_json()

    def check_quality(self, table: str | None) -> dict[str, Any]:
        from headrace.quality.run import run_checks

        checks = self.project.checks([table] if table else [])
        with self.pool.session() as engine:
            return run_checks(engine, checks, store=False).to_json()

    def list_runs(self, limit: int, pipeline: str | None) -> list[dict[str, Any]]:
        from headrace.observe.runs import list_runs

        with self.pool.session() as engine:
            runs = list_runs(engine, pipeline=pipeline, limit=max(1, min(limit, 200)))
        return [run.to_json() for run in runs]

    def get_run(self, run_id: str) -> dict[str, Any]:
        from headrace.observe.runs import get_run

        with self.pool.session() as engine:
            return get_run(engine, run_id).to_json()

    def lineage(self, model: str, column: str | None) -> dict[str, Any]:
        from headrace.transform.lineage_render import render_json, resolve_target

        found = self.project.lineage()
        target = f"{model}.{column}" if column else model
        table, col = resolve_target(found, target)
        return render_json(found, table, col)

    def run_pipeline(self, name: str) -> dict[str, Any]:
        """``headrace run NAME`` in a child process (its own writable connections); on a
        DuckDB file this server's read-only sessions step aside meanwhile."""
        command = [sys.executable, "-m", "headrace"]
        if self.project.config_file is not None:
            command += ["--config", str(self.project.config_file)]
        command += ["run", name, "--json"]
        with self.pool.exclusive():
            done = subprocess.run(
                command, cwd=self.project.root, capture_output=True, text=True, timeout=3600
            )
        if done.stdout.strip().startswith("{"):
            return dict(json.loads(done.stdout))
        raise UsageError((done.stderr.strip().splitlines() or ["run failed"])[-1])

    def _log(self, sql: str, duration_ms: float, rows: int, error: str | None) -> None:
        if not self.options.query_log:
            return
        from headrace.advisor.querylog import log_query

        with self.pool.session() as engine:
            log_query(engine, "mcp", sql, duration_ms, rows, error)


def plan_summary(node: dict[str, Any], depth: int = 0) -> list[str]:
    """One line per plan node: type, relation or index, estimated rows and cost."""
    parts = [str(node.get("Node Type", "?"))]
    if node.get("Relation Name"):
        parts.append(f"on {node['Relation Name']}")
    if node.get("Index Name"):
        parts.append(f"using {node['Index Name']}")
    line = (
        "  " * depth
        + " ".join(parts)
        + f" (rows={node.get('Plan Rows')}, cost={node.get('Total Cost')})"
    )
    lines = [line]
    for child in node.get("Plans", []):
        lines += plan_summary(child, depth + 1)
    return lines
