"""SQL analysis shared by workload capture and candidate generation.

Parse one statement and tell read queries from everything else, name the base tables a
query reads, and follow a column through aliases, CTEs and subqueries to the base table it
is read from. Table names are ``schema.table`` in lower case, like ``TableMeta.table``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from headrace.errors import UsageError, first_line

# Schemas whose tables are the engine's or headrace's own: queries on them are not workload.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "_headrace"})
# Prefix of the queries the advisor itself runs on user tables (value sampling), so that
# capturing pg_stat_statements or the query log later does not mistake them for workload.
OWN_QUERY_MARK = "/* headrace:advisor */"
# How deep a column may be followed through nested derived tables before giving up.
_MAX_DEPTH = 32


class UnusableQuery(UsageError):
    """A statement that cannot be part of a workload; the message is the reason."""


def parse_statement(sql: str, dialect: str) -> exp.Expr:
    """Parse exactly one statement, or raise :class:`UnusableQuery` saying why not."""
    try:
        with _quiet_fallbacks():
            parsed = [e for e in sqlglot.parse(sql, read=dialect) if e is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        near = error.get("highlight")
        where = f" near {near!r}" if near else ""
        raise UnusableQuery(
            f"does not parse: {error.get('description') or first_line(exc)}{where}"
        ) from None
    except SqlglotError as exc:
        raise UnusableQuery(f"does not parse: {first_line(exc)}") from None
    if len(parsed) != 1:
        raise UnusableQuery(f"does not parse: expected one statement, found {len(parsed)}")
    statement = parsed[0]
    # sqlglot reads stray words as a column or an alias; that is no statement at all.
    if isinstance(statement, exp.Condition | exp.Alias | exp.Identifier):
        raise UnusableQuery("does not parse: not a SQL statement")
    return statement


class _DropCommandFallback(logging.Filter):
    """sqlglot warns when it reads a statement as an opaque command; we report it instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


@contextmanager
def _quiet_fallbacks() -> Iterator[None]:
    logger = logging.getLogger("sqlglot")
    quiet = _DropCommandFallback()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def parse_read_query(sql: str, dialect: str) -> exp.Query:
    """Parse a statement that only reads (SELECT, WITH ... SELECT, set operations)."""
    statement = parse_statement(sql, dialect)
    problem = read_query_problem(statement)
    if problem:
        raise UnusableQuery(problem)
    assert isinstance(statement, exp.Query)
    return statement


def read_query_problem(statement: exp.Expr) -> str | None:
    """Why ``statement`` is not a plain read query, or None when it is one."""
    if not isinstance(statement, exp.Select | exp.SetOperation | exp.Subquery):
        return f"not a SELECT ({statement_kind(statement)})"
    if statement.find(exp.Insert, exp.Update, exp.Delete, exp.Merge):
        return "not a SELECT (data-modifying WITH)"
    for select in statement.find_all(exp.Select):
        if select.args.get("into"):
            return "not a SELECT (SELECT INTO)"
        if select.args.get("locks"):
            # Row locks write to the table and fail in read-only sessions.
            return "not a SELECT (SELECT ... FOR UPDATE/SHARE)"
    return None


def statement_kind(statement: exp.Expr) -> str:
    """A short upper-case name for the statement: INSERT, CREATE, EXPLAIN, ..."""
    if isinstance(statement, exp.Command):
        return str(statement.this).split()[0].upper() if statement.this else "COMMAND"
    if isinstance(statement, exp.Create | exp.Drop | exp.Alter):
        kind = statement.args.get("kind")
        return f"{statement.key.upper()} {kind}".strip() if kind else statement.key.upper()
    return statement.key.upper()


def table_name(table: exp.Table, default_schema: str) -> str:
    """``schema.table`` in lower case, the default schema filled in."""
    return f"{table.db or default_schema}.{table.name}".lower()


def is_base_table(source: object) -> bool:
    """True for a scope source that is a named table (not a CTE, subquery or function)."""
    return isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)


def base_tables(statement: exp.Expr, dialect: str, default_schema: str) -> set[str]:
    """Base tables a parsed query reads (CTE names excluded)."""
    statement = normalize_identifiers(statement.copy(), dialect=dialect)
    try:
        scopes = traverse_scope(statement)
    except SqlglotError:
        scopes = []
    if scopes:
        return {
            table_name(source, default_schema)
            for scope in scopes
            for source in scope.sources.values()
            if isinstance(source, exp.Table) and is_base_table(source)
        }
    # Scope building failed: fall back to every table node that is not a CTE name.
    ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    return {
        table_name(node, default_schema)
        for node in statement.find_all(exp.Table)
        if is_base_table(node) and not (not node.db and node.name in ctes)
    }


