"""Run history from the run store: ``headrace runs`` and ``headrace runs show RUN_ID``.

Reads ``_headrace.runs`` (kind ``run``: one ``headrace run``), ``_headrace.steps`` and
``_headrace.check_results`` in the project warehouse; never writes (a fresh warehouse
without a run store simply has no history).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from headrace.errors import UsageError
from headrace.load import state

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

# A kind 'run' record keeps the names of the pipelines it ran in target_table.
_RUN_COLUMNS = (
    "run_id, target_table, status, started_at, finished_at, rows_read, rows_loaded,"
    " rows_quarantined, error"
)
_STEP_COLUMNS = (
    "run_id, step, kind, status, attempts, started_at, finished_at, rows_read, rows_loaded,"
    " rows_quarantined, error, attempt_errors"
)


@dataclass
class RunSummary:
    """One ``headrace run``: its status, the pipelines it ran, duration and row totals."""

    run_id: str
    status: str
    pipelines: str  # comma-separated, as the run recorded them
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    seconds: float | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; timestamps as ISO 8601 UTC."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "pipelines": self.pipelines,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "seconds": self.seconds,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "error": self.error,
        }


@dataclass
class StepDetail:
    """One step of a run (a load, a backfill interval or a model build)."""

    step: str
    kind: str
    status: str
    attempts: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    seconds: float | None
    rows_read: int | None
    rows_loaded: int | None
    rows_quarantined: int | None
    error: str | None
    attempt_errors: list[str]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; timestamps as ISO 8601 UTC."""
        return {
            "step": self.step,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "seconds": self.seconds,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "error": self.error,
            "attempt_errors": self.attempt_errors,
        }


@dataclass
class StepRecord(StepDetail):
    """A step with the run it belongs to and its pipeline (``name@interval`` → ``name``)."""

    run_id: str
    pipeline: str
    load_run_id: str | None = None  # the load's (or model build's) own run record

    def to_json(self) -> dict[str, Any]:
        """The step's fields plus ``run_id``, ``pipeline`` and ``load_run_id``."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            **super().to_json(),
            "load_run_id": self.load_run_id,
        }


@dataclass
class RunDetail(RunSummary):
    """A run with its steps and the check results stored during it for its tables."""

    steps: list[StepDetail] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The summary's fields plus ``steps`` and ``checks``."""
        return {
            **super().to_json(),
            "steps": [s.to_json() for s in self.steps],
            "checks": self.checks,
        }


def list_runs(
    engine: EngineAdapter,
    *,
    pipeline: str | None = None,
    since_s: float | None = None,
    limit: int = 100,
) -> list[RunSummary]:
    """Runs of ``headrace run``, newest first, optionally of one pipeline or model and
    started within the last ``since_s`` seconds."""
    if not has_run_store(engine):
        return []
    p = state.ph(engine)
    sql = f"SELECT {_RUN_COLUMNS} FROM {state.state_table('runs', engine.dialect)}"
    sql += " WHERE kind = 'run'"
    params: list[Any] = []
    if since_s is not None:
        sql += f" AND started_at >= {p}"
        params.append(cutoff(since_s))
    if pipeline is not None:
        # The run's own list names pipelines, not backfill intervals (name@lo), so an
        # exact match on one of its entries is enough; done here, not in SQL, because
        # the list is one comma-separated column.
        rows = [r for r in engine.fetchall(sql, params) if pipeline in _names(r[1])]
    else:
        rows = engine.fetchall(sql, params)
    summaries = [_summary(row) for row in rows]
    summaries.sort(key=lambda s: s.started_at or _EPOCH, reverse=True)
    return summaries[:limit]


def get_run(engine: EngineAdapter, run_id: str) -> RunDetail:
    """One run with its steps and check results; UsageError when the id is unknown."""
    found = (
        engine.fetchall(
            f"SELECT {_RUN_COLUMNS} FROM {state.state_table('runs', engine.dialect)}"
            f" WHERE kind = 'run' AND run_id = {state.ph(engine)}",
            [run_id],
        )
        if has_run_store(engine)
        else []
    )
    if not found:
        raise UsageError(
            f"no run {run_id} in the run store", hint="headrace runs lists the recorded runs"
        )
    summary = _summary(found[0])
    records = _steps(engine, f"run_id = {state.ph(engine)}", [run_id])
    names = [f.name for f in fields(StepDetail)]
    steps = [StepDetail(**{name: getattr(r, name) for name in names}) for r in records]
    return RunDetail(**vars(summary), steps=steps, checks=_checks(engine, summary, records))


def step_history(engine: EngineAdapter, *, since_s: float | None = None) -> list[StepRecord]:
    """Every recorded step (started within ``since_s`` seconds, when given), oldest first,
    with its run id and pipeline: the input of SLOs, cost projections and trends."""
    if not has_run_store(engine):
        return []
    if since_s is None:
        return _steps(engine, "1 = 1", [])
    return _steps(engine, f"started_at >= {state.ph(engine)}", [cutoff(since_s)])


def pipeline_of(step: str) -> str:
    """The pipeline or model a step belongs to: backfill steps are ``name@interval``."""
    return step.partition("@")[0]


