"""Column-level lineage of SQL models: which upstream columns feed each output column.

Each model is qualified against the catalog (sources) plus the output schemas of the models
it reads, so ``SELECT *`` over a source or a model expands to real columns; sqlglot's
lineage walker then follows every output column through CTEs, subqueries, joins and set
operations down to columns of tables. Names are normalised to lower case (DuckDB
semantics). A model shadows a catalog table of the same name: the catalog may hold the
model's last materialisation, but lineage must follow the SQL.
"""

from __future__ import annotations

import graphlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeGuard, cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.lineage import Node, to_node
from sqlglot.lineage import lineage as sqlglot_lineage
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, traverse_scope
from sqlglot.schema import MappingSchema
from sqlglot.transforms import eliminate_window_clause

from headrace.errors import UsageError, first_line

UNKNOWN_TYPE = "unknown"
TableKind = Literal["model", "source"]
# Clauses whose columns decide which rows survive rather than what a column holds.
_FILTER_CLAUSES = (exp.Where, exp.Group, exp.Having, exp.Qualify)


class LineageError(UsageError):
    """A model's SQL cannot be analysed: bad SQL, unknown table or column, duplicate output."""

    def __init__(
        self, model: str, problem: str, *, hint: str | None = None, **context: str
    ) -> None:
        super().__init__(f"model {model}: {problem}", hint=hint, model=model, **context)
        self.model = model


@dataclass(frozen=True, order=True)
class ColumnRef:
    """A column of a table; ``table`` is ``schema.table``."""

    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class ModelLineage:
    """One model's outputs and the direct upstream columns (of models or sources) of each."""

    model: str
    columns: dict[str, list[ColumnRef]]  # in output order; refs sorted and deduplicated
    types: dict[str, str]  # output column -> SQL type, or "unknown"
    inputs: list[str]  # tables read, sorted
    filters: list[ColumnRef] = field(default_factory=list)  # read by WHERE/JOIN/GROUP BY/...


@dataclass(frozen=True)
class Lineage:
    """Lineage of a project: every model plus the catalog columns of the sources they read."""

    models: dict[str, ModelLineage]
    sources: dict[str, dict[str, str]]  # normalised catalog: table -> column -> type

    def kind(self, table: str) -> TableKind:
        """Whether a table is a model or a source (models win over catalog tables)."""
        return "model" if table in self.models else "source"

    def has_table(self, table: str) -> bool:
        """Whether the table is a known model or source."""
        return table in self.models or table in self.sources

    def column_types(self, table: str) -> dict[str, str]:
        """A known table's columns, in order, with their types."""
        if table in self.models:
            return dict(self.models[table].types)
        return dict(self.sources.get(table, {}))

    def downstream(self, table: str) -> list[str]:
        """The models that read ``table`` directly, sorted."""
        return sorted(name for name, model in self.models.items() if table in model.inputs)


def analyse_models(
    models: Sequence[tuple[str, str]],
    sources: Mapping[str, Mapping[str, str]],
    dialect: str = "duckdb",
) -> Lineage:
    """Column lineage of every model ``(name, sql)``; models may come in any order."""
    catalog = {
        _lower(table): {_lower(col): _normal_type(kind, dialect) for col, kind in cols.items()}
        for table, cols in sources.items()
    }
    parsed = {_lower(name): _parse(_lower(name), sql, dialect) for name, sql in models}
    if len(parsed) < len(models):
        twice = next(name for name, n in Counter(_lower(m) for m, _ in models).items() if n > 1)
        raise LineageError(twice, "is defined twice")
    order = _dependency_order({name: _tables(tree) for name, tree in parsed.items()})
    known: dict[str, dict[str, str]] = {k: v for k, v in catalog.items() if k not in parsed}
    analysed: dict[str, ModelLineage] = {}
    for name in order:
        analysed[name] = _analyse(name, parsed[name], known, dialect)
        known[name] = analysed[name].types
    ordered = {_lower(name): analysed[_lower(name)] for name, _ in models}
    read = {table for model in ordered.values() for table in model.inputs}
    return Lineage(ordered, {t: c for t, c in catalog.items() if t in read and t not in ordered})


