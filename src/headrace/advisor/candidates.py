"""Candidate indexes read off the SQL of a workload.

Each query is qualified against the known table columns, and every predicate, join key,
GROUP BY and ORDER BY ... LIMIT is traced to the base table it filters (through aliases,
CTEs and subqueries). From what one query asks of one table come a few index shapes:
the composite B-tree order that serves it best (equality columns, then one range column,
then sort columns), narrower variants, an INCLUDE variant for index-only scans, and
partial indexes for low-cardinality constants. Selection, not this module, decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from headrace.advisor.analyze import (
    ColumnSource,
    QueryScopes,
    UnusableQuery,
    parse_statement,
    query_tables,
)
from headrace.advisor.model import IndexCandidate, TableMeta, Workload

__all__ = ["TableUsage", "generate_candidates", "query_tables", "table_usages"]

# A constant compared with a column of at most this many distinct values gets a partial
# index: each value then selects a large slice that a key column would barely narrow.
LOW_CARDINALITY = 10
# More INCLUDE columns than this and the index starts to copy the table.
MAX_INCLUDE = 3

T = TypeVar("T")
Shape = tuple[tuple[str, ...], tuple[str, ...], str | None]


@dataclass
class TableUsage:
    """What one query asks of one table as it appears in the query (a self-join has two)."""

    table: str  # "schema.table"
    eq: list[str] = field(default_factory=list)  # =, IN, IS NULL, join keys
    ranges: list[str] = field(default_factory=list)  # <, <=, >, >=, BETWEEN, LIKE 'x%'
    constants: dict[str, exp.Expr] = field(default_factory=dict)  # eq column -> literal
    sort: list[str] | None = None  # ORDER BY columns an index order can serve (with LIMIT)
    group: list[str] = field(default_factory=list)
    referenced: list[str] = field(default_factory=list)  # every column the query reads
    exact: bool = True  # columns fully qualified (so ``referenced`` is complete)


def generate_candidates(
    workload: Workload,
    tables: Mapping[str, TableMeta],
    *,
    max_width: int = 3,
    dialect: str = "postgres",
    default_schema: str = "public",
) -> list[IndexCandidate]:
    """Index candidates for the workload's queries, deduplicated, existing indexes skipped."""
    if max_width < 1:
        raise ValueError("max_width must be at least 1")
    metas = {name.lower(): meta for name, meta in tables.items()}
    found: dict[tuple[object, ...], IndexCandidate] = {}
    for position, query in enumerate(workload.queries):
        try:
            usages = table_usages(query.sql, metas, dialect=dialect, default_schema=default_schema)
        except UnusableQuery:
            continue  # capture already reported it; nothing to index from it
        for usage in usages:
            meta = metas.get(usage.table)
            if meta is None:
                continue
            known = set(meta.columns)
            for columns, include, where in _shapes(usage, meta, max_width):
                candidate = IndexCandidate(
                    meta.table, columns, include, where, frozenset({position})
                )
                if not columns or not known.issuperset(columns + include):
                    continue
                if any(candidate.covered_by(existing) for existing in meta.indexes):
                    continue
                earlier = found.get(candidate.key)
                if earlier is not None:
                    candidate = replace(earlier, queries=earlier.queries | candidate.queries)
                found[candidate.key] = candidate
    return list(found.values())


def table_usages(
    sql: str,
    tables: Mapping[str, TableMeta],
    *,
    dialect: str = "postgres",
    default_schema: str = "public",
) -> list[TableUsage]:
    """What ``sql`` asks of each base table it reads; raises ``UnusableQuery`` on bad SQL."""
    statement = parse_statement(sql, dialect)
    scopes = QueryScopes(
        statement,
        {name: meta.columns for name, meta in tables.items()},
        dialect=dialect,
        default_schema=default_schema,
    )
    collector = _Collector(scopes)
    for scope in scopes.select_scopes():
        collector.scope(scope)
    return list(collector.usages.values())


