"""Walking and rendering lineage for ``headrace lineage``: text tree, JSON or Mermaid.

A target is a table (its table-level DAG plus each output column's direct sources) or one
column (its recursive upstream tree down to source columns). Output is deterministic (sorted
where the SQL gives no order) so it can be golden-tested and diffed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from headrace.errors import UsageError
from headrace.transform.lineage import UNKNOWN_TYPE, ColumnRef, Lineage, TableKind

_BRANCH, _LAST, _PIPE, _GAP = "├── ", "└── ", "│   ", "    "


@dataclass(frozen=True)
class LineageNode:
    """One column in an upstream tree; a source column is a leaf."""

    ref: ColumnRef
    kind: TableKind
    type: str
    children: tuple[LineageNode, ...] = ()


def trace(lineage: Lineage, model: str, column: str) -> LineageNode:
    """The upstream tree of ``model.column``: through models down to source columns."""
    table, _ = _require(lineage, model, column)
    return _trace(lineage, ColumnRef(table, column.strip().lower()))


def source_columns(node: LineageNode) -> list[ColumnRef]:
    """The source columns at the leaves of a tree, sorted and deduplicated."""
    if node.kind == "source":
        return [node.ref]
    return sorted({ref for child in node.children for ref in source_columns(child)})


def _trace(lineage: Lineage, ref: ColumnRef) -> LineageNode:
    column_type = lineage.column_types(ref.table).get(ref.column, UNKNOWN_TYPE)
    model = lineage.models.get(ref.table)
    if model is None:
        return LineageNode(ref, "source", column_type)
    children = tuple(_trace(lineage, up) for up in model.columns[ref.column])
    return LineageNode(ref, "model", column_type, children)


def resolve_target(lineage: Lineage, target: str) -> tuple[str, str | None]:
    """Split ``MODEL`` or ``MODEL.COLUMN`` into a known table and an optional column."""
    name = target.strip().lower()
    if lineage.has_table(name):
        return name, None
    table, _, column = name.rpartition(".")
    return _require(lineage, table if lineage.has_table(table) else name, column)


def _require(lineage: Lineage, table: str, column: str | None) -> tuple[str, str | None]:
    # Names are case-insensitive: look them up lower-cased, as the analysis stored them.
    table = table.strip().lower()
    column = column.strip().lower() if column is not None else column
    if not lineage.has_table(table):
        known = ", ".join(sorted(lineage.models)) or "none"
        raise UsageError(f"unknown model {table}", hint=f"models: {known}")
    if column is not None and column not in lineage.column_types(table):
        columns = ", ".join(lineage.column_types(table))
        raise UsageError(f"{table} has no column {column}", hint=f"columns: {columns}")
    return table, column


def render_text(lineage: Lineage, table: str, column: str | None = None) -> list[str]:
    """Lines of a text tree: the table's upstream DAG and columns, or one column's tree."""
    table, column = _require(lineage, table, column)
    if column is not None:
        return _node_lines(trace(lineage, table, column), "", "", root=True)
    lines = [f"{table}  [{lineage.kind(table)}]"]
    lines += _dag_lines(lineage, table, "", set())
    lines.append(f"downstream: {', '.join(lineage.downstream(table)) or 'none'}")
    lines.append("columns:")
    entries = list(_direct_sources(lineage, table).items())
    for index, (name, refs) in enumerate(entries):
        kind = lineage.column_types(table)[name]
        feeds = f"<- {', '.join(map(str, refs))}" if refs else "(no upstream columns)"
        if lineage.kind(table) == "source":
            feeds = "(source column)"
        glyph = _LAST if index == len(entries) - 1 else _BRANCH
        lines.append(f"{glyph}{name}  {kind}  {feeds}")
    model = lineage.models.get(table)
    if model is not None and model.filters:
        lines.append(f"filtered by: {', '.join(map(str, model.filters))}")
    return lines


def render_json(lineage: Lineage, table: str, column: str | None = None) -> dict[str, Any]:
    """A JSON-ready dict: tables up and down, columns with direct and ultimate sources."""
    table, column = _require(lineage, table, column)
    model = lineage.models.get(table)
    names = [column] if column is not None else list(lineage.column_types(table))
    direct = _direct_sources(lineage, table)
    columns = {
        name: {
            "type": lineage.column_types(table)[name],
            "sources": [str(ref) for ref in direct[name]],
            "source_columns": [str(ref) for ref in source_columns(trace(lineage, table, name))],
        }
        for name in names
    }
    result: dict[str, Any] = {
        "model": table,
        "kind": lineage.kind(table),
        "upstream": list(model.inputs) if model else [],
        "downstream": lineage.downstream(table),
        "columns": columns,
        "filters": [str(ref) for ref in model.filters] if model else [],
    }
    if column is not None:
        result["column"] = column
        result["tree"] = _node_json(trace(lineage, table, column))
    return result


def render_mermaid(lineage: Lineage, table: str, column: str | None = None) -> str:
    """A Mermaid flowchart: table nodes and edges, or one column's graph grouped by table."""
    table, column = _require(lineage, table, column)
    ids = _Ids()
    lines = ["flowchart LR"]
    if column is None:
        edges = sorted(_upstream_edges(lineage, table))
        edges += [(table, down) for down in lineage.downstream(table)]
        tables = sorted({table} | {name for edge in edges for name in edge})
        for name in tables:
            label = _label(name)
            shape = f'[("{label}")]' if lineage.kind(name) == "source" else f'["{label}"]'
            focus = ":::focus" if name == table else ""
            lines.append(f"    {ids.of(name)}{shape}{focus}")
        lines += [f"    {ids.of(up)} --> {ids.of(down)}" for up, down in edges]
        lines.append("    classDef focus stroke-width:3px")
        return "\n".join(lines) + "\n"
    root = trace(lineage, table, column)
    refs, links = _walk(root)
    for name in sorted({ref.table for ref in refs}):
        lines.append(f'    subgraph {ids.of(name)}["{_label(name)}"]')
        for ref in sorted(r for r in refs if r.table == name):
            focus = ":::focus" if ref == root.ref else ""
            lines.append(f'        {ids.of(str(ref))}["{_label(ref.column)}"]{focus}')
        lines.append("    end")
    lines += [f"    {ids.of(str(up))} --> {ids.of(str(down))}" for up, down in sorted(links)]
    lines.append("    classDef focus stroke-width:3px")
    return "\n".join(lines) + "\n"


