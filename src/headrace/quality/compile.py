"""Compile one table's checks into as few queries as possible.

Every aggregate check (row-level counts, completeness, freshness, row count, custom
metrics, anomaly metrics, and the share of rows passing every row-level check) becomes a
column of ONE ``SELECT ... FROM table``: one scan. Uniqueness needs a GROUP BY,
relationships an anti-join and custom SQL its own query; each of those is one more query,
and a uniqueness check that a primary key or unique constraint already proves runs none.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import ConfigError
from headrace.quality.model import ROW_LEVEL, CheckDef
from headrace.quality.predicates import Style, invalid_condition

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter


@dataclass
class Query:
    """One statement to run, with what it is for (shown by --explain)."""

    sql: str
    params: list[Any]
    purpose: str


@dataclass
class CompiledTable:
    """The queries for one table and where each check finds its numbers."""

    table: str
    checks: list[CheckDef]
    columns: list[str]
    aggregate: Query
    slots: dict[str, str] = field(default_factory=dict)  # check name -> aggregate column
    extra: dict[str, Query] = field(default_factory=dict)  # check name -> own query
    proven: dict[str, str] = field(default_factory=dict)  # check name -> why it holds
    aliases: list[str] = field(default_factory=list)  # the aggregate's columns, in order
    passing: Query | None = None  # rows passing every row-level check


def transpile(sql: str, dialect: str) -> str:
    """User SQL is written in DuckDB's dialect; render it for the target engine."""
    import sqlglot

    if dialect == "duckdb":
        return sql
    return str(sqlglot.transpile(sql, read="duckdb", write=dialect)[0])


