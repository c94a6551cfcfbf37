"""Inspect quarantined rows and replay them, exactly once, after the schema is fixed.

Replay rebuilds a file from the raw records of one run (CSV lines under their original
header and dialect; NDJSON lines; rows that were typed already, as JSON objects), loads it
like any other file, and marks the replayed rows in the same transaction. Rows that fail
again are quarantined under the replay's run, so nothing is lost and nothing loads twice.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.errors import UsageError
from headrace.load.model import LoadRequest, LoadResult, WriteMode
from headrace.load.state import ensure_state, ph, state_table

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.schema import Contract, TableSchema


@dataclass(frozen=True)
class QuarantineSummary:
    """One run's quarantined rows, grouped."""

    run_id: str
    table: str
    rows: int
    replayed: int
    reasons: dict[str, int]
    first_at: str


def list_quarantine(engine: EngineAdapter, table: str | None = None) -> list[QuarantineSummary]:
    """Runs with quarantined rows, newest first."""
    ensure_state(engine)
    q = state_table("quarantine", engine.dialect)
    where = f"WHERE table_name = {ph(engine)}" if table else ""
    rows = engine.fetchall(
        f"SELECT run_id, table_name, reason, count(*), count(replayed_by), min(quarantined_at)"
        f" FROM {q} {where} GROUP BY run_id, table_name, reason ORDER BY 1 DESC, 3",
        [table] if table else None,
    )
    grouped: dict[tuple[str, str], QuarantineSummary] = {}
    for run_id, table_name, reason, count, replayed, first in rows:
        key = (str(run_id), str(table_name))
        current = grouped.get(key)
        if current is None:
            current = QuarantineSummary(key[0], key[1], 0, 0, {}, str(first))
        reasons = {**current.reasons, str(reason): int(count)}
        grouped[key] = QuarantineSummary(
            key[0],
            key[1],
            current.rows + int(count),
            current.replayed + int(replayed),
            reasons,
            min(current.first_at, str(first)),
        )
    return list(grouped.values())


def show_quarantine(engine: EngineAdapter, run_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The quarantined rows of one run, in source order."""
    ensure_state(engine)
    q = state_table("quarantine", engine.dialect)
    rows = engine.fetchall(
        f"SELECT table_name, source, line, row_offset, column_name, reason, message, raw,"
        f" replayed_by FROM {q} WHERE run_id = {ph(engine)}"
        f" ORDER BY source, coalesce(line, row_offset) LIMIT {int(limit)}",
        [run_id],
    )
    if not rows and not _run_exists(engine, run_id):
        raise UsageError(f"no run {run_id!r}", hint="list runs with: headrace quarantine list")
    keys = (
        "table",
        "source",
        "line",
        "row_offset",
        "column",
        "reason",
        "message",
        "raw",
        "replayed_by",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _run_exists(engine: EngineAdapter, run_id: str) -> bool:
    runs = state_table("runs", engine.dialect)
    return bool(engine.fetchall(f"SELECT 1 FROM {runs} WHERE run_id = {ph(engine)}", [run_id]))


def replay(
    engine: EngineAdapter,
    run_id: str,
    *,
    schema: TableSchema | None = None,
    contract: Contract | None = None,
) -> list[LoadResult]:
    """Re-validate and load a run's not-yet-replayed quarantined rows."""
    from headrace.load.runner import run_load

    ensure_state(engine)
    details = _run_details(engine, run_id)
    sources: dict[str, dict[str, Any]] = details.get("sources", {})
    q = state_table("quarantine", engine.dialect)
    pending = engine.fetchall(
        f"SELECT table_name, source, line, raw FROM {q} WHERE run_id = {ph(engine)}"
        " AND replayed_by IS NULL ORDER BY source, coalesce(line, row_offset)",
        [run_id],
    )
    if not pending:
        raise UsageError(f"run {run_id} has no quarantined rows left to replay")
    table = str(pending[0][0])
    results = []
    with tempfile.TemporaryDirectory(prefix="headrace-replay-") as tmp:
        for group, (fmt, path, options) in _write_replay_files(Path(tmp), pending, sources).items():
            request = LoadRequest(
                source=str(path),
                table=table,
                format=fmt,
                csv_options=options,
                schema=schema,
                write=WriteMode.APPEND,
                contract=contract,
            )

            def mark(target: EngineAdapter, result: LoadResult, group: str = group) -> None:
                source, kind = group.split("\x00")
                condition = "line IS NOT NULL" if kind == "csv" else "line IS NULL"
                target.execute(
                    f"UPDATE {q} SET replayed_by = {ph(target)} WHERE run_id = {ph(target)}"
                    f" AND source = {ph(target)} AND replayed_by IS NULL AND {condition}",
                    [result.run_id, run_id, source],
                )

            results.append(run_load(engine, request, before_commit=mark))
    return results


def _run_details(engine: EngineAdapter, run_id: str) -> dict[str, Any]:
    runs = state_table("runs", engine.dialect)
    rows = engine.fetchall(f"SELECT details FROM {runs} WHERE run_id = {ph(engine)}", [run_id])
    if not rows:
        raise UsageError(f"no run {run_id!r}", hint="list runs with: headrace quarantine list")
    return dict(json.loads(rows[0][0] or "{}"))


def _write_replay_files(
    directory: Path, pending: list[tuple[Any, ...]], sources: dict[str, dict[str, Any]]
) -> dict[str, tuple[str, Path, dict[str, Any]]]:
    """One file per (source, kind): CSV lines with their header, or NDJSON records."""
    files: dict[str, tuple[str, Path, dict[str, Any]]] = {}
    handles: dict[str, Any] = {}
    try:
        for _table, source, line, raw in pending:
            info = sources.get(str(source), {})
            is_csv = line is not None and info.get("format") in ("csv", "tsv")
            group = f"{source}\x00{'csv' if is_csv else 'json'}"
            if group not in files:
                index = len(files)
                if is_csv:
                    options = dict(info.get("csv") or {})
                    encoding = "latin-1" if options.get("encoding") == "latin-1" else "utf-8"
                    path = directory / f"replay_{index}.csv"
                    handle = path.open("w", encoding=encoding, newline="")
                    if options.get("header", True):
                        csv.writer(
                            handle, delimiter=options.get("delimiter", ","), lineterminator="\n"
                        ).writerow(info.get("columns", []))
                    files[group] = ("csv", path, options)
                else:
                    path = directory / f"replay_{index}.ndjson"
                    handle = path.open("w", encoding="utf-8")
                    files[group] = ("ndjson", path, {})
                handles[group] = handle
            handles[group].write(str(raw).rstrip("\r\n") + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return files
