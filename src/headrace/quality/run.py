"""Run checks: one aggregate scan per table plus the few queries that need their own,
judge each result, fetch samples of failing rows, and store everything with history."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.load import state
from headrace.load.model import new_run_id
from headrace.quality.compile import (
    CompiledTable,
    compile_table,
    probe_checks,
    transpile,
)
from headrace.quality.model import COUNTING, ROW_LEVEL, CheckDef
from headrace.quality.predicates import invalid_condition

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

SAMPLE_ROWS = 5


@dataclass
class CheckResult:
    """The verdict on one check."""

    table: str
    check: str
    kind: str
    column: str | None
    status: str  # pass | warn | fail
    severity: str
    invalid_count: int | None = None
    invalid_pct: float | None = None
    rows_scanned: int = 0
    observed: str | None = None
    observed_value: float | None = None
    threshold: str | None = None
    message: str | None = None
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    failing_rows_sql: str | None = None
    duration_ms: float = 0.0

    @property
    def blocking_failure(self) -> bool:
        """A failed check that stops downstream work."""
        return self.status == "fail" and self.severity == "blocking"


@dataclass
class CheckRun:
    """All results of one ``headrace check``."""

    run_id: str
    results: list[CheckResult]
    tables: list[dict[str, Any]]
    records_passing_pct: float | None
    seconds: float

    @property
    def status(self) -> str:
        """failed if any blocking check failed, else warned/passed."""
        if any(r.blocking_failure for r in self.results):
            return "failed"
        if any(r.status in ("fail", "warn") for r in self.results):
            return "warned"
        return "passed"

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "tables": self.tables,
            "checks": [
                {k: v for k, v in asdict(r).items() if k not in ("observed_value", "kind")}
                for r in self.results
            ],
            "records_passing_pct": self.records_passing_pct,
            "seconds": round(self.seconds, 3),
        }


def explain(
    engine: EngineAdapter, checks: list[CheckDef], *, display: bool = False
) -> list[CompiledTable]:
    """Compile and probe without running; ``display`` inlines values (``--explain``)."""
    compiled = []
    for table, group in _by_table(engine, checks):
        compiled.append(compile_table(engine, table, group))
        probe_checks(engine, compiled[-1])
        if display:
            compiled[-1] = compile_table(engine, table, group, style="literal")
    return compiled


def run_checks(
    engine: EngineAdapter,
    checks: list[CheckDef],
    *,
    samples: int = SAMPLE_ROWS,
    store: bool = True,
) -> CheckRun:
    """Validate everything first (nothing runs on a bad check file), then run and, unless
    ``store`` is false (a read-only session: the MCP server), store the results."""
    started = time.perf_counter()
    if store:
        state.ensure_state(engine)
    compiled = explain(engine, checks)
    run_id = new_run_id()
    results: list[CheckResult] = []
    tables: list[dict[str, Any]] = []
    passing_rows = scanned_rows = 0
    for table in compiled:
        table_results, summary = _run_table(engine, table, run_id, samples)
        results += table_results
        tables.append(summary)
        if summary["records_passing"] is not None:
            passing_rows += summary["records_passing"]
            scanned_rows += summary["rows"]
    run = CheckRun(
        run_id,
        results,
        tables,
        round(100.0 * passing_rows / scanned_rows, 3) if scanned_rows else None,
        time.perf_counter() - started,
    )
    if store:
        _store(engine, run)
    return run


def _by_table(engine: EngineAdapter, checks: list[CheckDef]) -> list[tuple[str, list[CheckDef]]]:
    groups: dict[str, list[CheckDef]] = {}
    for check in checks:
        schema, name = engine.split_table(check.table)
        groups.setdefault(f"{schema}.{name}", []).append(check)
    return list(groups.items())


def _run_table(
    engine: EngineAdapter, table: CompiledTable, run_id: str, samples: int
) -> tuple[list[CheckResult], dict[str, Any]]:
    t0 = time.perf_counter()
    values = engine.fetchall(table.aggregate.sql, table.aggregate.params)[0]
    row = dict(zip(table.aliases, values, strict=True))
    scan_ms = (time.perf_counter() - t0) * 1000
    rows = int(row["_rows"] or 0)
    results = []
    for check in table.checks:
        t1 = time.perf_counter()
        result = _judge(engine, table, check, row, rows, run_id)
        result.duration_ms = round(
            (time.perf_counter() - t1) * 1000 + (scan_ms if check.name in table.slots else 0), 3
        )
        if result.status in ("fail", "warn"):
            _attach_samples(engine, table, check, result, samples)
        results.append(result)
    completeness = {
        name: round(100.0 * int(row[f"_nn{i}"] or 0) / rows, 3) if rows else None
        for i, name in enumerate(table.columns)
    }
    passing: int | None = None
    if table.passing is not None:
        found_bad = any(r.invalid_count for r in results if r.kind in ROW_LEVEL)
        passing = (
            int(engine.fetchall(table.passing.sql, table.passing.params)[0][0] or 0)
            if found_bad
            else rows
        )
    summary = {
        "table": table.table,
        "rows": rows,
        "records_passing": passing,
        "records_passing_pct": round(100.0 * passing / rows, 3)
        if passing is not None and rows
        else None,
        "completeness_pct": completeness,
        "scan_ms": round(scan_ms, 3),
        "queries": 1 + len(table.extra),
    }
    return results, summary


def _judge(
    engine: EngineAdapter,
    table: CompiledTable,
    check: CheckDef,
    row: dict[str, Any],
    rows: int,
    run_id: str,
) -> CheckResult:
    result = CheckResult(
        table.table, check.name, check.kind, check.column, "pass", check.severity, rows_scanned=rows
    )
    kind, p = check.kind, check.params
    if check.name in table.proven:
        result.invalid_count, result.invalid_pct = 0, 0.0
        result.message = table.proven[check.name]
        return result
    if kind in COUNTING:
        if kind in ROW_LEVEL:
            invalid = int(row[table.slots[check.name]] or 0)
        else:
            invalid = int(
                engine.fetchall(table.extra[check.name].sql, table.extra[check.name].params)[0][0]
                or 0
            )
        result.invalid_count = invalid
        result.invalid_pct = round(100.0 * invalid / rows, 4) if rows else 0.0
        _apply_thresholds(check, result, invalid, result.invalid_pct, None)
    elif kind == "metric":
        value = row[table.slots[check.name]]
        result.observed_value = float(value) if value is not None else None
        result.observed = str(value)
        _apply_thresholds(check, result, None, None, result.observed_value)
    elif kind == "row_count":
        result.observed, result.observed_value = str(rows), float(rows)
        low, high = p.get("min"), p.get("max")
        result.threshold = _bounds(low, high)
        if (low is not None and rows < low) or (high is not None and rows > high):
            _fail(check, result, f"{rows} rows, expected {result.threshold}")
    elif kind == "freshness":
        _freshness(check, result, row[table.slots[check.name]])
    elif kind == "completeness":
        column_index = table.columns.index(str(check.column))
        present = int(row[f"_nn{column_index}"] or 0)
        pct = round(100.0 * present / rows, 4) if rows else 100.0
        result.invalid_count = rows - present
        result.invalid_pct = round(100.0 - pct, 4)
        result.observed, result.observed_value = f"{pct}% complete", pct
        result.threshold = f"complete_pct >= {p['min_pct']}"
        if pct < float(p["min_pct"]):
            _fail(check, result, f"{pct}% of values present, expected at least {p['min_pct']}%")
    elif kind == "schema":
        _schema(engine, check, result)
    elif kind == "anomaly":
        _anomaly(engine, check, result, row[table.slots[check.name]])
    return result


def _apply_thresholds(
    check: CheckDef,
    result: CheckResult,
    count: float | None,
    pct: float | None,
    value: float | None,
) -> None:
    if check.fail_if is not None and check.fail_if.breached(count, pct, value):
        result.threshold = str(check.fail_if)
        _fail(check, result, f"{check.fail_if} holds")
    elif check.warn_if is not None and check.warn_if.breached(count, pct, value):
        result.status, result.threshold = "warn", str(check.warn_if)
        result.message = f"{check.warn_if} holds"
    else:
        result.threshold = str(check.fail_if or check.warn_if or "")


def _fail(check: CheckDef, result: CheckResult, message: str) -> None:
    result.status = "fail"
    result.message = message


def _bounds(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _freshness(check: CheckDef, result: CheckResult, newest: Any) -> None:
    max_age = float(check.params["max_age_s"])
    result.threshold = f"age <= {max_age:g}s"
    if newest is None:
        _fail(check, result, "no values: the table is empty or the column is all NULL")
        return
    if isinstance(newest, dt.datetime):
        stamp = newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC)
    elif isinstance(newest, dt.date):
        stamp = dt.datetime(newest.year, newest.month, newest.day, tzinfo=dt.UTC)
    else:
        _fail(check, result, f"{check.params['column']} is not a date or timestamp")
        return
    age = (dt.datetime.now(dt.UTC) - stamp).total_seconds()
    result.observed, result.observed_value = f"newest {stamp.isoformat()}", age
    if age > max_age:
        _fail(check, result, f"newest value is {age / 3600:.1f} h old, limit {max_age / 3600:g} h")


def _schema(engine: EngineAdapter, check: CheckDef, result: CheckResult) -> None:
    from headrace.schema import LogicalType

    actual = {
        c.name: LogicalType.from_engine_type(c.data_type, engine.dialect)
        for c in engine.columns(check.table)
    }
    problems = []
    for name, expected in check.params["columns"].items():
        if name not in actual:
            problems.append(f"missing column {name}")
        elif expected is not None and actual[name] != LogicalType.parse(str(expected)):
            problems.append(f"{name} is {actual[name]}, expected {expected}")
    result.observed = ", ".join(f"{n} {t}" for n, t in actual.items())
    if problems:
        result.invalid_count = len(problems)
        _fail(check, result, "; ".join(problems))


def _anomaly(engine: EngineAdapter, check: CheckDef, result: CheckResult, value: Any) -> None:
    p = check.params
    observed = float(value) if value is not None else 0.0
    result.observed, result.observed_value = f"{observed:g}", observed
    stored = state.state_table("check_results", engine.dialect)
    # A read-only run on a warehouse that never stored checks has no history yet.
    history = [
        float(v)
        for (v,) in (
            []
            if engine.table_info(f"{state.STATE_SCHEMA}.check_results") is None
            else engine.fetchall(
                f"SELECT observed_value FROM {stored}"
                f" WHERE table_name = {state.ph(engine)} AND check_name = {state.ph(engine)}"
                " AND observed_value IS NOT NULL ORDER BY checked_at DESC"
                f" LIMIT {int(p['window'])}",
                [result.table, check.name],
            )
        )
    ]
    result.threshold = f"|z| <= {p['sensitivity']:g} over the last {p['window']} runs"
    if len(history) < int(p["min_history"]):
        result.message = f"learning: {len(history)} of {p['min_history']} runs of history"
        return
    mean = sum(history) / len(history)
    spread = math.sqrt(sum((h - mean) ** 2 for h in history) / len(history))
    # A history that never moved has no spread; a floor of 1% of the mean keeps 101 after
    # four runs of 100 from being an "infinite" anomaly.
    spread = max(spread, 0.01 * abs(mean))
    z = abs(observed - mean) / spread if spread else (0.0 if observed == mean else math.inf)
    result.message = f"z = {z:.2f} against mean {mean:g}"
    if z > float(p["sensitivity"]):
        _fail(check, result, f"{observed:g} is an anomaly: z = {z:.2f}, mean {mean:g}")


def _attach_samples(
    engine: EngineAdapter, table: CompiledTable, check: CheckDef, result: CheckResult, samples: int
) -> None:
    """Up to ``samples`` failing rows and the SQL that returns all of them."""
    sql = failing_rows_sql(engine, check)
    if sql is None:
        return
    result.failing_rows_sql = sql
    if samples <= 0:
        return
    found = engine.fetch_arrow(f"SELECT * FROM ({sql}) AS _hr_sample LIMIT {int(samples)}")
    result.sample_rows = found.to_pylist()  # pyarrow only loads when something failed


def failing_rows_sql(engine: EngineAdapter, check: CheckDef) -> str | None:
    """A standalone query for every failing row (values inlined so it runs as printed)."""
    from headrace.engines.sql import quote_ident

    d = engine.dialect
    target = engine.quote_table(check.table)
    if check.kind in ROW_LEVEL:
        cond, _ = invalid_condition(check, quote_ident(str(check.column), d), d, "literal")
        return f"SELECT * FROM {target} WHERE {cond}"
    if check.kind == "unique":
        keys = ", ".join(quote_ident(c, d) for c in check.columns)
        match = " AND ".join(
            f"_hr_t.{quote_ident(c, d)} = _hr_d.{quote_ident(c, d)}" for c in check.columns
        )
        return (
            f"SELECT _hr_t.* FROM {target} AS _hr_t JOIN (SELECT {keys} FROM {target}"
            f" GROUP BY {keys} HAVING count(*) > 1) AS _hr_d ON {match}"
        )
    if check.kind == "relationships":
        column = quote_ident(str(check.column), d)
        parent = engine.quote_table(check.params["table"])
        parent_column = quote_ident(check.params["column"], d)
        return (
            f"SELECT * FROM {target} AS _hr_c WHERE _hr_c.{column} IS NOT NULL AND NOT EXISTS"
            f" (SELECT 1 FROM {parent} AS _hr_p WHERE _hr_p.{parent_column} = _hr_c.{column})"
        )
    if check.kind == "sql":
        return transpile(check.params["bad_rows"], d)
    if check.kind == "completeness":
        return f"SELECT * FROM {target} WHERE {quote_ident(str(check.column), d)} IS NULL"
    return None


def _store(engine: EngineAdapter, run: CheckRun) -> None:
    """Results (with history) and a run record, in one transaction."""
    table = state.state_table("check_results", engine.dialect)
    now = state.now()
    with engine.transaction():
        rows = [
            [
                run.run_id,
                r.table,
                r.check,
                r.kind,
                r.column,
                r.status,
                r.severity,
                r.invalid_count,
                r.invalid_pct,
                r.rows_scanned,
                r.observed_value,
                r.observed,
                r.threshold,
                r.message,
                r.duration_ms,
                now,
                r.failing_rows_sql,
            ]
            for r in run.results
        ]
        if rows:
            # One multi-row INSERT: a statement per result costs more than the checks.
            marks = "(" + state.placeholders(engine, len(rows[0])) + ")"
            engine.execute(
                f"INSERT INTO {table} VALUES {', '.join([marks] * len(rows))}",
                [value for row in rows for value in row],
            )
        record = state.RunRecord(
            run.run_id,
            "check",
            ", ".join(t["table"] for t in run.tables),
            "checks",
            now,
            status=run.status,
            finished_at=state.now(),
            rows_read=sum(t["rows"] for t in run.tables),
            details={
                "checks": len(run.results),
                "seconds": round(run.seconds, 3),
                "failed": sum(r.status == "fail" for r in run.results),
                "warned": sum(r.status == "warn" for r in run.results),
            },
        )
        state.write_run(engine, record)