def _direct_sources(lineage: Lineage, table: str) -> dict[str, list[ColumnRef]]:
    model = lineage.models.get(table)
    if model is not None:
        return model.columns
    return {name: [] for name in lineage.column_types(table)}


def _dag_lines(lineage: Lineage, table: str, prefix: str, shown: set[str]) -> list[str]:
    model = lineage.models.get(table)
    inputs = model.inputs if model else []
    lines: list[str] = []
    for index, name in enumerate(inputs):
        last = index == len(inputs) - 1
        again = name in shown and lineage.kind(name) == "model"
        note = ", shown above" if again else ""
        lines.append(f"{prefix}{_LAST if last else _BRANCH}{name}  [{lineage.kind(name)}{note}]")
        if not again:
            # Expand a shared upstream model once; a wide diamond DAG would repeat it otherwise.
            shown.add(name)
            lines += _dag_lines(lineage, name, prefix + (_GAP if last else _PIPE), shown)
    return lines


def _node_lines(node: LineageNode, prefix: str, glyph: str, root: bool = False) -> list[str]:
    lines = [f"{prefix}{glyph}{node.ref}  {node.type}  [{node.kind}]"]
    inner = prefix if root else prefix + (_GAP if glyph == _LAST else _PIPE)
    if node.kind == "model" and not node.children:
        lines.append(f"{inner}{_LAST}(no upstream columns)")
    for index, child in enumerate(node.children):
        lines += _node_lines(child, inner, _LAST if index == len(node.children) - 1 else _BRANCH)
    return lines


def _node_json(node: LineageNode) -> dict[str, Any]:
    return {
        "column": str(node.ref),
        "kind": node.kind,
        "type": node.type,
        "upstream": [_node_json(child) for child in node.children],
    }


def _upstream_edges(lineage: Lineage, table: str) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    pending = [table]
    while pending:
        down = pending.pop()
        model = lineage.models.get(down)
        for name in model.inputs if model else []:
            if (name, down) not in edges:
                edges.add((name, down))
                pending.append(name)
    return edges


def _walk(node: LineageNode) -> tuple[set[ColumnRef], set[tuple[ColumnRef, ColumnRef]]]:
    refs, links = {node.ref}, set()
    for child in node.children:
        links.add((child.ref, node.ref))
        child_refs, child_links = _walk(child)
        refs |= child_refs
        links |= child_links
    return refs, links


def _label(text: str) -> str:
    # Mermaid labels are quoted strings; a double quote must be an entity.
    return text.replace('"', "#quot;")


class _Ids:
    """Mermaid node ids: letters, digits and underscores only, one per name, no collisions."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def of(self, name: str) -> str:
        if name not in self._ids:
            base = re.sub(r"\W", "_", name, flags=re.ASCII)
            candidate, suffix = base, 2
            while candidate in self._ids.values():
                candidate, suffix = f"{base}_{suffix}", suffix + 1
            self._ids[name] = candidate
        return self._ids[name]
