"""One load, start to finish: plan, read, validate, publish, record — in ONE transaction.

Data, quarantined rows, state (ingested files, watermark, recorded schema) and the run
record commit together, so a crash at any instant followed by a re-run leaves the target
exactly as one clean run would. A failed run is recorded afterwards, in its own
transaction, for history.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import HeadraceError, UsageError
from headrace.load import arrow_path, file_load, publish, scan, state
from headrace.load.file_load import QuarantineContext
from headrace.load.model import LoadRequest, LoadResult, SqlSource, WriteMode, new_run_id
from headrace.load.scan import FileReadError, TargetColumn, q

if TYPE_CHECKING:
    import pyarrow as pa

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter
    from headrace.schema import LogicalType, SchemaChange, TableSchema
    from headrace.sources.files import CsvOptions, SourceFile

Progress = Callable[[int, int], None]  # (rows, bytes) done so far


@dataclass
class _Plan:
    """What the load found out before writing anything."""

    table: str  # canonical schema.table
    schema: TableSchema | None  # current target schema (None: table does not exist)
    exists: bool


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
    key = _merge_key(request)
    source_text = (
        request.source.describe() if isinstance(request.source, SqlSource) else str(request.source)
    )
    run = state.RunRecord(run_id, "load", table, source_text, state.now(), request.pipeline)
    state.ensure_state(engine)

    def attempt(capped: bool) -> None:
        with _bounded_memory(engine, capped), engine.transaction():
            publish.drop_leftovers(engine, schema_name)
            plan = _plan(engine, table, request)
            if isinstance(request.source, SqlSource):
                _load_sql(engine, request, plan, key, result, run, source_engine_factory, progress)
            else:
                _load_files(engine, request, plan, key, result, base_dir, progress)
            result.seconds = time.perf_counter() - started
            result.check_invariant()
            result.status = "succeeded"
            if before_commit is not None:
                before_commit(engine, result)
            _finish_run(run, result)
            state.write_run(engine, run)

    try:
        try:
            attempt(capped=True)
        except HeadraceError as exc:
            if engine.dialect != "duckdb" or not _out_of_memory(exc):
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


def _out_of_memory(exc: HeadraceError) -> bool:
    return "out of memory" in str(exc).lower()


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


def _merge_key(request: LoadRequest) -> tuple[str, ...]:
    if request.write is not WriteMode.MERGE:
        return ()
    key = request.key or (request.schema.primary_key if request.schema else ())
    if not key:
        raise UsageError(
            "merge needs a key", hint="pass --key COL[,COL] or declare primary_key in --schema"
        )
    return tuple(key)


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
            state.write_run(engine, run)
    except Exception:  # noqa: BLE001 - the original error matters more
        pass


def _plan(engine: EngineAdapter, table: str, request: LoadRequest) -> _Plan:
    """Introspect the target: its schema (with keys/not-null from the recorded schema)."""
    from headrace.schema import LogicalType, TableSchema

    columns = engine.columns(table)
    if not columns:
        return _Plan(table, None, exists=False)
    recorded = state.recorded_schema(engine, table)
    pairs = [(c.name, LogicalType.from_engine_type(c.data_type, engine.dialect)) for c in columns]
    names = {n for n, _ in pairs}
    pk = tuple(k for k in (recorded.primary_key if recorded else ()) if k in names)
    not_null = {c.name for c in columns if not c.nullable}
    if recorded:
        not_null |= {n for n in recorded.not_null if n in names}
    return _Plan(table, TableSchema(tuple(pairs), pk, frozenset(not_null)), exists=True)


# -- files ----------------------------------------------------------------------------------


def _load_files(
    engine: EngineAdapter,
    request: LoadRequest,
    plan: _Plan,
    key: Sequence[str],
    result: LoadResult,
    base_dir: Path | None,
    progress: Progress | None,
) -> None:
    from headrace.sources.files import CsvOptions, resolve_files

    assert isinstance(request.source, str)
    files = resolve_files(request.source, format=request.format, base=base_dir)
    todo, remembered = _incremental_files(engine, plan.table, files, request)
    result.files_skipped = len(files) - len(todo)
    in_engine = engine.dialect == "duckdb" and engine.SUPPORTS_NATIVE_FILE_READERS
    # PostgreSQL targets get a scratch DuckDB on one thread: the server needs the other core.
    reader: DuckDBAdapter = (
        engine if in_engine else arrow_path.scratch_duckdb(threads=1)  # type: ignore[assignment]
    )
    sink: file_load.RowSink = file_load.InsertSink() if in_engine else file_load.CopySink(engine)
    schema = plan.schema
    dest: publish.Destination | None = None
    done_rows = 0
    done_bytes = 0
    try:
        for index, file in enumerate(todo):
            options = CsvOptions.for_format(file.format, **request.csv_options)
            file_columns, source_schema = _describe_file(reader, file, options, request, schema)
            if source_schema is None:
                result.files_loaded += 1
                if request.incremental is not None and request.incremental.kind == "files":
                    state.remember_file(engine, plan.table, remembered[file.path], 0, result.run_id)
                continue
            change = _reconcile(schema, source_schema, request, plan.table)
            new_schema = change.result
            if dest is None:
                dest = publish.prepare_destination(
                    engine,
                    plan.table,
                    new_schema,
                    request.write,
                    result.run_id,
                    target_exists=plan.exists,
                )
                if plan.exists and request.write is not WriteMode.REPLACE:
                    publish.add_columns(engine, engine.quote_table(plan.table), change.added)
                    if dest.table != engine.quote_table(plan.table):
                        publish.add_columns(engine, dest.table, change.added)
            else:
                publish.extend_destination(engine, dest, plan.table, change.added)
            schema = new_schema
            result.columns_added += [n for n, _ in change.added]
            result.columns_discarded += list(change.discarded)
            columns = scan.target_columns(
                schema, [c for c in file_columns if c not in change.discarded]
            )
            _require_columns(file, columns, key)
            ctx = file_load.QuarantineContext(result.run_id, plan.table, str(file.path))
            tag = f"{result.run_id.split('-')[-1]}_{index}"
            quarantine = file_load.QuarantineWriter(reader, engine, ctx)
            with _watch(reader, progress, done_rows, done_bytes, file.size):
                counts = _load_one_file(
                    reader,
                    sink,
                    quarantine,
                    file,
                    options,
                    file_columns,
                    columns,
                    dest,
                    tag,
                    forbid_nul=engine.dialect == "postgres",
                )
            read, loaded, quarantined = counts.read, counts.loaded, counts.quarantined
            result.rows_read += read
            result.rows_loaded += loaded
            result.rows_quarantined += quarantined
            result.sources[str(file.path)] = {
                "format": file.format,
                "columns": file_columns,
                "csv": _csv_dict(options) if file.format in ("csv", "tsv") else None,
            }
            result.files_loaded += 1
            result.bytes_read += file.size
            done_rows += read
            done_bytes += file.size
            if progress:
                progress(done_rows, done_bytes)
            if request.incremental is not None and request.incremental.kind == "files":
                state.remember_file(engine, plan.table, remembered[file.path], read, result.run_id)
        if dest is not None and schema is not None:
            loaded, merged_away = publish.publish(
                engine, dest, plan.table, schema, key, target_exists=plan.exists
            )
            if request.write is WriteMode.MERGE:
                result.rows_merged_away = merged_away
                result.rows_loaded = result.rows_loaded - merged_away
                assert loaded == result.rows_loaded or loaded >= 0
        elif schema is None and request.schema is not None:
            # Nothing to read yet: still create the declared table so downstream SQL works.
            schema = request.schema
            publish.ensure_schema(engine, plan.table.split(".")[0])
            if not plan.exists:
                publish.create_table(engine, engine.quote_table(plan.table), schema)
        if schema is not None:
            state.record_schema(engine, plan.table, schema, result.run_id)
    finally:
        if not in_engine:
            reader.close()


def _incremental_files(
    engine: EngineAdapter, table: str, files: list[SourceFile], request: LoadRequest
) -> tuple[list[SourceFile], dict[Path, state.IngestedFile]]:
    """Files still to load, and the fingerprints to remember for them."""
    remembered: dict[Path, state.IngestedFile] = {}
    if request.incremental is None or request.incremental.kind != "files":
        return files, remembered
    if request.write is WriteMode.REPLACE:
        raise UsageError(
            "--incremental files cannot be combined with --write replace",
            hint="replace rebuilds the table from the files given; use append or merge",
        )
    known = state.ingested_files(engine, table)
    by_stat = {(k.path, k.size, k.mtime_ns) for k in known}
    hashes = {(k.path, k.content_hash) for k in known}
    todo = []
    for file in files:
        path = str(file.path)
        if (path, file.size, file.mtime_ns) in by_stat:
            continue  # same path, size and mtime: already loaded, no need to hash
        digest = file.content_hash()
        if (path, digest) in hashes:
            continue  # touched but unchanged
        remembered[file.path] = state.IngestedFile(path, file.size, file.mtime_ns, digest)
        todo.append(file)
    return todo, remembered


def _describe_file(
    reader: DuckDBAdapter,
    file: SourceFile,
    options: CsvOptions,
    request: LoadRequest,
    current: TableSchema | None,
) -> tuple[list[str], TableSchema | None]:
    """The file's column names and a schema for them (declared/current types where known,
    inferred for the rest)."""
    from headrace.schema import LogicalType, TableSchema

    try:
        if file.format in ("csv", "tsv"):
            header = [] if _is_empty(file) else scan.csv_header(file, options)
            known = request.schema or current
            if known is not None and not options.header:
                # No header: fields are the declared columns, in order.
                header = known.names[: len(header)] + header[len(known.names) :]
            names = header
            if known is not None and all(known.type_of(h) for h in header):
                inferred = [(h, "VARCHAR") for h in header]
            else:
                inferred = scan.infer_csv(reader, file, options, header)
        elif file.format == "ndjson":
            inferred = [] if _is_empty(file) else scan.infer_ndjson(reader, file)
            names = [n for n, _ in inferred]
        else:
            inferred = scan.infer_parquet(reader, file)
            names = [n for n, _ in inferred]
    except HeadraceError as exc:
        raise FileReadError(f"cannot read {file.path}: {exc.message}", hint=exc.hint) from None
    types = dict(inferred)
    known = request.schema or current
    pairs: list[tuple[str, LogicalType]] = []
    for n in names:
        declared = known.type_of(n) if known else None
        pairs.append(
            (n, declared or LogicalType.from_engine_type(types.get(n, "VARCHAR"), "duckdb"))
        )
    if not pairs:
        return [], None  # an empty file: zero rows, nothing to change
    pk = tuple(k for k in (known.primary_key if known else ()) if k in names)
    nn = frozenset(n for n in (known.required if known else ()) if n in names)
    return names, TableSchema(tuple(pairs), pk, nn)


def _csv_dict(options: CsvOptions) -> dict[str, Any]:
    return {
        "delimiter": options.delimiter,
        "quote": options.quote,
        "escape": options.escape,
        "header": options.header,
        "encoding": options.encoding,
    }


def _is_empty(file: SourceFile) -> bool:
    return file.size == 0


def _reconcile(
    current: TableSchema | None, source: TableSchema, request: LoadRequest, table: str
) -> SchemaChange:
    from headrace.schema import reconcile

    target = request.schema if current is None else current
    if request.schema is not None and current is not None:
        # Declared columns missing from the table are new columns, like any other.
        extra = [(n, t) for n, t in request.schema.columns if current.type_of(n) is None]
        target = current.with_columns(extra) if extra else current
    assert request.contract is not None
    return reconcile(target, source, request.contract, table=table)


def _require_columns(file: SourceFile, columns: Sequence[TargetColumn], key: Sequence[str]) -> None:
    absent = [c.name for c in columns if (c.required or c.name in key) and not c.in_file]
    if absent:
        raise FileReadError(
            f"{file.path} has no column {', '.join(absent)}, which the table requires",
            hint="add the column to the file, or drop it from not_null/primary_key",
        )


def _load_one_file(
    reader: DuckDBAdapter,
    sink: file_load.RowSink,
    quarantine: file_load.QuarantineWriter,
    file: SourceFile,
    options: CsvOptions,
    file_columns: list[str],
    columns: list[TargetColumn],
    dest: publish.Destination | None,
    tag: str,
    *,
    forbid_nul: bool,
) -> file_load.FileCounts:
    assert dest is not None
    if not file_columns:
        return file_load.FileCounts()
    rejects: tuple[str, str] | None = None
    second: tuple[str, list[Any]] | None = None
    fast = False
    if file.format in ("csv", "tsv"):
        rejects = (f"_hr_rej_{tag}", f"_hr_rejscan_{tag}")
        # Merge keeps the file's row order for "last one wins"; deferred rows would break it.
        fast = dest.mode is not WriteMode.MERGE
        select, params = scan.csv_select(
            file,
            options,
            file_columns,
            columns,
            rejects=rejects,
            forbid_nul=forbid_nul,
            exact=not fast,
        )
        second = scan.csv_select(
            file,
            options,
            file_columns,
            columns,
            rejects=(f"_hr_rej2_{tag}", f"_hr_rejs2_{tag}"),
            forbid_nul=forbid_nul,
        )
    elif file.format == "ndjson":
        select, params = scan.ndjson_select(file, columns, file_columns, forbid_nul=forbid_nul)
    else:
        relation, relation_params = scan.parquet_relation(file)
        select, params = scan.typed_select(
            relation,
            relation_params,
            columns,
            position="file_row_number + 1",
            forbid_nul=forbid_nul,
        )
    try:
        counts = file_load.load_file(
            reader,
            sink,
            quarantine,
            select,
            params,
            columns,
            dest,
            tag,
            rejects=rejects,
            second_pass=second,
            fast=fast,
        )
    except HeadraceError as exc:
        if "read_" in str(getattr(exc, "sql", "") or "") and not _out_of_memory(exc):
            raise FileReadError(f"cannot read {file.path}: {exc.message}") from None
        raise
    finally:
        if second is not None:
            file_load.drop_temp(reader, f"_hr_rej2_{tag}", f"_hr_rejs2_{tag}")
    return counts


@contextmanager
def _watch(
    reader: DuckDBAdapter, progress: Progress | None, rows: int, size: int, file_size: int
) -> Iterator[None]:
    """Report a running file's progress from DuckDB's own estimate of the query's progress."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.25):
            try:
                done = float(reader.conn.query_progress())
            except Exception:  # noqa: BLE001 - progress is best effort
                continue
            if done >= 0:
                progress(rows, size + int(file_size * min(done, 100.0) / 100))

    thread = threading.Thread(target=poll, name="headrace-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# -- SQL sources ----------------------------------------------------------------------------


def _load_sql(
    engine: EngineAdapter,
    request: LoadRequest,
    plan: _Plan,
    key: Sequence[str],
    result: LoadResult,
    run: state.RunRecord,
    factory: Callable[[str], EngineAdapter] | None,
    progress: Progress | None,
) -> None:
    from headrace.engines.registry import create_engine
    from headrace.schema import LogicalType, TableSchema

    source = request.source
    assert isinstance(source, SqlSource)
    src = (factory or (lambda url: create_engine(url, read_only=True)))(source.url)
    scratch = arrow_path.scratch_duckdb()
    source_key = source.describe()
    incremental = request.incremental
    quarantine: arrow_path.QuarantineBuffer | None = None
    if incremental is not None and incremental.kind != "cursor":
        raise UsageError("--incremental files is for file sources; use cursor:COLUMN here")
    try:
        sql, params = _source_query(
            src,
            source,
            incremental,
            state.read_watermark(engine, plan.table, source_key) if incremental else None,
        )
        batches = src.stream_arrow(sql, params, batch_rows=arrow_path.BATCH_ROWS)
        first = next(batches, None)
        arrow_schema = (
            first.schema
            if first is not None
            else src.fetch_arrow(f"SELECT * FROM ({sql}) AS _hr_empty LIMIT 0", params).schema
        )
        pairs = [(f.name, LogicalType.from_arrow(f.type)) for f in arrow_schema]
        known = request.schema or plan.schema
        if known is not None:
            pairs = [(n, known.type_of(n) or t) for n, t in pairs]
        pk = tuple(k for k in (known.primary_key if known else ()) if k in dict(pairs))
        nn = frozenset(n for n in (known.required if known else ()) if n in dict(pairs))
        source_schema = TableSchema(tuple(pairs), pk, nn)
        change = _reconcile(plan.schema, source_schema, request, plan.table)
        schema = change.result
        dest = publish.prepare_destination(
            engine, plan.table, schema, request.write, result.run_id, target_exists=plan.exists
        )
        if plan.exists and request.write is not WriteMode.REPLACE:
            publish.add_columns(engine, engine.quote_table(plan.table), change.added)
            if dest.table != engine.quote_table(plan.table):
                publish.add_columns(engine, dest.table, change.added)
        result.columns_added = [n for n, _ in change.added]
        result.columns_discarded = list(change.discarded)
        names = [n for n, _ in source_schema.columns if n not in change.discarded]
        columns = scan.target_columns(schema, names)
        _require_columns_sql(source_key, columns, key)
        quarantine = arrow_path.QuarantineBuffer(scratch)
        counts = arrow_path.StreamCounts()
        cursor = incremental.column if incremental else None

        def chained() -> Iterator[pa.RecordBatch]:
            if first is not None:
                yield first
            yield from batches

        typed = _typed_batches(
            scratch,
            chained(),
            columns,
            engine.dialect,
            counts,
            quarantine,
            ordinal=dest.has_ordinal,
            cursor=cursor,
            progress=progress,
        )
        loaded = engine.bulk_load(dest.table, arrow_path.background(typed))
        ctx = QuarantineContext(result.run_id, plan.table, source_key)
        quarantine.flush_to(engine, ctx)
        result.rows_read = counts.read
        result.rows_loaded = loaded
        result.rows_quarantined = counts.quarantined
        _, merged_away = publish.publish(
            engine, dest, plan.table, schema, key, target_exists=plan.exists
        )
        if request.write is WriteMode.MERGE:
            result.rows_merged_away = merged_away
            result.rows_loaded -= merged_away
        result.sources.setdefault(source_key, {"format": "sql"})
        state.record_schema(engine, plan.table, schema, result.run_id)
        if incremental is not None and cursor and counts.cursor_max is not None:
            kind = schema.type_of(cursor)
            value = json.dumps({"value": _text(counts.cursor_max), "type": str(kind)})
            state.write_watermark(engine, plan.table, source_key, cursor, value, result.run_id)
            result.sources[source_key] = {"format": "sql", "watermark": _text(counts.cursor_max)}
    finally:
        if quarantine is not None:
            quarantine.close()
        scratch.close()
        src.close()


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _source_query(
    src: EngineAdapter, source: SqlSource, incremental: Any, watermark: str | None
) -> tuple[str, list[Any]]:
    from headrace.config import parse_duration
    from headrace.schema import LogicalType

    base = (
        f"SELECT * FROM {src.quote_table(source.table)}"
        if source.table
        else f"SELECT * FROM ({source.query}) AS _hr_src"
    )
    if incremental is None or watermark is None:
        return base, []
    stored = json.loads(watermark)
    kind = LogicalType.parse(stored["type"])
    ph = "%s" if src.dialect == "postgres" else "?"
    bound = f"CAST({ph} AS {kind.sql(src.dialect)})"
    column = quote_ident(incremental.column, src.dialect)
    lookback = incremental.lookback
    if lookback:
        if kind.name in ("timestamp", "timestamptz", "date"):
            seconds = parse_duration(lookback)
            bound = f"{bound} - INTERVAL '{int(seconds)} seconds'"
        else:
            bound = f"{bound} - {float(lookback)!r}"
    return f"SELECT * FROM ({base}) AS _hr_inc WHERE {column} > {bound}", [stored["value"]]


def _require_columns_sql(source: str, columns: Sequence[TargetColumn], key: Sequence[str]) -> None:
    absent = [c.name for c in columns if (c.required or c.name in key) and not c.in_file]
    if absent:
        raise UsageError(f"{source} has no column {', '.join(absent)}, which the table requires")


def _typed_batches(
    scratch: DuckDBAdapter,
    batches: Iterator[pa.RecordBatch],
    columns: Sequence[TargetColumn],
    dialect: str,
    counts: arrow_path.StreamCounts,
    quarantine: arrow_path.QuarantineBuffer,
    *,
    ordinal: bool,
    cursor: str | None,
    progress: Progress | None,
) -> Iterator[pa.RecordBatch]:
    """Cast each source batch to the target types in the scratch DuckDB, split bad rows."""
    import pyarrow.compute as pc

    view = "_hr_source_batch"
    for batch in batches:
        scratch.conn.register(view, batch)
        try:
            select, params = scan.typed_select(
                q(view), [], columns, position=f"row_number() OVER () + {counts.read}"
            )
            typed = scratch.fetch_arrow(select, params)
        finally:
            scratch.conn.unregister(view)
        for part in typed.to_batches():
            valid, bad = arrow_path.split_batch(
                part, columns, offset=counts.read, target_dialect=dialect, has_meta=True
            )
            if bad is not None:
                quarantine.add(bad)
                counts.quarantined += bad.num_rows
            if cursor and valid.num_rows:
                top = pc.max(valid.column(cursor)).as_py()
                if top is not None and (counts.cursor_max is None or top > counts.cursor_max):
                    counts.cursor_max = top
            start = counts.valid
            counts.valid += valid.num_rows
            if valid.num_rows:
                yield arrow_path.with_ordinal(valid, start) if ordinal else valid
        counts.read += batch.num_rows
        if progress:
            progress(counts.read, 0)


def _offset_progress(
    progress: Progress | None, rows: int, size: int
) -> Callable[[int], None] | None:
    """Per-file progress (rows of this file) reported as load-wide totals."""
    if progress is None:
        return None
    return lambda done: progress(rows + done, size)
