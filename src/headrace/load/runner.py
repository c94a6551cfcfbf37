"""One load, start to finish: plan, read, validate, publish, record — in ONE transaction.

Data, quarantined rows, state (ingested files, watermark, recorded schema) and the run
record commit together, so a crash at any instant followed by a re-run leaves the target
exactly as one clean run would. A failed run is recorded afterwards, in its own
transaction, for history.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.errors import HeadraceError, out_of_memory
from headrace.load import publish, scan, state
from headrace.load.from_files import load_files
from headrace.load.from_sql import load_sql
from headrace.load.model import LoadRequest, LoadResult, SqlSource, new_run_id
from headrace.load.plan import merge_key, plan_target
from headrace.runtime.faults import fault_point

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.quality.model import CheckDef

Progress = Callable[[int, int], None]  # (rows, bytes) done so far


def run_load(
    engine: EngineAdapter,
    request: LoadRequest,
    *,
    base_dir: Path | None = None,
    progress: Progress | None = None,
    source_engine_factory: Callable[[str], EngineAdapter] | None = None,
    before_commit: Callable[[EngineAdapter, LoadResult], None] | None = None,
) -> LoadResult:
    """Load ``request`` into ``engine``; raise on failure (after recording the failed run).

    ``before_commit`` runs inside the load's transaction (quarantine replay marks the rows
    it re-loaded there, so marking and loading happen exactly once together).
    """
    from headrace.schema import Contract

    started = time.perf_counter()
    run_id = new_run_id()
    request.contract = request.contract or Contract.EVOLVE
    schema_name, name = engine.split_table(request.table)
    table = f"{schema_name}.{name}"
    result = LoadResult(run_id=run_id, status="running", table=table)
    key = merge_key(request)
    request.row_checks = _checks_for(engine, table, request.row_checks)
    source_text = (
        request.source.describe() if isinstance(request.source, SqlSource) else str(request.source)
    )
    run = state.RunRecord(run_id, "load", table, source_text, state.now(), request.pipeline)
    state.ensure_state(engine)

    def attempt(capped: bool) -> None:
        with _bounded_memory(engine, capped), engine.transaction():
            publish.drop_leftovers(engine, schema_name)
            plan = plan_target(engine, table, request)
            if isinstance(request.source, SqlSource):
                load_sql(engine, request, plan, key, result, source_engine_factory, progress)
            else:
                load_files(engine, request, plan, key, result, base_dir, progress)
            result.seconds = time.perf_counter() - started
            result.check_invariant()
            result.status = "succeeded"
            if before_commit is not None:
                before_commit(engine, result)
            _finish_run(run, result)
            state.write_run(engine, run)
            fault_point("before_commit")

    try:
        try:
            attempt(capped=True)
            fault_point("after_commit")
        except HeadraceError as exc:
            if engine.dialect != "duckdb" or not out_of_memory(exc):
                raise
            # The cap was too small for this input: nothing was committed, so run again with
            # DuckDB's own limit rather than fail a load DuckDB itself could do.
            _reset(result)
            attempt(capped=False)
    except BaseException as exc:
        result.status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        result.error = str(exc)
        result.seconds = time.perf_counter() - started
        _record_failure(engine, run, result)
        raise
    return result


# DuckDB's default memory limit is 80% of RAM; a load needs far less, and a bounded
# buffer pool keeps the process's peak memory bounded by it, not by the input size.
LOAD_MEMORY_LIMIT = os.environ.get("HEADRACE_DUCKDB_MEMORY_LIMIT", "512MB")


def _checks_for(engine: EngineAdapter, table: str, checks: list[CheckDef]) -> list[CheckDef]:
    """The row-level checks declared for this table (others run with headrace check)."""
    from headrace.quality.model import ROW_LEVEL

    if not checks:
        return []
    mine = [c for c in checks if ".".join(engine.split_table(c.table)) == table]
    if not mine:
        from headrace.errors import UsageError

        tables = sorted({c.table for c in checks})
        raise UsageError(
            f"the check file has no checks for {table}",
            hint=f"it has checks for: {', '.join(tables)}; fix table: in the file",
        )
    return [c for c in mine if c.kind in ROW_LEVEL]


def _reset(result: LoadResult) -> None:
    """Forget the counts of an attempt that was rolled back."""
    fresh = LoadResult(run_id=result.run_id, status="running", table=result.table)
    result.__dict__.update(fresh.__dict__)


@contextmanager
def _bounded_memory(engine: EngineAdapter, capped: bool) -> Iterator[None]:
    """Cap DuckDB's memory for the load, then restore the previous setting."""
    if engine.dialect != "duckdb" or not capped:
        yield
        return
    previous = str(engine.fetchall("SELECT current_setting('memory_limit')")[0][0])
    engine.execute(f"SET memory_limit = {scan.lit(LOAD_MEMORY_LIMIT)}")
    try:
        yield
    finally:
        try:
            # RESET restores the default exactly; the text form of a value is rounded.
            engine.execute("RESET memory_limit")
            if str(engine.fetchall("SELECT current_setting('memory_limit')")[0][0]) != previous:
                engine.execute(f"SET memory_limit = {scan.lit(previous)}")
        except HeadraceError:
            pass  # the connection is gone with the failure being raised


def _finish_run(run: state.RunRecord, result: LoadResult) -> None:
    run.status = result.status
    run.finished_at = state.now()
    run.rows_read = result.rows_read
    run.rows_loaded = result.rows_loaded
    run.rows_quarantined = result.rows_quarantined
    run.rows_merged_away = result.rows_merged_away
    run.files_loaded = result.files_loaded
    run.files_skipped = result.files_skipped
    run.error = result.error
    run.details = {
        "seconds": round(result.seconds, 3),
        "bytes_read": result.bytes_read,
        "columns_added": result.columns_added,
        "columns_discarded": result.columns_discarded,
        "sources": result.sources,
    }


def _record_failure(engine: EngineAdapter, run: state.RunRecord, result: LoadResult) -> None:
    # Best effort: the target may be the thing that failed.
    result_counts = LoadResult(
        run_id=result.run_id,
        status=result.status,
        table=result.table,
        error=result.error,
        seconds=result.seconds,
    )
    _finish_run(run, result_counts)
    try:
        with engine.transaction():
            # A lost COMMIT reply looks like a failure here although the server committed:
            # never overwrite the record that commit wrote.
            if state.run_status(engine, run.run_id) != "succeeded":
                state.write_run(engine, run)
    except Exception:  # noqa: BLE001 - the original error matters more
        pass