def _lower(name: str) -> str:
    return name.strip().lower()


def _normal_type(kind: str, dialect: str) -> str:
    # One spelling per type, the same one annotate_types produces for model outputs.
    try:
        data_type = exp.DataType.build(kind, dialect=dialect)
    except (SqlglotError, ValueError):
        return UNKNOWN_TYPE
    return _type_name(data_type, dialect)


def _type_name(data_type: exp.DataType | None, dialect: str) -> str:
    if data_type is None or data_type.is_type(exp.DataType.Type.UNKNOWN):
        return UNKNOWN_TYPE
    return str(data_type.sql(dialect=dialect))


def _parse(model: str, sql: str, dialect: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise LineageError(model, f"SQL does not parse: {first_line(exc)}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise LineageError(model, "a model must be exactly one SELECT statement")
    query = statements[0].unnest() if isinstance(statements[0], exp.Subquery) else statements[0]
    if any(op.args.get("by_name") for op in query.find_all(exp.SetOperation)):
        hint = "list the columns in the same order in every branch instead"
        raise LineageError(model, "lineage cannot follow UNION BY NAME yet", hint=hint)
    # Inline WINDOW w AS (...) so a window's PARTITION BY / ORDER BY columns feed its column.
    inlined = cast(exp.Query, query.transform(eliminate_window_clause))
    return normalize_identifiers(inlined, dialect=dialect)


def _table_key(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def _tables(tree: exp.Query) -> set[str]:
    # Scopes tell a CTE reference from a real table; raw expression walking cannot.
    return {
        _table_key(source)
        for scope in traverse_scope(tree)
        for source in scope.sources.values()
        if _is_named(source)
    }


def _dependency_order(reads: Mapping[str, set[str]]) -> list[str]:
    sorter = graphlib.TopologicalSorter({m: sorted(t & reads.keys()) for m, t in reads.items()})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise LineageError(exc.args[1][0], f"models read each other in a cycle: {cycle}") from None


def _analyse(
    model: str, tree: exp.Query, known: Mapping[str, dict[str, str]], dialect: str
) -> ModelLineage:
    inputs = sorted(_tables(tree))
    for table in inputs:
        if table not in known:
            hint = "load it as a source or define a model with that name"
            raise LineageError(model, f"reads unknown table {table}", hint=hint, table=table)
    _check_names(model, tree)
    schema = MappingSchema(_nested(known), dialect=dialect, normalize=False)
    try:  # validation is ours below: it names the model, the table and the column
        tree = qualify(
            tree.copy(),
            dialect=dialect,
            schema=schema,
            identify=False,
            validate_qualify_columns=False,
            allow_partial_qualification=True,
        )
    except OptimizeError as exc:
        raise LineageError(model, first_line(exc)) from None
    root = build_scope(tree)
    assert root is not None  # a parsed Query always has a scope
    _check_columns(model, root, known)
    outputs = tree.named_selects
    for name, count in Counter(outputs).items():
        if count > 1:
            hint = "give one of them another alias"
            raise LineageError(model, f"output column {name} appears twice", hint=hint, column=name)
    nodes = sqlglot_lineage(None, tree, schema, dialect=dialect, scope=root, trim_selects=False)
    columns = {name: sorted(_leaf_refs(nodes[name])) for name in outputs}
    selects = annotate_types(tree, schema=schema, dialect=dialect).selects
    types = {name: _type_name(s.type, dialect) for name, s in zip(outputs, selects, strict=True)}
    return ModelLineage(model, columns, types, inputs, _filter_refs(root, schema, dialect))


def _nested(known: Mapping[str, dict[str, str]]) -> dict[str, object]:
    nested: dict[str, object] = {}
    for table, columns in known.items():
        *path, leaf = table.split(".")
        level = nested
        for part in path:
            level = level.setdefault(part, {})  # type: ignore[assignment]
        level[leaf] = dict(columns)
    return nested


def _check_names(model: str, tree: exp.Query) -> None:
    # DuckDB names an unaliased expression after its SQL text; a model must say what it means.
    first = tree
    while isinstance(first, exp.SetOperation):
        first = first.this
    for position, select in enumerate(first.selects, start=1):
        if not isinstance(select, exp.Alias | exp.Column | exp.Star | exp.Dot):
            hint = f"write {select.sql()} AS some_name"
            raise LineageError(model, f"output column {position} has no name", hint=hint)


def _check_columns(model: str, root: Scope, known: Mapping[str, dict[str, str]]) -> None:
    for scope in root.traverse():
        if isinstance(scope.expression, exp.Select) and scope.expression.is_star:
            raise LineageError(model, "cannot expand *: it reads a table function")
        for column in scope.columns:
            name, source = column.name, _source_of(scope, column.table)
            at = f"{column.table}.{name}" if column.table else name
            line = column.this.meta.get("line") if isinstance(column.this, exp.Expr) else None
            at += f" (line {line})" if line else ""
            if not column.table:
                problem = f"column {at} {_unresolved(scope, name, known)}"
                raise LineageError(model, problem, column=name)
            if source is None:
                if scope.pivots:  # a PIVOT names its own output; sqlglot's lineage maps it
                    continue
                problem = f"column {at}: no table or alias {column.table}"
                raise LineageError(model, problem, column=name)
            has = _columns_of(source, known)
            if has is not None and name not in has:
                table = _table_key(source) if _is_named(source) else column.table
                problem, hint = f"column {at} is not in {table}", f"{table} has {', '.join(has)}"
                raise LineageError(model, problem, hint=hint, table=table, column=name)


def _source_of(scope: Scope, alias: str) -> exp.Table | Scope | None:
    # A correlated subquery reads its enclosing query's tables.
    current: Scope | None = scope
    while current is not None and alias not in current.sources:
        current = current.parent
    return None if current is None else current.sources[alias]


def _unresolved(scope: Scope, name: str, known: Mapping[str, dict[str, str]]) -> str:
    # qualify leaves a column bare when no source, or more than one, has it.
    labels = {a: _table_key(s) if _is_named(s) else a for a, s in scope.sources.items()}
    owners = [labels[a] for a, s in scope.sources.items() if name in (_columns_of(s, known) or [])]
    if len(owners) > 1:
        return f"is ambiguous: it is in {', '.join(sorted(owners))}"
    return f"is not in {', '.join(sorted(labels.values())) or 'any table'}"


def _columns_of(source: exp.Table | Scope, known: Mapping[str, dict[str, str]]) -> list[str] | None:
    # None: VALUES, UNNEST and table functions name their columns themselves; trust the SQL.
    if isinstance(source, Scope):
        query = source.expression
        return query.named_selects if isinstance(query, exp.Query) else None
    return list(known.get(_table_key(source), {})) if _is_named(source) else None


def _is_named(source: object) -> TypeGuard[exp.Table]:
    # A table function (range(10) AS t(x)) is a Table too, but has no catalog entry.
    return isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)


def _leaf_refs(node: Node) -> set[ColumnRef]:
    refs = set()
    for step in node.walk():
        if _is_named(step.expression):
            # A leaf is named by the column as written after qualification: alias.column.
            column = exp.to_column(step.name)
            refs.add(ColumnRef(_table_key(step.expression), column.name))
    return refs


def _filter_refs(root: Scope, schema: MappingSchema, dialect: str) -> list[ColumnRef]:
    refs: set[ColumnRef] = set()
    for scope in root.traverse():
        for column in scope.columns:
            if not _in_filter(column, scope.expression):
                continue
            source = _source_of(scope, column.table)
            if _is_named(source):
                refs.add(ColumnRef(_table_key(source), column.name))
            elif isinstance(source, Scope):
                found = to_node(column.name, source, dialect, schema, trim_selects=False)
                refs |= _leaf_refs(found)
    return sorted(refs)


def _in_filter(column: exp.Expr, top: exp.Expr) -> bool:
    node: exp.Expr | None = column
    while node is not None and node is not top:
        parent = node.parent
        if isinstance(node, _FILTER_CLAUSES):
            return True
        if isinstance(parent, exp.Join) and node.arg_key in ("on", "using"):
            return True
        node = parent
    return False
