"""The project DAG: pipelines (loads) and SQL models, with edges found by parsing SQL.

A model depends on whatever creates the tables it reads: another model, or the pipeline
that loads that table. Tables that neither creates are *sources*: declared under
``models.sources`` or found in the warehouse. Selection follows dbt: ``name`` (just it),
``+name`` (with everything upstream), ``name+`` (with everything downstream), ``tag:x``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headrace.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from headrace.config.pipelines import PipelineConfig
    from headrace.transform.model import SqlModel, TableRef


@dataclass
class Node:
    """A step of the DAG: a pipeline's load or a model's build."""

    name: str
    kind: str  # "load" | "model"
    table: str  # what it writes
    deps: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    model: SqlModel | None = None


@dataclass
class ProjectGraph:
    """Nodes by name (pipelines and models share one namespace) plus source tables."""

    nodes: dict[str, Node]
    sources: dict[str, list[tuple[str, TableRef]]]  # table -> [(model, ref)] reading it
    # Each model's references resolved to the table the compiled SQL names.
    resolved: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def models(self) -> list[SqlModel]:
        return [n.model for n in self.nodes.values() if n.model is not None]

    def downstream(self, name: str) -> set[str]:
        """Every node that (transitively) depends on ``name``."""
        children: dict[str, set[str]] = {}
        for node in self.nodes.values():
            for dep in node.deps:
                children.setdefault(dep, set()).add(node.name)
        found: set[str] = set()
        stack = [name]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def upstream(self, name: str) -> set[str]:
        """Every node ``name`` (transitively) depends on."""
        found: set[str] = set()
        stack = [name]
        while stack:
            for dep in self.nodes[stack.pop()].deps:
                if dep not in found:
                    found.add(dep)
                    stack.append(dep)
        return found

    def order(self, selected: Iterable[str] | None = None) -> list[str]:
        """``selected`` (default all) in dependency order; ties keep definition order."""
        wanted = set(self.nodes if selected is None else selected)
        result: list[str] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            for dep in self.nodes[name].deps:
                visit(dep)
            if name in wanted:
                result.append(name)

        for name in self.nodes:
            visit(name)
        return result

    def select(self, selectors: Sequence[str]) -> list[str]:
        """The nodes a selection names, in dependency order (all when empty)."""
        if not selectors:
            return self.order()
        chosen: set[str] = set()
        for selector in selectors:
            chosen |= self._select_one(selector)
        return self.order(chosen)

    def _select_one(self, selector: str) -> set[str]:
        text = selector.strip()
        up, down = text.startswith("+"), text.endswith("+")
        core = text.strip("+")
        if core.startswith("tag:"):
            tag = core[4:]
            base = {n.name for n in self.nodes.values() if tag in n.tags}
            if not base:
                tags = sorted({t for n in self.nodes.values() for t in n.tags})
                raise UsageError(
                    f"no model has tag {tag!r}", hint=f"tags: {', '.join(tags) or 'none'}"
                )
        else:
            base = {self.find(core)}
        found = set(base)
        for name in base:
            if up:
                found |= self.upstream(name)
            if down:
                found |= self.downstream(name)
        return found

    def find(self, name: str) -> str:
        """A node by its name, a model's table name, or the table a pipeline loads."""
        key = name.lower()
        if name in self.nodes:
            return name
        if key in self.nodes:
            return key
        matches = sorted(
            n.name for n in self.nodes.values() if key in (n.table, n.table.split(".")[-1])
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UsageError(f"{name!r} is ambiguous", hint=f"say which: {', '.join(matches)}")
        known = ", ".join(sorted(self.nodes)) or "none defined"
        raise UsageError(
            f"unknown pipeline or model {name!r}", hint=f"pipelines and models: {known}"
        )


def build_graph(
    pipelines: Mapping[str, PipelineConfig],
    models: Sequence[SqlModel],
    declared_sources: Sequence[str] = (),
) -> ProjectGraph:
    """Resolve every model's references; unknown dependencies, ambiguous names and cycles
    are ConfigErrors naming the file and line."""
    nodes: dict[str, Node] = {}
    for name, pipeline in pipelines.items():
        nodes[name] = Node(name, "load", _normal(pipeline.table), list(pipeline.depends_on))
    writers: dict[str, str] = {}  # table -> node writing it
    for node in nodes.values():
        writers.setdefault(node.table, node.name)
    for model in models:
        if model.name in nodes:
            raise ConfigError(
                f"model {model.name} has the same name as a pipeline",
                file=str(model.path),
                hint="rename the pipeline or the model's file",
            )
        if model.name in writers:
            raise ConfigError(
                f"model {model.name} writes the table pipeline {writers[model.name]} loads",
                file=str(model.path),
                hint="a table has one writer; rename the model or the pipeline's table",
            )
        nodes[model.name] = Node(model.name, "model", model.name, tags=model.tags, model=model)
        writers[model.name] = model.name
    declared = {_normal(s) for s in declared_sources}
    graph = ProjectGraph(nodes, {})
    for model in models:
        resolved: dict[str, str] = {}
        for ref in model.refs:
            if ref.name == model.name:
                if model.materialized != "incremental":
                    raise ConfigError(
                        f"model {model.name} reads itself",
                        file=str(model.path),
                        line=ref.line,
                        hint="only an incremental model may read its own earlier rows",
                    )
                resolved[ref.name] = model.name
                continue
            writer = _resolve(ref, model, writers)
            if writer is None:
                resolved[ref.name] = ref.name
                if ref.name not in declared:
                    graph.sources.setdefault(ref.name, []).append((model.name, ref))
                continue
            resolved[ref.name] = nodes[writer].table
            if writer not in model.deps:
                model.deps.append(writer)
        nodes[model.name].deps = list(model.deps)
        graph.resolved[model.name] = resolved
    _check_cycles(graph)
    return graph


def _resolve(ref: TableRef, model: SqlModel, writers: Mapping[str, str]) -> str | None:
    """The node writing the table ``ref`` names, None for a source."""
    if ref.name in writers:
        return writers[ref.name]
    parts = ref.name.split(".")
    if len(parts) == 2 and parts[0] in ("main", "public") and parts[1] in writers:
        return writers[parts[1]]  # an unqualified pipeline table lands in the default schema
    if len(parts) > 1:
        return None
    matches = sorted(
        {w for table, w in writers.items() if table.split(".")[-1] == ref.name and w != model.name}
    )
    if len(matches) > 1:
        raise ConfigError(
            f"{ref.name!r} in model {model.name} is ambiguous: {', '.join(matches)} all"
            " write a table of that name",
            file=str(model.path),
            line=ref.line,
            hint="qualify it with its schema",
        )
    return matches[0] if matches else None


def _check_cycles(graph: ProjectGraph) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in graph.nodes[name].deps:
            if dep not in graph.nodes:
                raise ConfigError(f"pipeline {name!r} depends on unknown pipeline {dep!r}")
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise _cycle_error(graph, cycle)
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in graph.nodes:
        if name not in state:
            visit(name)


def _cycle_error(graph: ProjectGraph, cycle: list[str]) -> ConfigError:
    text = " -> ".join(reversed(cycle))  # reads in data-flow order
    for name, dep in zip(cycle, cycle[1:], strict=False):
        model = graph.nodes[name].model
        if model is None:
            continue
        table = graph.nodes[dep].table
        line = next((r.line for r in model.refs if graph.resolved[name].get(r.name) == table), None)
        return ConfigError(
            f"models depend on each other in a cycle: {text}",
            file=str(model.path),
            line=line,
            hint=f"{name} reads {table}; break the cycle there or elsewhere",
        )
    return ConfigError(f"steps depend on each other in a cycle: {text}")


def _normal(table: str) -> str:
    return ".".join(part.strip('"').lower() for part in table.split("."))
