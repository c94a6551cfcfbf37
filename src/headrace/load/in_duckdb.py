"""File -> DuckDB target: the rows never leave the engine (DuckDB's own readers and SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.load import scan
from headrace.load.publish import Destination
from headrace.load.scan import TargetColumn, q
from headrace.load.state import now, state_table

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.sources.files import CsvOptions, SourceFile


@dataclass
class FileCounts:
    """Rows of one file: read = loaded + quarantined."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class QuarantineContext:
    """Who the quarantined rows belong to."""

    run_id: str
    table: str
    source: str


def _quarantine_insert(
    engine: EngineAdapter, ctx: QuarantineContext, select: str, params: Sequence[Any]
) -> int:
    """INSERT quarantine rows from a SELECT of (line, row_offset, column_name, reason,
    message, raw)."""
    target = state_table("quarantine", engine.dialect)
    return engine.execute(
        f"INSERT INTO {target} (run_id, table_name, source, line, row_offset, column_name,"
        " reason, message, raw, quarantined_at)"
        f" SELECT ?, ?, ?, line, row_offset, column_name, reason, message, raw, ?"
        f" FROM ({select}) AS _hr_q",
        [ctx.run_id, ctx.table, ctx.source, now(), *params],
    )


def load_csv(
    engine: EngineAdapter,
    file: SourceFile,
    options: CsvOptions,
    file_columns: Sequence[str],
    columns: Sequence[TargetColumn],
    dest: Destination,
    ctx: QuarantineContext,
    tag: str,
) -> FileCounts:
    """One pass: INSERT ... SELECT FROM read_csv; rejected lines to quarantine.

    Rows the reader accepts but the flags reject are filtered out of the INSERT and
    counted in the same pass by a sequence (nextval runs only for those rows); only when
    there are some does a second pass collect them for quarantine.
    """
    rejects = (f"_hr_rej_{tag}", f"_hr_rejscan_{tag}")
    select, params = scan.csv_select(file, options, file_columns, columns, rejects=rejects)
    names = ", ".join(q(c.name) for c in columns)
    counter = q(f"_hr_bad_{tag}")
    engine.execute(f"CREATE TEMP SEQUENCE {counter}")
    engine.fetchall(f"SELECT nextval({scan.lit(f'_hr_bad_{tag}')})")  # currval needs one call
    loaded = engine.execute(
        f"INSERT INTO {dest.table} ({names}) SELECT {names} FROM ({select}) AS _hr_s"
        f" WHERE CASE WHEN _hr_reason IS NULL THEN true"
        f" ELSE nextval({scan.lit(f'_hr_bad_{tag}')}) < 0 END",
        params,
    )
    flagged = int(engine.fetchall(f"SELECT currval({scan.lit(f'_hr_bad_{tag}')})")[0][0]) - 1
    engine.execute(f"DROP SEQUENCE {counter}")
    required = frozenset(c.name for c in columns if c.required)
    rejected = _quarantine_insert(
        engine,
        ctx,
        "SELECT line, CAST(NULL AS BIGINT) AS row_offset, column_name, reason, message, raw"
        f" FROM ({scan.rejects_select(rejects[0], required)})",
        [],
    )
    _drop_temp(engine, *rejects)
    flagged_rows = 0
    if flagged:
        # The position is the record's ordinal among the rows the reader accepted.
        again = (f"_hr_rej2_{tag}", f"_hr_rejscan2_{tag}")
        select2, params2 = scan.csv_select(file, options, file_columns, columns, rejects=again)
        flagged_rows = _quarantine_insert(
            engine,
            ctx,
            "SELECT CAST(NULL AS BIGINT) AS line, _hr_n AS row_offset, _hr_column AS column_name,"
            " _hr_reason AS reason, _hr_message AS message, _hr_raw AS raw"
            f" FROM (SELECT row_number() OVER () AS _hr_n, * FROM ({select2}))"
            " WHERE _hr_reason IS NOT NULL",
            params2,
        )
        _drop_temp(engine, *again)
    quarantined = rejected + flagged_rows
    return FileCounts(read=loaded + quarantined, loaded=loaded, quarantined=quarantined)


def load_validated(
    engine: EngineAdapter,
    select: str,
    params: Sequence[Any],
    columns: Sequence[TargetColumn],
    dest: Destination,
    ctx: QuarantineContext,
    tag: str,
    *,
    position_is_line: bool,
) -> FileCounts:
    """NDJSON/Parquet: materialise the checked scan once, then split good and bad rows."""
    stage = q(f"_hr_scan_{tag}")
    engine.execute(f"CREATE TEMP TABLE {stage} AS {select}", params)
    names = ", ".join(q(c.name) for c in columns)
    loaded = engine.execute(
        f"INSERT INTO {dest.table} ({names}) SELECT {names} FROM {stage}"
        " WHERE _hr_reason IS NULL ORDER BY _hr_pos"
    )
    position = (
        "_hr_pos AS line, CAST(NULL AS BIGINT) AS row_offset"
        if position_is_line
        else ("CAST(NULL AS BIGINT) AS line, _hr_pos AS row_offset")
    )
    quarantined = _quarantine_insert(
        engine,
        ctx,
        f"SELECT {position}, _hr_column AS column_name, _hr_reason AS reason,"
        f" _hr_message AS message, _hr_raw AS raw FROM {stage}"
        " WHERE _hr_reason IS NOT NULL ORDER BY _hr_pos",
        [],
    )
    engine.execute(f"DROP TABLE {stage}")
    return FileCounts(read=loaded + quarantined, loaded=loaded, quarantined=quarantined)


def _drop_temp(engine: EngineAdapter, *names: str) -> None:
    for name in names:
        engine.execute(f"DROP TABLE IF EXISTS temp.main.{q(name)}")
