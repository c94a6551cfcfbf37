"""Workload capture: the queries to advise for, from a SQL file, pg_stat_statements or the
query log. A statement that cannot be used is skipped with a reason, never fatal."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import TokenType

from headrace.advisor.analyze import (
    OWN_QUERY_MARK,
    ColumnSource,
    QueryScopes,
    UnusableQuery,
    base_tables,
    is_system_table,
    parse_read_query,
    parse_statement,
    read_query_problem,
)
from headrace.advisor.model import Skipped, Workload, WorkloadQuery
from headrace.advisor.querylog import LOG_TABLE
from headrace.engines.sql import quote_ident, quote_table
from headrace.errors import EngineError, UsageError, first_line
from headrace.load.state import STATE_SCHEMA, ph, state_table

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

DEFAULT_SCHEMAS = {"postgres": "public", "duckdb": "main"}

_NAME = re.compile(r"^\s*--\s*name\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_WEIGHT = re.compile(r"^\s*--\s*weight\s*:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
# pg_stat_statements writes "$1,$2"; sqlglot's tokenizer takes "$2,$" for a dollar quote.
_PARAMETER_GLUED = re.compile(r"\$(\d+)(?=[^\s\d])")
# Text that starts like a read query (after comments): worth reporting when it won't parse.
_LOOKS_READ = re.compile(r"^(\s|--[^\n]*\n|/\*.*?\*/)*(\(|select\b|with\b)", re.I | re.S)

PSS_SOURCE = "pg_stat_statements"
PSS_HINT = (
    "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf, restart"
    " PostgreSQL, then run CREATE EXTENSION pg_stat_statements in this database"
)
# pg_stat_statements keeps 5000 entries by default; reading them all stays cheap.
PSS_MAX_ROWS = 5000
# Values sampled per column to fill parameters (ranges take quartiles of these).
SAMPLE_VALUES = 20
# A LIMIT parameter gets this: a typical page size, small enough to favour index scans.
DEFAULT_LIMIT = 10
QUERYLOG_MAX_ROWS = 100_000


# -- a SQL file -----------------------------------------------------------------------------


def read_workload_file(path: Path, dialect: str = "postgres") -> Workload:
    """Queries of a SQL file, split on ``;``, labelled by ``-- name:`` / ``-- weight:``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
        raise UsageError(
            f"cannot read workload file {path}: {reason}",
            hint="pass a SQL file of SELECT statements separated by ';',"
            " or --workload pg_stat_statements | querylog",
        ) from None
    workload = Workload(source=str(path))
    for line, leading, sql in split_statements(text, dialect):
        position = f"{path.name}:{line}"
        name = _NAME.findall(leading)
        label = name[-1] if name else position
        weight = 1.0
        weights = _WEIGHT.findall(leading)
        if weights:
            try:
                weight = float(weights[-1])
            except ValueError:
                weight = -1.0
            if not weight > 0 or weight == float("inf"):
                reason = f"bad weight {weights[-1]!r} (write a positive number)"
                workload.skipped.append(Skipped(position, reason))
                continue
        try:
            parse_read_query(sql, dialect)
        except UnusableQuery as exc:
            workload.skipped.append(Skipped(position, exc.message))
            continue
        workload.queries.append(WorkloadQuery(sql, position, weight, label))
    return workload


def split_statements(text: str, dialect: str = "postgres") -> list[tuple[int, str, str]]:
    """``(line, leading comments, statement)`` per ``;``-separated statement of ``text``.

    Split on the tokenizer's semicolons, so ``;`` inside strings, quoted names, comments
    and dollar quotes does not split. ``line`` is where the statement's first token is.
    """
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except SqlglotError:
        # Unterminated quote or comment: split naively so the statements before it survive;
        # the broken one then fails to parse and is skipped with that reason.
        return _split_naive(text)
    found = []
    segment_start, first, last = 0, None, None
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if first is not None and last is not None:
                line = text.count("\n", 0, first.start) + 1
                found.append(
                    (line, text[segment_start : first.start], text[first.start : last.end + 1])
                )
            if token is not None:
                segment_start, first, last = token.end + 1, None, None
            continue
        first = first or token
        last = token
    return found