def compile_table(
    engine: EngineAdapter, table: str, checks: list[CheckDef], *, style: Style = "params"
) -> CompiledTable:
    """Validate the checks against the table as it is, then build its queries.

    ``style="literal"`` inlines the values so the SQL runs as printed (``--explain``).
    """
    d = engine.dialect
    columns = [c.name for c in engine.columns(table)]
    if not columns:
        first = checks[0]
        raise ConfigError(
            f"table {table} does not exist in {engine.url}",
            file=first.file,
            line=first.line,
            hint="load it first, or fix the table name in the check file",
        )
    for check in checks:
        _validate_columns(engine, check, columns)
    target = engine.quote_table(table)
    select: list[str] = ["count(*) AS _rows"]
    params: list[Any] = []
    slots: dict[str, str] = {}
    row_conditions: list[tuple[str, list[Any]]] = []
    for i, check in enumerate(checks):
        alias = f"_c{i}"
        if check.kind in ROW_LEVEL:
            assert check.column is not None
            cond, cond_params = invalid_condition(check, quote_ident(check.column, d), d, style)
            select.append(f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {alias}")
            params += cond_params
            row_conditions.append((cond, cond_params))
        elif check.kind == "freshness":
            select.append(f"max({quote_ident(check.params['column'], d)}) AS {alias}")
        elif check.kind == "metric":
            select.append(f"{transpile(check.params['expression'], d)} AS {alias}")
        elif check.kind == "anomaly":
            select.append(f"{_anomaly_metric(check, d)} AS {alias}")
        else:
            continue
        slots[check.name] = alias
    # Completeness of every column comes free with the scan (the summary shows it).
    select += [f"count({quote_ident(c, d)}) AS _nn{i}" for i, c in enumerate(columns)]
    aggregate = Query(f"SELECT {', '.join(select)} FROM {target}", params, f"one scan of {table}")
    compiled = CompiledTable(table, checks, columns, aggregate, slots)
    compiled.aliases = [item.rsplit(" AS ", 1)[1] for item in select]
    if row_conditions:
        # Rows passing every row check: needed only when some check found bad rows (else
        # it is the row count), so it is its own query instead of doubling every predicate
        # in the scan.
        any_invalid = " OR ".join(f"({c})" for c, _ in row_conditions)
        compiled.passing = Query(
            f"SELECT sum(CASE WHEN {any_invalid} THEN 0 ELSE 1 END) FROM {target}",
            [p for _, cond_params in row_conditions for p in cond_params],
            f"rows of {table} passing every row check (only when one found bad rows)",
        )
    unique_keys = _unique_keys(engine, table)
    for check in checks:
        if check.kind == "unique":
            proof = unique_keys.get(frozenset(check.columns))
            if proof:
                compiled.proven[check.name] = proof
            else:
                compiled.extra[check.name] = _duplicates_query(target, check, d)
        elif check.kind == "relationships":
            compiled.extra[check.name] = _orphans_query(engine, target, check)
        elif check.kind == "sql":
            bad = transpile(check.params["bad_rows"], d)
            compiled.extra[check.name] = Query(
                f"SELECT count(*) FROM ({bad}) AS _hr_bad", [], f"custom SQL {check.name}"
            )
    return compiled


def probe_checks(engine: EngineAdapter, compiled: CompiledTable) -> None:
    """Run each check's SQL on at most one row, so a mistake the database catches (a type
    mismatch, a regex its engine rejects, a metric that is not an aggregate, a custom SQL
    naming an unknown column) is reported against that check, before anything runs."""
    from headrace.errors import HeadraceError

    d = engine.dialect
    one_row = f"(SELECT * FROM {engine.quote_table(compiled.table)} LIMIT 1) AS _hr_probe"
    for check in compiled.checks:
        probes: list[tuple[str, list[Any]]] = []
        if check.kind in ROW_LEVEL:
            cond, params = invalid_condition(check, quote_ident(str(check.column), d), d)
            probes.append((f"SELECT CASE WHEN {cond} THEN 1 ELSE 0 END FROM {one_row}", params))
        elif check.kind == "metric":
            # Beside count(*), as in the real scan: a non-aggregate expression fails here.
            expression = transpile(check.params["expression"], d)
            probes.append((f"SELECT count(*), {expression} FROM {one_row}", []))
        elif check.kind == "sql":
            bad = transpile(check.params["bad_rows"], d)
            probes.append((f"SELECT * FROM ({bad}) AS _hr_bad LIMIT 0", []))
        for sql, params in probes:
            try:
                engine.fetchall(sql, params)
            except HeadraceError as exc:
                raise ConfigError(
                    f"check {check.name} on {check.table}: {exc.message}",
                    file=check.file,
                    line=check.line,
                    hint="fix the check: the database rejects its SQL",
                ) from None


def _anomaly_metric(check: CheckDef, dialect: str) -> str:
    metric = check.params["metric"]
    if metric == "row_count":
        return "count(*)"
    column = quote_ident(str(check.column), dialect)
    if metric == "null_pct":
        return f"100.0 * (count(*) - count({column})) / greatest(count(*), 1)"
    return f"count(DISTINCT {column})"


def _duplicates_query(target: str, check: CheckDef, dialect: str) -> Query:
    keys = ", ".join(quote_ident(c, dialect) for c in check.columns)
    present = " AND ".join(f"{quote_ident(c, dialect)} IS NOT NULL" for c in check.columns)
    return Query(
        f"SELECT coalesce(sum(_hr_n), 0) FROM (SELECT count(*) AS _hr_n FROM {target}"
        f" WHERE {present} GROUP BY {keys} HAVING count(*) > 1) AS _hr_dups",
        [],
        f"GROUP BY for {check.name}",
    )


def _orphans_query(engine: EngineAdapter, target: str, check: CheckDef) -> Query:
    d = engine.dialect
    column = quote_ident(str(check.column), d)
    parent = engine.quote_table(check.params["table"])
    parent_column = quote_ident(check.params["column"], d)
    return Query(
        f"SELECT count(*) FROM {target} AS _hr_c WHERE _hr_c.{column} IS NOT NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {parent} AS _hr_p"
        f" WHERE _hr_p.{parent_column} = _hr_c.{column})",
        [],
        f"anti-join for {check.name}",
    )


def _unique_keys(engine: EngineAdapter, table: str) -> dict[frozenset[str], str]:
    """Column sets a PRIMARY KEY or UNIQUE index already guarantees unique."""
    proofs: dict[frozenset[str], str] = {}
    for index in engine.indexes(table):
        if index.unique and index.columns:
            what = "PRIMARY KEY" if index.primary else f"UNIQUE index {index.name}"
            proofs.setdefault(frozenset(index.columns), f"guaranteed by {what}")
    return proofs


def _validate_columns(engine: EngineAdapter, check: CheckDef, columns: list[str]) -> None:
    needed = [c for c in (check.column, *check.columns) if c]
    if check.kind == "freshness":
        needed.append(check.params["column"])
    for name in needed:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(columns)}"
            raise ConfigError(
                f"check {check.name}: {check.table} has no column {name!r}",
                file=check.file,
                line=check.line,
                hint=hint,
            )
    if check.kind == "relationships":
        parent_columns = [c.name for c in engine.columns(check.params["table"])]
        if not parent_columns:
            raise ConfigError(
                f"check {check.name}: referenced table {check.params['table']} does not exist",
                file=check.file,
                line=check.line,
            )
        if check.params["column"] not in parent_columns:
            raise ConfigError(
                f"check {check.name}: {check.params['table']} has no column"
                f" {check.params['column']!r}",
                file=check.file,
                line=check.line,
                hint=f"columns: {', '.join(parent_columns)}",
            )
