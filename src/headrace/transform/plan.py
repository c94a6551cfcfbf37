"""Decide what a model's build must do, and why: the heart of ``headrace plan``.

A model runs when it is new (never built, or its relation is gone), when its SQL or
materialisation changed, when an input has new data since its last build (views never
need this: they read their inputs live), or when forced with ``--full-refresh``.
Otherwise it is up to date and the run skips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.transform.state import load_versions, normal_table, view_version

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.transform.graph import ProjectGraph
    from headrace.transform.model import SqlModel
    from headrace.transform.state import ModelState

NEVER_LOADED = "never-loaded"
NOT_BUILT = "not-built"


@dataclass
class Decision:
    """Whether and how to build a model."""

    run: bool
    mode: str  # view | table | full (an incremental model's first build) | incremental | skip
    reason: str
    inputs: dict[str, str | None] = field(default_factory=dict)
    watermark: Any = None


def decide(
    model: SqlModel,
    state: ModelState | None,
    exists: bool,
    versions: dict[str, str | None],
    graph: ProjectGraph,
    *,
    full_refresh: bool = False,
) -> Decision:
    """What building ``model`` now must do, given its recorded state and current versions."""
    inputs = input_versions(model, graph, versions)
    kind = model.materialized
    full = "view" if kind == "view" else ("table" if kind == "table" else "full")

    def go(mode: str, reason: str, watermark: Any = None) -> Decision:
        return Decision(True, mode, reason, inputs, watermark)

    if full_refresh:
        return go(full, "forced (--full-refresh)")
    if state is None:
        return go(full, "new")
    if not exists:
        return go(full, f"new: {model.name} is missing from the warehouse")
    if state.materialized != kind:
        return go(full, f"materialization changed from {state.materialized} to {kind}")
    changed_sql = state.sql_hash != model.sql_hash
    if kind == "view":
        return go("view", "changed SQL") if changed_sql else Decision(False, "skip", "up to date")
    if changed_sql and kind == "table":
        return go("table", "changed SQL")
    fresh = sorted(t for t, v in inputs.items() if v is None or state.inputs.get(t) != v)
    untracked = [t for t in fresh if inputs[t] is None]
    if changed_sql:
        return go(
            "incremental",
            "changed SQL (rows built before keep the old logic; --full-refresh rebuilds them)",
            state.watermark,
        )
    if not fresh:
        return Decision(False, "skip", "up to date", inputs)
    reason = (
        f"reads {untracked[0]}, whose changes headrace does not track"
        if untracked and len(untracked) == len(fresh)
        else f"new data in {', '.join(t for t in fresh if t not in untracked)}"
    )
    mode = "incremental" if kind == "incremental" else "table"
    return go(mode, reason, state.watermark if kind == "incremental" else None)


def input_versions(
    model: SqlModel, graph: ProjectGraph, versions: dict[str, str | None]
) -> dict[str, str | None]:
    """The current version of every table ``model`` reads (not itself)."""
    tables = {
        normal_table(t) for t in graph.resolved.get(model.name, {}).values() if t != model.name
    }
    return {t: versions.get(t) for t in sorted(tables)}


def current_versions(
    engine: EngineAdapter, graph: ProjectGraph, states: dict[str, ModelState]
) -> dict[str, str | None]:
    """Every project table's version now; sources no pipeline loads have none (None)."""
    loaded = load_versions(engine)
    versions: dict[str, str | None] = {}
    for node in graph.nodes.values():
        if node.kind == "load":
            versions[node.table] = loaded.get(node.table, NEVER_LOADED)
    for name in graph.order():
        model = graph.nodes[name].model
        if model is None:
            continue
        state = states.get(name)
        if state is None:
            versions[name] = NOT_BUILT
        elif model.materialized == "view":
            versions[name] = view_version(state.sql_hash, input_versions(model, graph, versions))
        else:
            versions[name] = state.version
    return versions
