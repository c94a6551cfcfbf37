"""Loads with Python transforms: rows travel as Arrow batches that keep each row's source
position, pass through the pipeline's transforms, then take the same typed and checked
path as SQL sources (``from_sql.typed_batches``) into the target's bulk loader.

Files cannot use the pure-SQL fast path here (Python has to see the rows): a scratch DuckDB
reads and types each file with the same SQL as a load without transforms, and streams it
in batches of ``arrow_path.BATCH_ROWS`` rows, so memory stays bounded by the batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError, UsageError, out_of_memory
from headrace.load import arrow_path, file_load, publish, scan
from headrace.load.plan import reconcile_schema, require_columns
from headrace.load.scan import FileReadError, TargetColumn, q
from headrace.transform.python import TransformError, apply_transforms

if TYPE_CHECKING:
    import pyarrow as pa

    from headrace.engines.base import EngineAdapter
    from headrace.engines.duckdb import DuckDBAdapter
    from headrace.load.model import LoadRequest, LoadResult
    from headrace.load.plan import TargetPlan
    from headrace.load.runner import Progress
    from headrace.schema import TableSchema
    from headrace.sources.files import CsvOptions, SourceFile
    from headrace.transform.python import PythonTransform

# Each output batch carries its rows' source positions to the checks under this name.
POSITION = "_hr_src_pos"


@dataclass
class TransformStage:
    """Runs the transforms over (batch, source positions) pairs; counts what it saw."""

    transforms: Sequence[PythonTransform]
    source: str  # the file path or SQL source, for messages
    quarantine: arrow_path.QuarantineBuffer
    unit: str = "rows"
    read: int = 0  # rows given to the transforms
    rejected: int = 0  # rows the transforms sent to quarantine
    columns: list[str] | None = field(default=None)
    first_schema: pa.Schema | None = None

    def where(self, positions: pa.Array) -> str:
        """``<source> rows 1-122880``: the batch's place in its source."""
        import pyarrow.compute as pc

        if len(positions) == 0:
            return f"{self.source} (an empty batch, to learn the output columns)"
        bounds = pc.min_max(positions)
        return f"{self.source} {self.unit} {bounds['min'].as_py()}-{bounds['max'].as_py()}"

    def run(self, batches: Iterator[tuple[pa.RecordBatch, pa.Array]]) -> Iterator[pa.RecordBatch]:
        """Transformed batches with rows, each with its positions in a ``POSITION`` column."""
        for batch, positions in batches:
            self.read += batch.num_rows
            out = self._apply(batch, positions)
            if out.num_rows:
                yield out

    def output_schema(
        self, first: pa.RecordBatch | None, source_schema: Callable[[], pa.Schema]
    ) -> pa.Schema:
        """The transforms' output columns: from the first batch with rows, else from the
        first batch at all, else from one call with an empty batch of the source's columns."""
        import pyarrow as pa

        if first is not None:
            return first.schema
        if self.first_schema is None:
            empty = pa.RecordBatch.from_pylist([], schema=source_schema())
            self._apply(empty, pa.array([], pa.int64()))
        assert self.first_schema is not None
        return self.first_schema

    def _apply(self, batch: pa.RecordBatch, positions: pa.Array) -> pa.RecordBatch:
        out = apply_transforms(self.transforms, batch, positions, self.where)
        for rows in out.rejected:
            self.quarantine.add(rows)
            self.rejected += rows.num_rows
        names = out.batch.schema.names
        if self.columns is None:
            self.columns, self.first_schema = list(names), out.batch.schema
        elif set(names) != set(self.columns):
            last = self.transforms[-1].spec
            raise TransformError(
                f"transform {last} returned columns {', '.join(names)} on"
                f" {self.where(positions)}, but {', '.join(self.columns)} before",
                hint="return the same columns for every batch",
                function=last,
            )
        return out.batch.append_column(POSITION, out.positions)


class Relay:
    """Hands batches to a target's bulk loader, but ends the stream quietly on an error
    and keeps it for :meth:`reraise`: raised inside the engine's own scan (DuckDB reading
    an Arrow stream), the error would come back wrapped in the engine's words and leave
    its session aborted mid-statement; raised after it, it rolls the load back as is."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self.batches = batches
        self.error: Exception | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.batches
        except Exception as exc:  # noqa: BLE001 - re-raised by reraise() after the load call
            self.error = exc

    def reraise(self) -> None:
        """Raise the error that ended the stream, if any."""
        if self.error is not None:
            raise self.error


def sql_positions(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[pa.RecordBatch, pa.Array]]:
    """Batches of a SQL source with their 1-based row offsets in the stream."""
    import pyarrow as pa

    done = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        yield batch, pa.array(range(done + 1, done + batch.num_rows + 1), pa.int64())
        done += batch.num_rows


def arrow_schema_of(
    reader: DuckDBAdapter, columns: Sequence[tuple[str, Any]]
) -> Callable[[], pa.Schema]:
    """The Arrow schema DuckDB gives columns of these logical types (asked only if needed)."""

    def schema() -> pa.Schema:
        fields = ", ".join(f"CAST(NULL AS {t.sql(scan.D)}) AS {q(n)}" for n, t in columns)
        return reader.fetch_arrow(f"SELECT {fields} LIMIT 0").schema

    return schema


@dataclass
class FileOutcome:
    """One transformed file's counts and the table as it is after it."""

    schema: TableSchema
    dest: publish.Destination
    counts: file_load.FileCounts