def _split_naive(text: str) -> list[tuple[int, str, str]]:
    found, offset = [], 0
    for piece in text.split(";"):
        body = piece.lstrip()
        lines = [ln for ln in body.splitlines() if not ln.strip().startswith("--")]
        if "".join(lines).strip():
            start = offset + len(piece) - len(body)
            leading_end = start + len(body) - len(body.lstrip("\n"))
            found.append((text.count("\n", 0, start) + 1, text[offset:leading_end], body.strip()))
        offset += len(piece) + 1
    return found


def check_tables(
    workload: Workload,
    known_tables: set[str],
    dialect: str = "postgres",
    *,
    default_schema: str | None = None,
) -> Workload:
    """The workload with queries on unknown tables moved to ``skipped``."""
    schema = default_schema or DEFAULT_SCHEMAS.get(dialect, "public")
    known = {name.casefold() for name in known_tables}
    checked = Workload(workload.source, [], list(workload.skipped))
    for query in workload.queries:
        try:
            tables = base_tables(parse_statement(query.sql, dialect), dialect, schema)
        except UnusableQuery as exc:
            checked.skipped.append(Skipped(query.position, exc.message))
            continue
        unknown = sorted(t for t in tables if t.casefold() not in known)
        if unknown:
            noun = "unknown table" if len(unknown) == 1 else "unknown tables"
            checked.skipped.append(Skipped(query.position, f"{noun} {', '.join(unknown)}"))
        else:
            checked.queries.append(query)
    return checked


# -- pg_stat_statements ---------------------------------------------------------------------


def capture_pg_stat_statements(
    engine: EngineAdapter, *, limit: int = 50, min_calls: int = 1
) -> Workload:
    """The top ``limit`` read queries by total time, parameters filled with sampled values.

    Entries whose parameters cannot be filled are reported in ``skipped`` and do not count
    towards ``limit``.
    """
    if engine.dialect != "postgres":
        raise UsageError("pg_stat_statements needs a PostgreSQL database")
    rows = engine.fetchall(
        "SELECT n.nspname, current_setting('server_version_num')::int"
        " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = %s",
        [PSS_SOURCE],
    )
    if not rows:
        raise UsageError("pg_stat_statements is not installed in this database", hint=PSS_HINT)
    view = f"{quote_ident(rows[0][0], 'postgres')}.{quote_ident(PSS_SOURCE, 'postgres')}"
    mean = "mean_exec_time" if int(rows[0][1]) >= 130000 else "mean_time"
    try:
        # One row per query: the same statement is kept per user and nesting level.
        entries = engine.fetchall(
            f"SELECT queryid, min(query), sum(calls), sum(calls * {mean}) FROM {view}"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " GROUP BY queryid HAVING sum(calls) >= %s ORDER BY 4 DESC LIMIT %s",
            [min_calls, PSS_MAX_ROWS],
        )
    except EngineError as exc:
        if "shared_preload_libraries" in exc.message:
            raise UsageError("pg_stat_statements is not loaded", hint=PSS_HINT) from None
        raise
    workload = Workload(PSS_SOURCE)
    sampler = _Sampler(engine)
    for queryid, text, calls, total_ms in entries:
        if len(workload.queries) >= limit:
            break
        position = f"pg_stat_statements queryid={queryid}"
        if OWN_QUERY_MARK in str(text):
            continue
        text = _PARAMETER_GLUED.sub(r"$\1 ", str(text))
        try:
            statement = parse_statement(text, "postgres")
        except UnusableQuery as exc:
            if _LOOKS_READ.match(text):
                workload.skipped.append(Skipped(position, exc.message))
            continue
        tables = base_tables(statement, "postgres", "public")
        # Writes, EXPLAIN, catalog and headrace's own queries are not the workload.
        if read_query_problem(statement) or not tables or any(map(is_system_table, tables)):
            continue
        try:
            sql = _fill_parameters(statement, tables, sampler)
        except UnusableQuery as exc:
            workload.skipped.append(Skipped(position, exc.message))
            continue
        weight = float(total_ms or 0.0) or float(calls)
        workload.queries.append(WorkloadQuery(sql, position, weight, position))
    return workload