def query_tables(sql: str, dialect: str = "postgres", default_schema: str = "public") -> set[str]:
    """Base tables (``schema.table``) a query reads; raises ``UsageError`` if it does not parse."""
    return base_tables(parse_statement(sql, dialect), dialect, default_schema)


def is_system_table(name: str) -> bool:
    """True for catalog and headrace state tables (``pg_*`` names included)."""
    schema, _, table = name.partition(".")
    return schema in SYSTEM_SCHEMAS or table.startswith("pg_")


@dataclass(frozen=True)
class ColumnSource:
    """Where a column of a query is read from: one base table node, one of its columns."""

    node: exp.Table  # the table as it appears in the query (a self-join has two)
    table: str  # "schema.table"
    column: str


class QueryScopes:
    """A query qualified against known table columns, with its scopes and a column resolver.

    Qualification expands ``*`` and attaches every column to its source. When the query
    reads tables whose columns are unknown, sqlglot may refuse to qualify columns; then
    only tables are qualified and unqualified columns are resolved here (``exact`` False).
    """

    def __init__(
        self,
        statement: exp.Expr,
        columns: Mapping[str, Sequence[str]],
        *,
        dialect: str,
        default_schema: str,
    ) -> None:
        self.columns = {name.lower(): tuple(cols) for name, cols in columns.items()}
        self.default_schema = default_schema
        nested: dict[str, dict[str, dict[str, str]]] = {}
        for name, cols in self.columns.items():
            schema, _, table = name.partition(".")
            nested.setdefault(schema, {})[table] = {c: "UNKNOWN" for c in cols}
        mapping = MappingSchema(cast(dict[str, object], nested), dialect=dialect)
        self.exact = True
        try:
            self.expression = qualify(
                statement.copy(),
                dialect=dialect,
                db=default_schema,
                schema=mapping,
                validate_qualify_columns=False,
            )
        except SqlglotError:
            self.exact = False
            try:
                self.expression = qualify(
                    statement.copy(),
                    dialect=dialect,
                    db=default_schema,
                    schema=mapping,
                    qualify_columns=False,
                )
            except SqlglotError as exc:
                raise UnusableQuery(f"cannot analyse: {first_line(exc)}") from None
        try:
            self.scopes = traverse_scope(self.expression)
        except SqlglotError as exc:
            raise UnusableQuery(f"cannot analyse: {first_line(exc)}") from None

    def select_scopes(self) -> Iterator[Scope]:
        """Scopes whose expression is a SELECT (set operations are split into those)."""
        for scope in self.scopes:
            if isinstance(scope.expression, exp.Select):
                yield scope

    def scope_of(self, node: exp.Expr) -> Scope | None:
        """The innermost SELECT scope that contains ``node``."""
        by_id = {id(scope.expression): scope for scope in self.scopes}
        parent = node.parent
        while parent is not None:
            found = by_id.get(id(parent))
            if found is not None:
                return found
            parent = parent.parent
        return None

    def resolve(self, column: exp.Column, scope: Scope) -> ColumnSource | None:
        """The base table column behind ``column``, or None (expression, unknown source)."""
        return self._resolve(column.name, column.table, scope, 0)

    def _resolve(self, name: str, alias: str, scope: Scope, depth: int) -> ColumnSource | None:
        if depth > _MAX_DEPTH or not name:
            return None
        source: exp.Table | Scope | None = None
        if alias:
            current: Scope | None = scope
            while current is not None and source is None:
                source = current.sources.get(alias)
                current = current.parent
        else:
            sources = list(scope.sources.values())
            having = [s for s in sources if self._has_column(s, name)]
            if len(having) == 1:
                source = having[0]
            elif len(sources) == 1 and not self.exact:
                source = sources[0]
        if isinstance(source, exp.Table):
            if not is_base_table(source):
                return None
            return ColumnSource(source, table_name(source, self.default_schema), name)
        if isinstance(source, Scope) and isinstance(source.expression, exp.Select):
            for projection in source.expression.selects:
                if projection.alias_or_name == name:
                    inner = projection.unalias()
                    if isinstance(inner, exp.Column):
                        return self._resolve(inner.name, inner.table, source, depth + 1)
                    return None
        return None

    def _has_column(self, source: object, name: str) -> bool:
        if isinstance(source, exp.Table):
            return name in self.columns.get(table_name(source, self.default_schema), ())
        if isinstance(source, Scope) and isinstance(source.expression, exp.Query):
            return name in source.expression.named_selects
        return False
