"""The service layer: everything the CLI, MCP server and dashboard do goes through here.

A project is a folder with a ``headrace.yml`` (optional: without one, defaults apply and
the current directory is the root). DuckDB paths in the project file are relative to the
project root; URLs given on the command line are relative to the working directory.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.engines.registry import create_engine
from headrace.engines.url import EngineURL, parse_url

if TYPE_CHECKING:
    from headrace.advisor.advise import AdviseOptions
    from headrace.advisor.health import HealthReport
    from headrace.advisor.measure import QueryTiming
    from headrace.advisor.model import Workload
    from headrace.advisor.report import AdviceReport
    from headrace.config import ConnectionConfig, ProjectConfig
    from headrace.demo import DemoResult
    from headrace.engines.base import EngineAdapter, PingResult
    from headrace.load.model import LoadRequest, LoadResult
    from headrace.load.quarantine import QuarantineSummary
    from headrace.load.runner import Progress
    from headrace.observe.cost import CostReport
    from headrace.observe.runs import RunDetail, RunSummary
    from headrace.observe.slo import SloStatus
    from headrace.quality.compile import CompiledTable
    from headrace.quality.model import CheckDef
    from headrace.quality.run import CheckRun
    from headrace.runtime.dag import RunOutcome
    from headrace.schema import Contract, TableSchema
    from headrace.transform.graph import ProjectGraph
    from headrace.transform.lineage import Lineage
    from headrace.transform.runner import PlanItem


@dataclass
class Project:
    """A loaded project: its root folder and validated configuration."""

    root: Path
    config: ProjectConfig
    config_file: Path | None = None

    @classmethod
    def discover(cls, start: Path | None = None, config_file: Path | None = None) -> Project:
        """Load ``config_file``, or the nearest headrace.yml above ``start``, or defaults."""
        from headrace.config import ProjectConfig, find_config, load_config

        start = (start or Path.cwd()).resolve()
        path = config_file or find_config(start)
        if path is None:
            return cls(root=start, config=ProjectConfig())
        path = path.resolve()
        return cls(root=path.parent, config=load_config(path), config_file=path)

    def connection(self, target: str | None = None) -> tuple[ConnectionConfig, EngineURL]:
        """Resolve a connection name, URL or None (the warehouse) to its config and URL."""
        connection = self.config.resolve_connection(target)
        from_project = target is None or "://" not in target
        url = parse_url(connection.url)
        base = self.root if from_project else Path.cwd()
        return connection, resolve_relative(url, base)

    def engine(self, target: str | None = None, *, read_only: bool = False) -> EngineAdapter:
        """An unconnected adapter for a connection name, URL, or the project warehouse."""
        connection, url = self.connection(target)
        return create_engine(
            url,
            read_only=read_only or connection.read_only,
            statement_timeout=connection.statement_timeout,
        )

    def ping(self, target: str | None = None) -> PingResult:
        """Connect to ``target`` and time a round trip."""
        with self.engine(target) as engine:
            return engine.ping()

    def load(
        self,
        request: LoadRequest,
        *,
        to: str | None = None,
        progress: Progress | None = None,
        base_dir: Path | None = None,
        lock: str | None = None,
        lock_wait: float = 0.0,
        timeout: float | None = None,
    ) -> LoadResult:
        """Run one load into ``to`` (a URL or connection name; default the warehouse);
        with ``lock``, no other run holding that lock on the target overlaps it; past
        ``timeout`` seconds the running statement is cancelled and the load rolls back."""
        from headrace.load.runner import run_load
        from headrace.runtime.lock import run_lock
        from headrace.runtime.timeout import step_timeout

        with (
            self.engine(to) as engine,
            one_writer(engine),
            run_lock(engine, lock or "", lock_wait) if lock else nullcontext(),
            step_timeout(engine, timeout),
        ):
            return run_load(
                engine,
                request,
                base_dir=base_dir or Path.cwd(),
                progress=progress,
                source_engine_factory=self.source_engine,
            )

    def run_pipelines(
        self,
        names: list[str],
        progress: Progress | None = None,
        *,
        checks: bool = True,
        threads: int = 1,
        resume: bool = False,
        wait_s: float | None = None,
        window: tuple[str, str] | None = None,
        full_refresh: bool = False,
    ) -> RunOutcome:
        """Run the selected pipelines and models (all when ``names`` is empty) as a DAG;
        with ``checks``, each written table's checks run right after it is written."""
        from headrace.runtime.dag import run_dag

        return run_dag(
            self,
            names,
            threads=threads,
            resume=resume,
            wait_s=wait_s,
            run_checks=checks,
            progress=progress,
            window=window,
            full_refresh=full_refresh,
        )

    def graph(self) -> ProjectGraph:
        """Pipelines and SQL models as one DAG (models found under ``models.path``)."""
        from headrace.transform.runner import project_graph

        return project_graph(self)

    def plan(self, selectors: list[str], *, full_refresh: bool = False) -> list[PlanItem]:
        """What ``headrace run`` would do and why, changing nothing."""
        from headrace.transform.runner import plan

        return plan(self, selectors, full_refresh=full_refresh)

    def compile_model(self, name: str, dialect: str | None = None) -> str:
        """A model's SQL as it will run (for ``dialect``, default the warehouse's)."""
        from headrace.transform.runner import compile_sql

        return compile_sql(self, name, dialect)

    def lineage(self) -> Lineage:
        """Table and column lineage of the project's models."""
        from headrace.transform.runner import project_lineage

        return project_lineage(self)

    def advise(self, options: AdviseOptions, to: str | None = None) -> AdviceReport:
        """Recommend indexes for a workload; verify/apply them when asked."""
        from headrace.advisor.advise import advise

        with self.engine(to) as engine:
            return advise(engine, options, base=Path.cwd())

    def bench(
        self, workload: str, to: str | None = None, *, repeat: int = 10
    ) -> tuple[Workload, list[QueryTiming]]:
        """Measure a workload's latencies and plans as the database stands."""
        from headrace.advisor.advise import bench

        with self.engine(to) as engine:
            return bench(engine, workload, repeat=repeat, base=Path.cwd())

    def checks_for_table(
        self, table: str, to: str | None = None, extra: Sequence[CheckDef] = ()
    ) -> CheckRun | None:
        """Run the project's checks on one table, plus ``extra`` (a model's own checks);
        None when there are none."""
        from headrace.quality.run import run_checks
        from headrace.quality.spec import load_project_checks

        with self.engine(to) as engine:
            wanted = ".".join(engine.split_table(table))
            checks = [
                c
                for c in load_project_checks(self.config_file, self.root)
                if ".".join(engine.split_table(c.table)) == wanted
            ]
            checks.extend(extra)
            return run_checks(engine, checks) if checks else None

    def quarantine_list(
        self, to: str | None = None, table: str | None = None
    ) -> list[QuarantineSummary]:
        """Runs with quarantined rows."""
        from headrace.load.quarantine import list_quarantine

        with self.engine(to) as engine:
            return list_quarantine(engine, table)

    def quarantine_show(
        self, run_id: str, to: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Quarantined rows of one run."""
        from headrace.load.quarantine import show_quarantine

        with self.engine(to) as engine:
            return show_quarantine(engine, run_id, limit=limit)

    def quarantine_replay(
        self,
        run_id: str,
        to: str | None = None,
        schema: TableSchema | None = None,
        contract: Contract | None = None,
    ) -> list[LoadResult]:
        """Re-validate and load one run's quarantined rows exactly once."""
        from headrace.load.quarantine import replay

        with self.engine(to) as engine:
            return replay(engine, run_id, schema=schema, contract=contract)

    def checks(self, tables: list[str], checks_file: Path | None = None) -> list[CheckDef]:
        """Check definitions from a file, or from headrace.yml and checks/*.yml."""
        from headrace.errors import UsageError
        from headrace.quality.spec import load_check_file, load_project_checks, select_tables

        found = (
            load_check_file(checks_file)
            if checks_file
            else load_project_checks(self.config_file, self.root)
        )
        if not found:
            raise UsageError(
                "no checks defined",
                hint="add a checks: section to headrace.yml, checks/*.yml, or pass --checks FILE",
            )
        return select_tables(found, tables) if tables else found

    def explain_checks(
        self, tables: list[str], to: str | None = None, checks_file: Path | None = None
    ) -> list[CompiledTable]:
        """The queries ``headrace check`` would run."""
        from headrace.quality.run import explain

        checks = self.checks(tables, checks_file)
        with self.engine(to) as engine:
            return explain(engine, checks, display=True)

    def run_checks(
        self,
        tables: list[str],
        to: str | None = None,
        checks_file: Path | None = None,
        samples: int = 5,
    ) -> CheckRun:
        """Run the checks and store their results."""
        from headrace.quality.run import run_checks

        checks = self.checks(tables, checks_file)
        with self.engine(to) as engine:
            return run_checks(engine, checks, samples=samples)

    def index_health(self, to: str | None = None) -> HealthReport:
        """Unused, duplicate, invalid and bloated indexes, and foreign keys without one."""
        from headrace.advisor.health import index_health

        # Read-only on servers: a report must never change the database it inspects.
        _, url = self.connection(to)
        with self.engine(to, read_only=url.scheme != "duckdb") as engine:
            return index_health(engine)

    # -- observe: run history, SLOs, cost (headrace.observe) -------------------------------

    def runs(
        self, pipeline: str | None = None, since_s: float | None = None, limit: int = 100
    ) -> list[RunSummary]:
        """Recorded ``headrace run`` runs, newest first."""
        from headrace.observe.runs import list_runs

        with self._run_store() as engine:
            return list_runs(engine, pipeline=pipeline, since_s=since_s, limit=limit)

    def run_detail(self, run_id: str) -> RunDetail:
        """One run with its steps and check results."""
        from headrace.observe.runs import get_run

        with self._run_store() as engine:
            return get_run(engine, run_id)

    def slos(self) -> list[SloStatus]:
        """Success rate, error budget and freshness of each pipeline and model."""
        from headrace.observe.slo import compute_slos
        from headrace.observe.targets import project_targets

        names = project_targets(self).names
        with self._run_store() as engine:
            return compute_slos(engine, self.config.observe, names)

    def costs(self) -> CostReport:
        """Projected monthly cost of each pipeline and model against the budget."""
        from headrace.observe.cost import estimate_costs

        with self._run_store() as engine:
            return estimate_costs(engine, self)

    def _run_store(self) -> EngineAdapter:
        # Reports only read: read-only on servers, as for index health.
        _, url = self.connection(None)
        if url.scheme == "duckdb" and url.path not in ("", ":memory:"):
            if not Path(url.path).expanduser().exists():
                # Opening a missing DuckDB file would create it; an empty store answers.
                return create_engine(parse_url("duckdb:///:memory:"))
        return self.engine(None, read_only=url.scheme != "duckdb")

    def source_engine(self, target: str) -> EngineAdapter:
        """An adapter to read from: read-only on servers (a DuckDB file may be the target
        itself, which one process cannot open twice with different settings)."""
        _, url = self.connection(target)
        return self.engine(target, read_only=url.scheme != "duckdb")


# Loads into one DuckDB database take turns within a process: DuckDB has one writer at a
# time (parallel writers only conflict and retry), and it parallelises each load itself.
_DUCKDB_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


def one_writer(engine: EngineAdapter) -> AbstractContextManager[object]:
    """Within this process, one writer at a time per DuckDB file (no-op elsewhere)."""
    if engine.dialect != "duckdb" or engine.url.path in ("", ":memory:"):
        return nullcontext()
    key = str(Path(engine.url.path).expanduser().resolve())
    with _WRITERS_GUARD:
        return _DUCKDB_WRITERS.setdefault(key, threading.Lock())


def resolve_relative(url: EngineURL, base: Path) -> EngineURL:
    """Make a relative DuckDB file path absolute against ``base``."""
    if url.scheme != "duckdb" or url.path in ("", ":memory:"):
        return url
    path = Path(url.path).expanduser()
    if path.is_absolute():
        return url
    absolute = (base / path).resolve()
    return parse_url(f"duckdb:///{absolute}")


def run_demo(directory: Path) -> DemoResult:
    """Write the sample project to ``directory`` and load it into its DuckDB warehouse."""
    from headrace.demo import run_demo as _run_demo

    return _run_demo(directory)