def _fill_parameters(statement: exp.Expr, tables: set[str], sampler: _Sampler) -> str:
    """PostgreSQL SQL of ``statement`` with each ``$n`` replaced by a sampled real value."""
    numbers = sorted({int(p.name) for p in statement.find_all(exp.Parameter) if p.name.isdigit()})
    if not numbers:
        return statement.sql(dialect="postgres")
    scopes = QueryScopes(
        statement,
        {t: sampler.columns(t) for t in tables},
        dialect="postgres",
        default_schema="public",
    )
    literals: dict[int, exp.Expr] = {}
    problems: dict[int, str] = {}
    for parameter in scopes.expression.find_all(exp.Parameter):
        if not parameter.name.isdigit() or int(parameter.name) in literals:
            continue
        number = int(parameter.name)
        try:
            literals[number] = _value_for(parameter, scopes, sampler)
        except UnusableQuery as exc:
            problems.setdefault(number, exc.message)
    for number in numbers:
        if number not in literals:
            reason = problems.get(number, "not found in the analysed query")
            raise UnusableQuery(f"cannot fill parameter ${number}: {reason}")
    for parameter in list(statement.find_all(exp.Parameter)):
        if parameter.name.isdigit():
            parameter.replace(literals[int(parameter.name)].copy())
    return statement.sql(dialect="postgres")


@dataclass(frozen=True)
class _Use:
    """How a parameter is used: its role and the column it is compared with."""

    role: str  # eq | low | high | in | array
    source: ColumnSource
    index: int = 0  # position in an IN list (each gets a different value)


def _value_for(parameter: exp.Parameter, scopes: QueryScopes, sampler: _Sampler) -> exp.Expr:
    node: exp.Expr = parameter
    while isinstance(node.parent, exp.Cast | exp.Paren):
        node = node.parent
    parent = node.parent
    if isinstance(parent, exp.Limit | exp.Fetch):
        return exp.Literal.number(DEFAULT_LIMIT)
    if isinstance(parent, exp.Offset):
        return exp.Literal.number(0)
    use = _use_of(node, scopes)
    values = sampler.values(use.source)
    if use.role == "array":
        return exp.Array(expressions=[_literal(v) for v in values[:3]])
    if use.role == "in":
        return _literal(values[use.index % len(values)])
    if use.role in ("low", "high"):
        try:
            ordered = sorted(values)
        except TypeError:
            ordered = values
        # Quartiles: a range that surely matches rows but not the whole table.
        pick = len(ordered) // 4 if use.role == "low" else (3 * len(ordered)) // 4
        return _literal(ordered[min(pick, len(ordered) - 1)])
    return _literal(values[0])


def _use_of(node: exp.Expr, scopes: QueryScopes) -> _Use:
    parent = node.parent
    role_suffix = ""
    if isinstance(parent, exp.Any):
        node, parent, role_suffix = parent, parent.parent, "array"
    scope = scopes.scope_of(node)
    if parent is None or scope is None:
        raise UnusableQuery("not compared with a column")
    column: exp.Expr | None = None
    role = "eq"
    index = 0
    if isinstance(parent, exp.In) and node is not parent.this:
        column, role = parent.this, "in"
        index = next((i for i, e in enumerate(parent.expressions) if e is node), 0)
    elif isinstance(parent, exp.Between) and node is not parent.this:
        column = parent.this
        role = "low" if node is parent.args.get("low") else "high"
    elif isinstance(parent, exp.EQ | exp.NEQ | exp.Like | exp.ILike | exp.Is):
        column = parent.expression if node is parent.this else parent.this
    elif isinstance(parent, exp.GT | exp.GTE | exp.LT | exp.LTE):
        on_right = node is parent.expression
        column = parent.this if on_right else parent.expression
        # "col > $1" and "$1 < col" take a lower bound; the other way round an upper one.
        lower = isinstance(parent, exp.GT | exp.GTE) == on_right
        role = "low" if lower else "high"
    while isinstance(column, exp.Cast | exp.Paren):
        column = column.this
    if not isinstance(column, exp.Column):
        raise UnusableQuery("not compared with a column")
    source = scopes.resolve(column, scope)
    if source is None:
        raise UnusableQuery(f"{column.name} is not a column of a known table")
    return _Use(role_suffix or role, source, index)


