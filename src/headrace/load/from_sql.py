"""Load from a table or query on another database: stream Arrow batches from it, type
them in a scratch DuckDB, land them through the target's bulk path; keep a watermark for
--incremental cursor:COL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import UsageError
from headrace.load import arrow_path, publish, scan, state, transformed
from headrace.load.file_load import QuarantineContext
from headrace.load.model import LoadRequest, LoadResult, SqlSource, WriteMode
from headrace.load.plan import TargetPlan, reconcile_schema, require_columns
from headrace.load.scan import TargetColumn, q

if TYPE_CHECKING:
    import pyarrow as pa

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter
    from headrace.load.runner import Progress
    from headrace.quality.model import CheckDef


def load_sql(
    engine: EngineAdapter,
    request: LoadRequest,
    plan: TargetPlan,
    key: Sequence[str],
    result: LoadResult,
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
        if request.window is not None:
            if incremental is None or incremental.column is None:
                raise UsageError(
                    f"backfill needs a cursor: {request.table} has no incremental: cursor:COL"
                )
            if state.interval_done(engine, plan.table, source_key, request.window[0]):
                result.sources[source_key] = {
                    "format": "sql",
                    "interval": list(request.window),
                    "skipped": "already loaded",
                }
                return
            sql, params = _window_query(src, source, incremental.column, request.window)
        else:
            sql, params = _source_query(
                src,
                source,
                incremental,
                state.read_watermark(engine, plan.table, source_key) if incremental else None,
            )
        batches = src.stream_arrow(sql, params, batch_rows=arrow_path.BATCH_ROWS)

        def empty_schema() -> pa.Schema:
            return src.fetch_arrow(f"SELECT * FROM ({sql}) AS _hr_empty LIMIT 0", params).schema

        stage = None
        if request.transforms:
            quarantine = arrow_path.QuarantineBuffer(scratch)
            stage = transformed.TransformStage(
                request.transforms, source_key, quarantine, unit="row offsets"
            )
            batches = stage.run(transformed.sql_positions(batches))
        first = next(batches, None)
        if stage is not None:
            arrow_schema = stage.output_schema(first, empty_schema)
        else:
            arrow_schema = first.schema if first is not None else empty_schema()
        pairs = [
            (f.name, LogicalType.from_arrow(f.type))
            for f in arrow_schema
            if f.name != transformed.POSITION
        ]
        known = request.schema or plan.schema
        if known is not None:
            pairs = [(n, known.type_of(n) or t) for n, t in pairs]
        pk = tuple(k for k in (known.primary_key if known else ()) if k in dict(pairs))
        nn = frozenset(n for n in (known.required if known else ()) if n in dict(pairs))
        source_schema = TableSchema(tuple(pairs), pk, nn)
        change = reconcile_schema(plan.schema, source_schema, request, plan.table)
        schema = change.result
        dest = publish.prepare_destination(
            engine,
            plan.table,
            schema,
            request.write,
            result.run_id,
            target_exists=plan.exists,
            existing=plan.schema.names if plan.schema else (),
        )
        publish.evolve(engine, dest, change.added)
        result.columns_added = [n for n, _ in change.added]
        result.columns_discarded = list(change.discarded)
        names = [n for n, _ in source_schema.columns if n not in change.discarded]
        columns = scan.target_columns(schema, names)
        require_columns(source_key, columns, key)
        if quarantine is None:
            quarantine = arrow_path.QuarantineBuffer(scratch)
        counts = arrow_path.StreamCounts()
        cursor = incremental.column if incremental else None
        if stage is not None and cursor and cursor not in names:
            raise UsageError(
                f"the transforms of {request.table} removed the cursor column {cursor!r}",
                hint="keep it in their output: the watermark is read from it",
            )

        def chained() -> Iterator[pa.RecordBatch]:
            if first is not None:
                yield first
            yield from batches

        typed = typed_batches(
            scratch,
            chained(),
            columns,
            engine.dialect,
            counts,
            quarantine,
            ordinal=dest.has_ordinal,
            cursor=cursor,
            progress=progress,
            row_checks=request.row_checks,
            position_column=transformed.POSITION if stage is not None else None,
        )
        if stage is None:
            loaded = engine.bulk_load(dest.table, arrow_path.background(typed))
        else:
            relay = transformed.Relay(arrow_path.background(typed))
            loaded = engine.bulk_load(dest.table, iter(relay))
            relay.reraise()
        ctx = QuarantineContext(result.run_id, plan.table, source_key)
        quarantine.flush_to(engine, ctx)
        result.rows_read = counts.read
        result.rows_loaded = loaded
        result.rows_quarantined = counts.quarantined
        if stage is not None:
            # Rows the transforms rejected never reached the checks: count them here.
            result.rows_read = stage.read
            result.rows_quarantined += stage.rejected
        _, merged_away = publish.publish(
            engine, dest, plan.table, schema, key, target_exists=plan.exists
        )
        if request.write is WriteMode.MERGE:
            result.rows_merged_away = merged_away
            result.rows_loaded -= merged_away
        result.sources.setdefault(source_key, {"format": "sql"})
        state.record_schema(engine, plan.table, schema, result.run_id)
        if request.window is not None:
            # The interval is remembered in the same transaction as its rows; a backfill
            # never moves the watermark of the regular incremental loads.
            state.remember_interval(
                engine, plan.table, source_key, request.window, result.rows_read, result.run_id
            )
            result.sources[source_key] = {"format": "sql", "interval": list(request.window)}
        elif incremental is not None and cursor and counts.cursor_max is not None:
            kind = schema.type_of(cursor)
            value = json.dumps({"value": _text(counts.cursor_max), "type": str(kind)})
            state.write_watermark(engine, plan.table, source_key, cursor, value, result.run_id)
            result.sources[source_key] = {"format": "sql", "watermark": _text(counts.cursor_max)}
        if request.transforms:
            result.sources[source_key]["transforms"] = [t.spec for t in request.transforms]
    finally:
        if quarantine is not None:
            quarantine.close()
        scratch.close()
        src.close()


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _window_query(
    src: EngineAdapter, source: SqlSource, column: str, window: tuple[str, str]
) -> tuple[str, list[Any]]:
    """Rows with ``lo <= column < hi``, the bounds cast to the column's own type."""
    from headrace.schema import LogicalType

    base = _base_query(src, source)
    quoted = quote_ident(column, src.dialect)
    probe = src.fetch_arrow(f"SELECT {quoted} FROM ({base}) AS _hr_probe LIMIT 0")
    kind = LogicalType.from_arrow(probe.schema.field(0).type).sql(src.dialect)
    ph = "%s" if src.dialect == "postgres" else "?"
    return (
        f"SELECT * FROM ({base}) AS _hr_win WHERE {quoted} >= CAST({ph} AS {kind})"
        f" AND {quoted} < CAST({ph} AS {kind})",
        list(window),
    )


