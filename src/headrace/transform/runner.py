"""Model work the service layer exposes: the project graph, plans, compiles and builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.errors import ConfigError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.project import Project
    from headrace.transform.graph import ProjectGraph
    from headrace.transform.lineage import Lineage
    from headrace.transform.materialize import ModelBuild


@dataclass
class PlanItem:
    """One step of ``headrace plan``."""

    name: str
    kind: str  # load | model
    materialized: str | None
    action: str  # run | skip | maybe
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "kind": self.kind,
            "materialized": self.materialized,
            "action": self.action,
            "reason": self.reason,
        }


def project_graph(project: Project) -> ProjectGraph:
    """Pipelines and models as one DAG; DAG mistakes are errors with file and line."""
    from headrace.load.pipelines import order
    from headrace.transform.discover import discover_models
    from headrace.transform.graph import build_graph

    pipelines = project.config.pipelines
    order(pipelines, [], project.config_file)  # pipeline depends_on mistakes, with lines
    models = discover_models(project.root, project.config.models, project.config_file)
    return build_graph(pipelines, models, project.config.models.sources)


def check_sources(engine: EngineAdapter, graph: ProjectGraph) -> None:
    """Every table a model reads that nothing in the project creates must exist."""
    for table, readers in sorted(graph.sources.items()):
        if engine.table_info(table) is not None:
            continue
        model_name, ref = readers[0]
        model = graph.nodes[model_name].model
        raise ConfigError(
            f"model {model_name} reads {table}, which no model or pipeline creates and the"
            " warehouse does not have",
            file=str(model.path) if model else None,
            line=ref.line,
            hint="load it with a pipeline, add it to models.sources, or fix the name",
        )


def check_compiles(graph: ProjectGraph, names: list[str], dialect: str) -> None:
    """Every selected model renders for the target engine (else a ConfigError naming its
    file and line, before anything runs)."""
    from headrace.transform.compile import compile_model

    for name in names:
        model = graph.nodes[name].model
        if model is not None:
            compile_model(model, graph.resolved[name], dialect, pretty=False)


def plan(project: Project, selectors: list[str], *, full_refresh: bool = False) -> list[PlanItem]:
    """What ``headrace run`` with the same selection would do, changing nothing."""
    from headrace.transform.plan import current_versions, decide
    from headrace.transform.state import read_states

    graph = project_graph(project)
    names = graph.select(selectors)
    items: list[PlanItem] = []
    with project.engine(None) as engine:
        check_sources(engine, graph)
        check_compiles(graph, names, engine.dialect)
        # A plan changes nothing: not even the state tables are created if missing.
        states = read_states(engine) if _has_table(engine, "_headrace.models") else {}
        versions = current_versions(engine, graph, states)
        present = {f"{t.schema}.{t.name}".lower() for t in engine.list_tables(sizes=False)}
        may_change: set[str] = set()
        for name in names:
            node = graph.nodes[name]
            if node.model is None:
                items.append(PlanItem(name, "load", None, "run", "loads read their source"))
                may_change.add(name)
                continue
            model = node.model
            exists = model.name in present
            decision = decide(
                model, states.get(name), exists, versions, graph, full_refresh=full_refresh
            )
            upstream = [d for d in node.deps if d in may_change]
            if decision.run:
                items.append(PlanItem(name, "model", model.materialized, "run", decision.reason))
                may_change.add(name)
            elif upstream and model.materialized != "view":
                reason = f"runs if {' or '.join(upstream)} brings new data"
                items.append(PlanItem(name, "model", model.materialized, "maybe", reason))
                may_change.add(name)
            else:
                items.append(PlanItem(name, "model", model.materialized, "skip", decision.reason))
                if upstream:
                    may_change.add(name)  # a view shows its inputs' new data as its own
    return items


def build(
    project: Project,
    name: str,
    graph: ProjectGraph,
    run_id: str,
    *,
    full_refresh: bool = False,
    lock_wait: float = 0.0,
) -> ModelBuild:
    """Decide and build one model in the warehouse (exactly once: one transaction)."""
    from headrace.load.state import ensure_state
    from headrace.project import one_writer
    from headrace.runtime.lock import run_lock
    from headrace.transform.materialize import build_model
    from headrace.transform.plan import current_versions, decide
    from headrace.transform.state import read_states

    model = graph.nodes[name].model
    assert model is not None
    with (
        project.engine(None) as engine,
        one_writer(engine),
        run_lock(engine, f"model:{name}", lock_wait),
    ):
        ensure_state(engine)
        states = read_states(engine)
        versions = current_versions(engine, graph, states)
        exists = engine.table_info(model.name) is not None
        decision = decide(
            model, states.get(name), exists, versions, graph, full_refresh=full_refresh
        )
        return build_model(engine, model, graph, decision, run_id)


def compile_sql(project: Project, name: str, dialect: str | None = None) -> str:
    """A model's SQL as it runs on ``dialect`` (default: the warehouse's)."""
    from headrace.transform.compile import compile_model

    graph = project_graph(project)
    node = graph.nodes[graph.find(name)]
    if node.model is None:
        raise ConfigError(f"{name} is a pipeline, not a model", hint="compile takes a model")
    if dialect is None:
        dialect = project.engine(None).dialect
    return compile_model(node.model, graph.resolved[node.name], dialect)


def project_lineage(project: Project) -> Lineage:
    """Column lineage of every model; source columns come from the warehouse catalog, or
    from a pipeline's declared schema for a table not loaded yet."""
    from headrace.errors import ConnectError
    from headrace.load.pipelines import request_for
    from headrace.transform.compile import rewrite_tables
    from headrace.transform.lineage import analyse_models

    graph = project_graph(project)
    dialect = project.config.models.dialect
    models = [
        (m.name, rewrite_tables(m, graph.resolved[m.name], dialect).sql(dialect=dialect))
        for m in graph.models
    ]
    read = {t for m in graph.models for t in graph.resolved[m.name].values()} - {
        m.name for m in graph.models
    }
    sources: dict[str, dict[str, str]] = {}
    try:
        with project.engine(None, read_only=True) as engine:
            for table in sorted(read):
                if engine.table_info(table) is not None:
                    sources[table] = {c.name: c.data_type for c in engine.columns(table)}
    except ConnectError:
        pass  # no warehouse yet: declared schemas below, and errors name what is missing
    for name, node in graph.nodes.items():
        if node.kind == "load" and node.table in read and node.table not in sources:
            declared = request_for(name, project.config.pipelines[name], project.root).schema
            if declared is not None:
                sources[node.table] = {n: t.sql(dialect) for n, t in declared.columns}
    return analyse_models(models, sources, dialect)


def _has_table(engine: EngineAdapter, table: str) -> bool:
    return engine.table_info(table) is not None