class _Sampler:
    """Real values of columns, read with small sampled queries and cached per column."""

    def __init__(self, engine: EngineAdapter) -> None:
        self.engine = engine
        self._columns: dict[str, list[str]] = {}
        self._values: dict[tuple[str, str], list[Any]] = {}

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            self._columns[table] = [c.name for c in self.engine.columns(table)]
        return self._columns[table]

    def values(self, source: ColumnSource) -> list[Any]:
        key = (source.table, source.column)
        if key not in self._values:
            self._values[key] = self._sample(*key)
        values = self._values[key]
        if not values:
            raise UnusableQuery(f"no value to sample in {source.table}.{source.column}")
        return values

    def _sample(self, table: str, column: str) -> list[Any]:
        col = quote_ident(column, "postgres")
        target = quote_table(table, "postgres")
        rows: list[tuple[Any, ...]] = []
        # A 1% block sample is cheap on big tables; small ones may sample nothing (or be
        # views, which cannot be sampled): then the first rows will do.
        for sample in (" TABLESAMPLE SYSTEM (1)", ""):
            sql = (
                f"{OWN_QUERY_MARK} SELECT {col} FROM {target}{sample}"
                f" WHERE {col} IS NOT NULL LIMIT %s"
            )
            try:
                rows = self.engine.fetchall(sql, [SAMPLE_VALUES])
            except EngineError:
                rows = []
            if rows:
                break
        return [v for v in dict.fromkeys(_hashable(r[0]) for r in rows) if _renderable(v)]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _renderable(value: Any) -> bool:
    return isinstance(
        value,
        bool | int | float | decimal.Decimal | str | dt.date | dt.time | uuid.UUID | tuple,
    )


def _literal(value: Any) -> exp.Expr:
    """A PostgreSQL literal of the value's type (dates and times as typed casts)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat()), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.time):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIME")
    if isinstance(value, tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    # Text stays an untyped literal: PostgreSQL gives it the compared column's type.
    return exp.Literal.string(str(value))


# -- the query log --------------------------------------------------------------------------


def capture_querylog(
    engine: EngineAdapter, *, since_seconds: float = 7 * 86400, limit: int = 50
) -> Workload:
    """Read queries logged by the MCP server and dashboard, grouped by shape, top ``limit``."""
    workload = Workload("querylog")
    if not engine.table_exists(f"{STATE_SCHEMA}.{LOG_TABLE}"):
        return workload
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=since_seconds)
    schema = DEFAULT_SCHEMAS.get(engine.dialect, engine.default_schema)
    rows = engine.fetchall(
        f"SELECT query, duration_ms FROM {state_table(LOG_TABLE, engine.dialect)}"
        f" WHERE logged_at >= {ph(engine)} AND error IS NULL"
        f" ORDER BY logged_at DESC LIMIT {ph(engine)}",
        [since, QUERYLOG_MAX_ROWS],
    )
    groups: dict[str, _Group] = {}
    for query, duration in rows:
        if OWN_QUERY_MARK in str(query):
            continue
        try:
            statement = parse_statement(str(query), engine.dialect)
        except UnusableQuery:
            continue
        tables = base_tables(statement, engine.dialect, schema)
        if read_query_problem(statement) or not tables or any(map(is_system_table, tables)):
            continue
        shape = normalize_query(statement, engine.dialect)
        group = groups.setdefault(shape, _Group(example=str(query)))
        group.add(duration)
    ranked = sorted(groups.items(), key=lambda item: item[1].weight, reverse=True)
    for shape, group in ranked[:limit]:
        digest = hashlib.sha256(shape.encode()).hexdigest()[:10]
        position = f"querylog {digest}"
        workload.queries.append(WorkloadQuery(group.example, position, group.weight, position))
    return workload


@dataclass
class _Group:
    """Runs of one query shape: how many, their total time, the latest concrete text."""

    example: str
    count: int = 0
    timed: int = 0
    total_ms: float = 0.0

    def add(self, duration_ms: Any) -> None:
        self.count += 1
        if duration_ms is not None:
            self.timed += 1
            self.total_ms += float(duration_ms)

    @property
    def weight(self) -> float:
        """count x mean duration (1 ms a run when no duration was logged)."""
        mean = self.total_ms / self.timed if self.timed else 1.0
        return self.count * mean


def normalize_query(statement: exp.Expr, dialect: str) -> str:
    """The query's shape: literals replaced by ``?``, IN lists of literals collapsed."""

    def strip(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.In)
            and node.expressions
            and all(_is_value(e) for e in node.expressions)
        ):
            node.set("expressions", [exp.Placeholder()])
        elif isinstance(node, exp.Literal | exp.Boolean):
            return exp.Placeholder()
        return node

    return statement.copy().transform(strip).sql(dialect=dialect)


def _is_value(node: exp.Expr) -> bool:
    return not any(isinstance(n, exp.Column | exp.Query) for n in node.walk())