def _base_query(src: EngineAdapter, source: SqlSource) -> str:
    if source.table:
        return f"SELECT * FROM {src.quote_table(source.table)}"
    return f"SELECT * FROM ({source.query}) AS _hr_src"


def _source_query(
    src: EngineAdapter, source: SqlSource, incremental: Any, watermark: str | None
) -> tuple[str, list[Any]]:
    from headrace.config import parse_duration
    from headrace.schema import LogicalType

    base = _base_query(src, source)
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


def typed_batches(
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
    row_checks: Sequence[CheckDef] = (),
    position_column: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Cast each source batch to the target types in the scratch DuckDB, split bad rows.

    ``position_column`` names a column of the batches holding each row's source position
    (transformed batches); without it a row's position is its place in the stream.
    """
    import pyarrow.compute as pc

    view = "_hr_source_batch"
    for batch in batches:
        scratch.conn.register(view, batch)
        try:
            select, params = scan.typed_select(
                q(view),
                [],
                columns,
                position=(
                    q(position_column)
                    if position_column
                    else f"row_number() OVER () + {counts.read}"
                ),
                forbid_nul=dialect == "postgres",
                row_checks=row_checks,
            )
            typed = scratch.fetch_arrow(select, params)
        finally:
            scratch.conn.unregister(view)
        for part in typed.to_batches():
            valid, bad = arrow_path.split_batch(part, columns)
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
