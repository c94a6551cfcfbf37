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
    """INSERT ... SELECT FROM read_csv in one pass; rejected lines to quarantine."""
    rejects = (f"_hr_rej_{tag}", f"_hr_rejscan_{tag}")
    select, params = scan.csv_select(file, options, file_columns, columns, rejects=rejects)
    missing_text = scan.required_text_filter(columns)
    names = ", ".join(q(c.name) for c in columns)
    where = f" WHERE NOT ({missing_text})" if missing_text else ""
    loaded = engine.execute(f"INSERT INTO {dest.table} ({names}) {select}{where}", params)
    required = frozenset(c.name for c in columns if c.required)
    rejected = _quarantine_insert(
        engine,
        ctx,
        "SELECT line, CAST(NULL AS BIGINT) AS row_offset, column_name, reason, message, raw"
        f" FROM ({scan.rejects_select(rejects[0], required)})",
        [],
    )
    blank = 0
    if missing_text:
        # Rare path: a second pass only when the target has required text columns. The
        # position is the record's ordinal among the rows the reader accepted.
        again = (f"_hr_rej2_{tag}", f"_hr_rejscan2_{tag}")
        select2, params2 = scan.csv_select(file, options, file_columns, columns, rejects=again)
        fields = ", ".join(f"{scan.lit(c.name)}: {q(c.name)}" for c in columns)
        blank = _quarantine_insert(
            engine,
            ctx,
            "SELECT CAST(NULL AS BIGINT) AS line, _hr_n AS row_offset, CAST(NULL AS VARCHAR)"
            " AS column_name, 'missing_required' AS reason,"
            " 'empty value in a required text column' AS message,"
            f" CAST(to_json({{{fields}}}) AS VARCHAR) AS raw"
            f" FROM (SELECT row_number() OVER () AS _hr_n, * FROM ({select2}))"
            f" WHERE {missing_text}",
            params2,
        )
        _drop_temp(engine, *again)
    _drop_temp(engine, *rejects)
    return FileCounts(read=loaded + rejected + blank, loaded=loaded, quarantined=rejected + blank)


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