def has_run_store(engine: EngineAdapter) -> bool:
    """True when the warehouse has the run store (a project that never ran has none)."""
    return engine.table_info(f"{state.STATE_SCHEMA}.steps") is not None


def cutoff(since_s: float, now: dt.datetime | None = None) -> dt.datetime:
    """The instant ``since_s`` seconds before ``now``."""
    return (now or state.now()) - dt.timedelta(seconds=since_s)


def utc(value: Any) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (engines return their session zone)."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601, or None."""
    return value.isoformat() if value is not None else None


def seconds_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """Elapsed seconds, rounded to milliseconds; None unless both ends are known."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _names(pipelines: Any) -> list[str]:
    return [name.strip() for name in str(pipelines or "").split(",")]


def _summary(row: tuple[Any, ...]) -> RunSummary:
    run_id, pipelines, status, started, finished, read, loaded, quarantined, error = row
    started_at, finished_at = utc(started), utc(finished)
    return RunSummary(
        run_id=str(run_id),
        status=str(status),
        pipelines=str(pipelines or ""),
        started_at=started_at,
        finished_at=finished_at,
        seconds=seconds_between(started_at, finished_at),
        rows_read=int(read or 0),
        rows_loaded=int(loaded or 0),
        rows_quarantined=int(quarantined or 0),
        error=error,
    )


def _steps(engine: EngineAdapter, where: str, params: list[Any]) -> list[StepRecord]:
    rows = engine.fetchall(
        f"SELECT {_STEP_COLUMNS}, load_run_id"
        f" FROM {state.state_table('steps', engine.dialect)} WHERE {where}",
        params,
    )
    records = []
    for row in rows:
        run_id, step, kind, status, attempts, started, finished, read, loaded, quar = row[:10]
        error, attempt_errors = row[10], row[11]
        started_at, finished_at = utc(started), utc(finished)
        record = StepRecord(
            step=str(step),
            kind=str(kind),
            status=str(status),
            attempts=int(attempts or 0),
            started_at=started_at,
            finished_at=finished_at,
            seconds=seconds_between(started_at, finished_at),
            rows_read=_int(read),
            rows_loaded=_int(loaded),
            rows_quarantined=_int(quar),
            error=error,
            attempt_errors=_errors(attempt_errors),
            run_id=str(run_id),
            pipeline=pipeline_of(str(step)),
            load_run_id=None if row[12] is None else str(row[12]),
        )
        records.append(record)
    # Steps a resumed run carried over never started: they sort last, by name.
    records.sort(key=lambda r: (r.started_at is None, r.started_at or _EPOCH, r.step))
    return records


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _errors(text: Any) -> list[str]:
    if not text:
        return []
    try:
        found = json.loads(str(text))
    except ValueError:
        return [str(text)]
    return [str(e) for e in found] if isinstance(found, list) else [str(found)]


def _checks(
    engine: EngineAdapter, run: RunSummary, steps: list[StepRecord]
) -> list[dict[str, Any]]:
    """Check results stored while the run was going, on the tables its steps wrote."""
    if run.started_at is None or engine.table_info(f"{state.STATE_SCHEMA}.check_results") is None:
        return []
    # A check run has its own run id; it belongs to this run by table and time.
    tables = {s.step for s in steps if s.kind == "model"}
    load_ids = [s.load_run_id for s in steps if s.load_run_id is not None]
    p = state.ph(engine)
    if load_ids:
        marks = state.placeholders(engine, len(load_ids))
        tables.update(
            str(t)
            for (t,) in engine.fetchall(
                f"SELECT target_table FROM {state.state_table('runs', engine.dialect)}"
                f" WHERE run_id IN ({marks})",
                load_ids,
            )
            if t
        )
    if not tables:
        return []
    wanted = {_key(engine, t) for t in tables}
    end = run.finished_at or state.now()
    results = state.state_table("check_results", engine.dialect)
    rows = engine.fetchall(
        "SELECT table_name, check_name, kind, column_name, status, severity, invalid_count,"
        f" invalid_pct, message, checked_at FROM {results}"
        f" WHERE checked_at >= {p} AND checked_at <= {p}",
        [run.started_at, end],
    )
    found = [
        {
            "table": table,
            "check": check,
            "kind": kind,
            "column": column,
            "status": status,
            "severity": severity,
            "invalid_count": _int(invalid),
            "invalid_pct": None if pct is None else float(pct),
            "message": message,
            "checked_at": iso(utc(at)),
        }
        for table, check, kind, column, status, severity, invalid, pct, message, at in rows
        if _key(engine, str(table)) in wanted
    ]
    found.sort(key=lambda c: (str(c["checked_at"]), str(c["table"]), str(c["check"])))
    return found


def _key(engine: EngineAdapter, table: str) -> str:
    schema, name = engine.split_table(table)
    key = f"{schema}.{name}"
    return key.casefold() if engine.CASE_INSENSITIVE_NAMES else key


__all__ = [
    "RunDetail",
    "RunSummary",
    "StepDetail",
    "StepRecord",
    "get_run",
    "list_runs",
    "pipeline_of",
    "step_history",
]