class _Collector:
    """Walks the scopes of one query and fills a :class:`TableUsage` per table node."""

    def __init__(self, scopes: QueryScopes) -> None:
        self.scopes = scopes
        self.usages: dict[int, TableUsage] = {}

    def usage(self, source: ColumnSource) -> TableUsage:
        found = self.usages.get(id(source.node))
        if found is None:
            found = TableUsage(source.table, exact=self.scopes.exact)
            self.usages[id(source.node)] = found
        return found

    def resolve(self, node: exp.Expr, scope: Scope) -> ColumnSource | None:
        node = _unparen(node)
        return self.scopes.resolve(node, scope) if isinstance(node, exp.Column) else None

    def scope(self, scope: Scope) -> None:
        select = scope.expression
        assert isinstance(select, exp.Select)
        for column in scope.columns:
            source = self.scopes.resolve(column, scope)
            if source is not None:
                _add(self.usage(source).referenced, source.column)
        where = select.args.get("where")
        if where is not None:
            for condition in _conjuncts(where.this):
                self.predicate(condition, scope, None)
        for join in select.args.get("joins") or []:
            on = join.args.get("on")
            if on is None:
                continue
            # In an outer join, ON filters only the joined side; the other keeps all rows.
            only = join.this if join.side else None
            for condition in _conjuncts(on):
                self.predicate(condition, scope, only)
        self.group_by(select, scope)
        self.order_by(select, scope)

    def predicate(self, condition: exp.Expr, scope: Scope, only: exp.Expr | None) -> None:
        def accept(source: ColumnSource | None) -> TableUsage | None:
            if source is None or (only is not None and source.node is not only):
                return None
            return self.usage(source)

        if isinstance(condition, exp.EQ):
            left, right = _unparen(condition.this), _unparen(condition.expression)
            lsource, rsource = self.resolve(left, scope), self.resolve(right, scope)
            sides = ((lsource, right, rsource), (rsource, left, lsource))
            for source, other, other_source in sides:
                usage = accept(source)
                if usage is None or source is None:
                    continue
                if isinstance(other, exp.Column):
                    # A join key: this side can be the inner side of a nested loop.
                    if other_source is None or other_source.node is not source.node:
                        _add(usage.eq, source.column)
                elif _constant(other):
                    _add(usage.eq, source.column)
                    if _literal(other) and source.column not in usage.constants:
                        usage.constants[source.column] = other
        elif isinstance(condition, exp.In):
            usage = accept(self.resolve(condition.this, scope))
            values = condition.expressions
            if usage is not None and (
                condition.args.get("query") is not None
                or condition.args.get("unnest") is not None
                or (values and all(_constant(v) for v in values))
            ):
                _add(usage.eq, _unparen(condition.this).name)
        elif isinstance(condition, exp.Is) and isinstance(condition.expression, exp.Null):
            usage = accept(self.resolve(condition.this, scope))
            if usage is not None:
                _add(usage.eq, _unparen(condition.this).name)
        elif isinstance(condition, exp.GT | exp.GTE | exp.LT | exp.LTE):
            for column, other in (
                (condition.this, condition.expression),
                (condition.expression, condition.this),
            ):
                source = self.resolve(column, scope)
                usage = accept(source)
                if usage is not None and source is not None and _constant(_unparen(other)):
                    _add(usage.ranges, source.column)
        elif isinstance(condition, exp.Between):
            source = self.resolve(condition.this, scope)
            usage = accept(source)
            bounds = (condition.args.get("low"), condition.args.get("high"))
            if (
                usage is not None
                and source is not None
                and all(b is not None and _constant(b) for b in bounds)
            ):
                _add(usage.ranges, source.column)
        elif isinstance(condition, exp.Like):
            source = self.resolve(condition.this, scope)
            usage = accept(source)
            pattern = _unparen(condition.expression)
            if (
                usage is not None
                and source is not None
                and isinstance(pattern, exp.Literal)
                and pattern.is_string
                and pattern.this[:1] not in ("", "%", "_")
            ):
                _add(usage.ranges, source.column)

    def group_by(self, select: exp.Select, scope: Scope) -> None:
        group = select.args.get("group")
        if group is None or not group.expressions:
            return
        sources = [self.resolve(e, scope) for e in group.expressions]
        node = _single_node(sources)
        if node is not None:
            usage = self.usage(node)
            if not usage.group:
                usage.group = [s.column for s in sources if s is not None]

    def order_by(self, select: exp.Select, scope: Scope) -> None:
        order = select.args.get("order")
        if order is None or not (select.args.get("limit") or select.args.get("fetch")):
            return
        items = order.expressions
        directions = {bool(item.args.get("desc")) for item in items}
        # A B-tree scanned either way gives ASC NULLS LAST or DESC NULLS FIRST (PostgreSQL's
        # defaults); mixed directions or other NULLS placement need a different key.
        if len(directions) != 1 or any(
            bool(item.args.get("nulls_first")) != bool(item.args.get("desc")) for item in items
        ):
            return
        aliases = {s.alias: s.unalias() for s in select.selects if s.alias}
        sources = []
        for item in items:
            target = _unparen(item.this)
            if isinstance(target, exp.Column) and not target.table and target.name in aliases:
                target = aliases[target.name]
            sources.append(self.resolve(target, scope))
        node = _single_node(sources)
        if node is not None:
            usage = self.usage(node)
            if usage.sort is None:
                usage.sort = [s.column for s in sources if s is not None]


