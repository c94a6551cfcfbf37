"""Load files: resolve them, skip what --incremental files already loaded, describe each
file's columns, reconcile with the table, and land each file through file_load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError, UsageError, out_of_memory
from headrace.load import arrow_path, file_load, publish, scan, state
from headrace.load.model import LoadRequest, LoadResult, WriteMode
from headrace.load.plan import TargetPlan, reconcile_schema, require_columns
from headrace.load.scan import FileReadError, TargetColumn
from headrace.load.transformed import TransformedFiles
from headrace.runtime.faults import fault_point

if TYPE_CHECKING:
    from collections.abc import Sequence

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter
    from headrace.load.runner import Progress
    from headrace.quality.model import CheckDef
    from headrace.schema import LogicalType, TableSchema
    from headrace.sources.files import CsvOptions, SourceFile


def load_files(
    engine: EngineAdapter,
    request: LoadRequest,
    plan: TargetPlan,
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
    set_total = getattr(progress, "set_total", None)
    if callable(set_total):
        set_total(sum(f.size for f in todo))
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
    # Transforms need the rows in Python: those loads leave the pure-SQL path per file.
    transformed = (
        TransformedFiles(engine, request, plan, key, result, progress)
        if request.transforms
        else None
    )
    try:
        for index, file in enumerate(todo):
            options = CsvOptions.for_format(file.format, **request.csv_options)
            file_columns, source_schema = _describe_file(reader, file, options, request, schema)
            if source_schema is None:
                result.files_loaded += 1
                if request.incremental is not None and request.incremental.kind == "files":
                    state.remember_file(engine, plan.table, remembered[file.path], 0, result.run_id)
                continue
            tag = f"{result.run_id.split('-')[-1]}_{index}"
            if transformed is not None:
                outcome = transformed.load(
                    file,
                    options,
                    file_columns,
                    source_schema,
                    schema,
                    dest,
                    tag=tag,
                    done_rows=done_rows,
                )
                schema, dest, counts = outcome.schema, outcome.dest, outcome.counts
            else:
                schema, dest, counts = _load_plain(
                    engine,
                    reader,
                    sink,
                    request,
                    plan,
                    key,
                    result,
                    file,
                    options,
                    file_columns,
                    source_schema,
                    schema,
                    dest,
                    tag=tag,
                    progress=_watch(reader, progress, done_rows, done_bytes, file.size),
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
            if request.transforms:
                result.sources[str(file.path)]["transforms"] = [t.spec for t in request.transforms]
            result.files_loaded += 1
            result.bytes_read += file.size
            done_rows += read
            done_bytes += file.size
            if progress:
                progress(done_rows, done_bytes)
            if request.incremental is not None and request.incremental.kind == "files":
                state.remember_file(engine, plan.table, remembered[file.path], read, result.run_id)
            fault_point("after_file")
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
        if transformed is not None:
            transformed.close()
        if not in_engine:
            reader.close()


def _load_plain(
    engine: EngineAdapter,
    reader: DuckDBAdapter,
    sink: file_load.RowSink,
    request: LoadRequest,
    plan: TargetPlan,
    key: Sequence[str],
    result: LoadResult,
    file: SourceFile,
    options: CsvOptions,
    file_columns: list[str],
    source_schema: TableSchema,
    schema: TableSchema | None,
    dest: publish.Destination | None,
    *,
    tag: str,
    progress: AbstractContextManager[None],
) -> tuple[TableSchema, publish.Destination, file_load.FileCounts]:
    """One file without transforms: reconcile its columns, then the pure-SQL path."""
    change = reconcile_schema(schema, source_schema, request, plan.table)
    new_schema = change.result
    if dest is None:
        dest = publish.prepare_destination(
            engine,
            plan.table,
            new_schema,
            request.write,
            result.run_id,
            target_exists=plan.exists,
            existing=plan.schema.names if plan.schema else (),
        )
    publish.evolve(engine, dest, change.added)
    result.columns_added += [n for n, _ in change.added]
    result.columns_discarded += list(change.discarded)
    columns = scan.target_columns(
        new_schema, [c for c in file_columns if c not in change.discarded]
    )
    require_columns(str(file.path), columns, key)
    ctx = file_load.QuarantineContext(result.run_id, plan.table, str(file.path))
    quarantine = file_load.QuarantineWriter(reader, engine, ctx)
    with progress:
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
            row_checks=request.row_checks,
        )
    return new_schema, dest, counts


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
    row_checks: Sequence[CheckDef] = (),
) -> file_load.FileCounts:
    assert dest is not None
    if not file_columns:
        return file_load.FileCounts()
    scan.probe_row_checks(reader, row_checks, columns)
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
            row_checks=row_checks,
            exact=not fast,
        )
        second = scan.csv_select(
            file,
            options,
            file_columns,
            columns,
            rejects=(f"_hr_rej2_{tag}", f"_hr_rejs2_{tag}"),
            forbid_nul=forbid_nul,
            row_checks=row_checks,
        )
    elif file.format == "ndjson":
        select, params = scan.ndjson_select(
            file, columns, file_columns, forbid_nul=forbid_nul, row_checks=row_checks
        )
    else:
        relation, relation_params = scan.parquet_relation(file)
        select, params = scan.typed_select(
            relation,
            relation_params,
            columns,
            position="file_row_number + 1",
            forbid_nul=forbid_nul,
            row_checks=row_checks,
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
        if "read_" in str(getattr(exc, "sql", "") or "") and not out_of_memory(exc):
            raise FileReadError(f"cannot read {file.path}: {exc.message}") from None
        raise
    if second is not None:
        # Not in a finally: after a failed statement the transaction is aborted, and a
        # cleanup error would hide the real one (the rollback drops these tables anyway).
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
