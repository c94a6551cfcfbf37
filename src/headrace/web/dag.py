"""A layered drawing of the project DAG for an SVG (Sugiyama-style, kept small).

Each step goes in the column of its dependency depth (longest path from a root). An edge
that skips columns gets a waypoint in each column it crosses, so that it runs through a
gap of its own instead of behind a box. Within a column, boxes and waypoints are ordered
by the mean position of their neighbours, sweeping left to right and back a few times:
the classic barycenter heuristic, which removes most crossings in DAGs of this size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from headrace.transform.graph import ProjectGraph

NODE_W = 196
NODE_H = 44
WAYPOINT_H = 10
COL_GAP = 64
ROW_GAP = 16
MARGIN = 8
MAX_LABEL = 24
SWEEPS = 4


@dataclass
class PlacedNode:
    """A box: what it is, where it is, and where it links."""

    name: str
    kind: str  # "load" | "model" | "source"
    table: str
    deps: list[str]
    layer: int = 0
    x: float = 0.0
    y: float = 0.0
    href: str = ""

    @property
    def label(self) -> str:
        """The first line: a model's or source's table name without its schema, else the
        pipeline name; shortened to fit the box."""
        text = self.name if self.kind == "load" else self.name.rpartition(".")[2]
        return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"

    @property
    def detail(self) -> str:
        """The second line: what the box is, and its schema or target table."""
        if self.kind == "load":
            return f"pipeline → {self.table}"
        schema = self.name.rpartition(".")[0]
        return f"{self.kind} · {schema}" if schema else self.kind


@dataclass
class Layout:
    """Nodes, edges as SVG path data, and the drawing's size."""

    nodes: list[PlacedNode]
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, path d)
    width: float = 0.0
    height: float = 0.0
    node_w: int = NODE_W
    node_h: int = NODE_H


@dataclass
class _Slot:
    """A box or an edge's waypoint in one column."""

    key: str
    layer: int
    height: int
    y: float = 0.0
    ins: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)


def layout(graph: ProjectGraph) -> Layout:
    """Place every pipeline, model and source table of ``graph``."""
    nodes = _nodes(graph)
    slots = {name: _Slot(name, node.layer, NODE_H) for name, node in nodes.items()}
    chains: list[tuple[str, str, list[str]]] = []
    for node in nodes.values():
        for dep in node.deps:
            chain = [dep]
            for layer in range(nodes[dep].layer + 1, node.layer):
                key = f"{dep}->{node.name}@{layer}"
                slots[key] = _Slot(key, layer, WAYPOINT_H)
                chain.append(key)
            chain.append(node.name)
            for a, b in zip(chain, chain[1:], strict=False):
                slots[a].outs.append(b)
                slots[b].ins.append(a)
            chains.append((dep, node.name, chain))
    columns = _order(slots)
    for column in columns:
        y = float(MARGIN)
        for key in column:
            slots[key].y = y
            y += slots[key].height + ROW_GAP
    placed = Layout(list(nodes.values()))
    for node in placed.nodes:
        node.x = _x(node.layer)
        node.y = slots[node.name].y
    placed.edges = [(a, b, _path([slots[k] for k in chain])) for a, b, chain in chains]
    placed.width = _x(len(columns)) - COL_GAP + MARGIN
    placed.height = MARGIN + max(
        (slots[c[-1]].y + slots[c[-1]].height for c in columns if c), default=0.0
    )
    # Reading order for keyboard users: column by column, top to bottom.
    placed.nodes.sort(key=lambda n: (n.layer, n.y))
    return placed


def _nodes(graph: ProjectGraph) -> dict[str, PlacedNode]:
    nodes = {
        name: PlacedNode(name, node.kind, node.table, sorted(node.deps))
        for name, node in graph.nodes.items()
    }
    for table, readers in sorted(graph.sources.items()):
        if table not in nodes:
            nodes[table] = PlacedNode(table, "source", table, [])
        for reader, _ in readers:
            if reader in nodes and table not in nodes[reader].deps:
                nodes[reader].deps.append(table)
    for node in nodes.values():
        node.deps = [d for d in node.deps if d in nodes]
    memo: dict[str, int] = {}
    for node in nodes.values():
        node.layer = _depth(node.name, nodes, memo)
        node.href = _href(node)
    return nodes


def _depth(name: str, nodes: dict[str, PlacedNode], memo: dict[str, int]) -> int:
    if name not in memo:
        memo[name] = 0  # a cycle (already refused by the graph) cannot recurse forever
        memo[name] = 1 + max((_depth(d, nodes, memo) for d in nodes[name].deps), default=-1)
    return memo[name]


def _order(slots: dict[str, _Slot]) -> list[list[str]]:
    count = 1 + max((s.layer for s in slots.values()), default=-1)
    columns: list[list[str]] = [[] for _ in range(count)]
    for key in sorted(slots):
        columns[slots[key].layer].append(key)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        layers = range(1, count) if down else range(count - 2, -1, -1)
        for layer in layers:
            near = columns[layer - 1] if down else columns[layer + 1]
            columns[layer] = _by_centre(columns[layer], near, slots, down)
    return columns


def _by_centre(
    column: list[str], near: list[str], slots: dict[str, _Slot], down: bool
) -> list[str]:
    """``column`` sorted by the mean place of each entry's neighbours in ``near``; an entry
    with none keeps the place it has."""
    rank = {key: i for i, key in enumerate(near)}
    current = {key: i for i, key in enumerate(column)}

    def centre(key: str) -> float:
        links = slots[key].ins if down else slots[key].outs
        places = [rank[k] for k in links if k in rank]
        return sum(places) / len(places) if places else float(current[key])

    return sorted(column, key=lambda key: (centre(key), current[key]))


def _x(layer: int) -> float:
    return float(MARGIN + layer * (NODE_W + COL_GAP))


def _path(chain: list[_Slot]) -> str:
    """Out of the first box's right side, straight through each waypoint's column, into
    the last box's left side; S-curves in the gaps between columns."""
    first, last = chain[0], chain[-1]
    points = [(_x(first.layer) + NODE_W, first.y + first.height / 2)]
    for slot in chain[1:-1]:
        mid = slot.y + slot.height / 2
        points += [(_x(slot.layer), mid), (_x(slot.layer) + NODE_W, mid)]
    points.append((_x(last.layer) - 6, last.y + last.height / 2))
    d = f"M{points[0][0]:g},{points[0][1]:g}"
    for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
        if y1 == y2 or x2 - x1 >= NODE_W:
            d += f" L{x2:g},{y2:g}"
        else:
            bend = (x2 - x1) / 2
            d += f" C{x1 + bend:g},{y1:g} {x2 - bend:g},{y2:g} {x2:g},{y2:g}"
    return d


def _href(node: PlacedNode) -> str:
    if node.kind == "model":
        return f"/lineage/{quote(node.table)}"
    if node.kind == "load":
        return f"/runs?pipeline={quote(node.name)}"
    return f"/tables/{quote(node.table)}"