def _shapes(usage: TableUsage, meta: TableMeta, max_width: int) -> list[Shape]:
    """The index shapes worth costing for one table usage, best first."""
    distinct = meta.n_distinct
    # Most selective equality column first; unknown ones last, in query order.
    eq = sorted(_unique(usage.eq), key=lambda c: (c not in distinct, -distinct.get(c, 0.0)))
    low = next((c for c in usage.ranges if c not in eq), None)
    sort = [c for c in _unique(usage.sort or []) if c not in eq]
    group = [c for c in _unique(usage.group) if c not in eq]
    keys: list[list[str]] = []
    if low is not None and sort and sort[0] != low:
        # The range and the order cannot share the key: one candidate for each.
        full = [*eq, low]
        keys.append(full)
        keys.append([*eq, *sort])
    else:
        full = [*eq, *sort] if sort else [*eq, *([low] if low else [])]
        keys.append(full)
    if group:
        keys.append([*eq, *group])
    if eq:
        keys.append(eq)
    keys.extend([c] for c in eq)
    if low is not None:
        keys.append([low])

    shapes: list[Shape] = []
    for key in keys:
        _add(shapes, (tuple(_unique(key)[:max_width]), (), None))
    lead = tuple(_unique(full)[:max_width])
    others = tuple(c for c in _unique(usage.referenced) if c not in lead)
    if lead and usage.exact and 0 < len(others) <= MAX_INCLUDE:
        _add(shapes, (lead, others, None))
    for column, constant in usage.constants.items():
        count = distinct.get(column)
        rest = [c for c in _unique(full) if c != column]
        if column in eq and count is not None and count <= LOW_CARDINALITY and rest:
            predicate = exp.EQ(
                this=exp.column(column, quoted=True), expression=_unqualified(constant)
            )
            where = predicate.sql(dialect="postgres")
            _add(shapes, (tuple(rest[:max_width]), (), where))
    return shapes


def _conjuncts(condition: exp.Expr) -> Iterable[exp.Expr]:
    condition = _unparen(condition)
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.this)
        yield from _conjuncts(condition.expression)
    else:
        yield condition


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _constant(node: exp.Expr) -> bool:
    """No column of the current row in it (a scalar subquery counts as a constant)."""
    if isinstance(node, exp.Subquery | exp.Query):
        return True
    return not any(
        isinstance(n, exp.Column)
        for n in node.walk(prune=lambda n: isinstance(n, exp.Subquery | exp.Query))
    )


def _literal(node: exp.Expr) -> bool:
    """A literal value, possibly cast (``'open'``, ``DATE '2024-01-01'``, ``TRUE``)."""
    while isinstance(node, exp.Cast):
        node = node.this
    return isinstance(node, exp.Literal | exp.Boolean)


def _unqualified(node: exp.Expr) -> exp.Expr:
    """A copy of ``node`` without table qualifiers (a partial index names bare columns)."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy


def _single_node(sources: list[ColumnSource | None]) -> ColumnSource | None:
    """The first source when every one is a column of the same table node, else None."""
    if not sources or any(s is None for s in sources):
        return None
    first = sources[0]
    assert first is not None
    return first if all(s is not None and s.node is first.node for s in sources) else None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _add(items: list[T], item: T) -> None:
    if item not in items:
        items.append(item)