class TransformedFiles:
    """The file half of a load with transforms; one instance serves all files of a load."""

    def __init__(
        self,
        engine: EngineAdapter,
        request: LoadRequest,
        plan: TargetPlan,
        key: Sequence[str],
        result: LoadResult,
        progress: Progress | None,
    ) -> None:
        self.engine, self.request, self.plan, self.key = engine, request, plan, key
        self.result, self.progress = result, progress
        # Types and checks the transforms' output; its count of valid rows numbers the
        # rows of a merge load-wide, across files.
        self.checker = arrow_path.scratch_duckdb()
        self.counts = arrow_path.StreamCounts()

    def close(self) -> None:
        """Free the scratch database."""
        self.checker.close()

    def load(
        self,
        file: SourceFile,
        options: CsvOptions,
        file_columns: list[str],
        source_schema: TableSchema,
        current: TableSchema | None,
        dest: publish.Destination | None,
        *,
        tag: str,
        done_rows: int,
    ) -> FileOutcome:
        """Read, transform, check and land one file; bad rows go to quarantine."""
        postgres = self.engine.dialect == "postgres"
        # The server needs the other core when the target is PostgreSQL.
        reader = arrow_path.scratch_duckdb(threads=1 if postgres else None)
        quarantine = arrow_path.QuarantineBuffer(reader)
        try:
            try:
                return self._load(
                    reader,
                    quarantine,
                    file,
                    options,
                    file_columns,
                    source_schema,
                    current,
                    dest,
                    tag,
                    done_rows,
                )
            except HeadraceError as exc:
                sql = str(getattr(exc, "sql", "") or "")
                if "read_" in sql and not out_of_memory(exc):
                    raise FileReadError(f"cannot read {file.path}: {exc.message}") from None
                raise
        finally:
            quarantine.close()
            reader.close()

    def _load(
        self,
        reader: DuckDBAdapter,
        quarantine: arrow_path.QuarantineBuffer,
        file: SourceFile,
        options: CsvOptions,
        file_columns: list[str],
        source_schema: TableSchema,
        current: TableSchema | None,
        dest: publish.Destination | None,
        tag: str,
        done_rows: int,
    ) -> FileOutcome:
        from headrace.schema import LogicalType, TableSchema

        request, engine = self.request, self.engine
        # The transforms see the file as a load without them would type it; required
        # columns and row checks apply to what they return.
        inputs = [TargetColumn(n, t, False, True) for n, t in source_schema.columns]
        select, params, rejects = _read_select(file, options, file_columns, inputs, tag)
        stage = TransformStage(request.transforms, str(file.path), quarantine)
        read = _ReadCounts()
        stream = stage.run(
            _file_positions(
                reader.stream_arrow(select, params, batch_rows=arrow_path.BATCH_ROWS),
                [c.name for c in inputs],
                quarantine,
                read,
                self._progress(done_rows),
            )
        )
        first = next(stream, None)
        arrow_schema = stage.output_schema(first, arrow_schema_of(reader, source_schema.columns))
        known = request.schema or current
        pairs = [
            (f.name, (known.type_of(f.name) if known else None) or _logical(f, LogicalType))
            for f in arrow_schema
            if f.name != POSITION
        ]
        names = [n for n, _ in pairs]
        pk = tuple(k for k in (known.primary_key if known else ()) if k in names)
        nn = frozenset(n for n in (known.required if known else ()) if n in names)
        output = TableSchema(tuple(pairs), pk, nn)
        change = reconcile_schema(current, output, request, self.plan.table)
        schema = change.result
        if dest is None:
            dest = publish.prepare_destination(
                engine,
                self.plan.table,
                schema,
                request.write,
                self.result.run_id,
                target_exists=self.plan.exists,
                existing=self.plan.schema.names if self.plan.schema else (),
            )
        publish.evolve(engine, dest, change.added)
        self.result.columns_added += [n for n, _ in change.added]
        self.result.columns_discarded += list(change.discarded)
        columns = scan.target_columns(schema, [n for n in names if n not in change.discarded])
        require_columns(str(file.path), columns, self.key)
        scan.probe_row_checks(self.checker, request.row_checks, columns)

        def chained() -> Iterator[pa.RecordBatch]:
            if first is not None:
                yield first
            yield from stream

        from headrace.load.from_sql import typed_batches

        checked_before = self.counts.quarantined
        typed = typed_batches(
            self.checker,
            chained(),
            columns,
            engine.dialect,
            self.counts,
            quarantine,
            ordinal=dest.has_ordinal,
            cursor=None,
            progress=None,
            row_checks=request.row_checks,
            position_column=POSITION,
        )
        relay = Relay(arrow_path.background(typed))
        loaded = engine.bulk_load(dest.table, iter(relay))
        relay.reraise()
        rejected_by_reader = 0
        if rejects is not None:
            before = quarantine.count
            quarantine.add_from_reader(
                "SELECT line, CAST(NULL AS BIGINT) AS row_offset, column_name, reason, message,"
                f" raw FROM ({scan.rejects_select(rejects[0], frozenset())})"
            )
            rejected_by_reader = quarantine.count - before
            file_load.drop_temp(reader, *rejects)
        ctx = file_load.QuarantineContext(self.result.run_id, self.plan.table, str(file.path))
        quarantine.flush_to(engine, ctx)
        quarantined = (
            rejected_by_reader
            + read.flagged
            + stage.rejected
            + (self.counts.quarantined - checked_before)
        )
        counts = file_load.FileCounts(rejected_by_reader + read.rows, loaded, quarantined)
        if counts.read != counts.loaded + counts.quarantined:
            raise HeadraceError(
                f"the transformed load of {file.path} does not add up: read {counts.read},"
                f" loaded {loaded}, quarantined {quarantined}; nothing was committed",
                hint="this is a bug in headrace; please report it",
            )
        return FileOutcome(schema, dest, counts)

    def _progress(self, done_rows: int) -> Callable[[int], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda rows: progress(done_rows + rows, self.result.bytes_read)


def _logical(arrow_field: pa.Field, logical: Any) -> Any:
    try:
        return logical.from_arrow(arrow_field.type)
    except ValueError as exc:
        raise UsageError(f"transform output column {arrow_field.name!r}: {exc}") from None


@dataclass
class _ReadCounts:
    rows: int = 0  # rows the reader produced (flagged or not)
    flagged: int = 0  # of them, rows the read's checks flagged (quarantined before transforms)


def _read_select(
    file: SourceFile,
    options: CsvOptions,
    file_columns: list[str],
    inputs: list[TargetColumn],
    tag: str,
) -> tuple[str, list[Any], tuple[str, str] | None]:
    """The same typed, checked read as a load without transforms (exact integers)."""
    if file.format in ("csv", "tsv"):
        rejects = (f"_hr_trej_{tag}", f"_hr_trejscan_{tag}")
        select, params = scan.csv_select(file, options, file_columns, inputs, rejects=rejects)
        return select, params, rejects
    if file.format == "ndjson":
        select, params = scan.ndjson_select(file, inputs, file_columns)
        return select, params, None
    relation, relation_params = scan.parquet_relation(file)
    select, params = scan.typed_select(
        relation, relation_params, inputs, position="file_row_number + 1"
    )
    return select, params, None


def _file_positions(
    batches: Iterator[pa.RecordBatch],
    names: list[str],
    quarantine: arrow_path.QuarantineBuffer,
    counts: _ReadCounts,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[pa.RecordBatch, pa.Array]]:
    """The read's rows the checks passed, as (batch of the file's columns, positions);
    flagged rows go to quarantine here. A position is ``_hr_pos`` where the read has it
    (NDJSON, Parquet), else the row's ordinal among the rows the CSV reader accepted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in batches:
        n = batch.num_rows
        if "_hr_pos" in batch.schema.names:
            positions = pc.cast(batch.column("_hr_pos"), pa.int64())
        else:
            positions = pa.array(range(counts.rows + 1, counts.rows + n + 1), pa.int64())
        counts.rows += n
        bad = pc.is_valid(batch.column("_hr_reason"))
        if pc.any(bad).as_py():
            flagged = pa.table(
                {
                    "line": pa.nulls(n, pa.int64()),
                    "row_offset": positions,
                    "column_name": batch.column("_hr_column"),
                    "reason": batch.column("_hr_reason"),
                    "message": batch.column("_hr_message"),
                    "raw": batch.column("_hr_raw"),
                }
            ).filter(bad)
            quarantine.add(flagged)
            counts.flagged += flagged.num_rows
            good = pc.invert(bad)
            batch, positions = batch.filter(good), positions.filter(good)
        if progress is not None:
            progress(counts.rows)
        if batch.num_rows == 0:
            continue  # every row was flagged: nothing for the transforms
        yield pa.RecordBatch.from_arrays([batch.column(c) for c in names], names=names), positions
