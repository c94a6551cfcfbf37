"""Load the demo files into DuckDB with its native readers; bad rows go to ``raw._quarantine``.

Each table is replaced together with its quarantine rows in one transaction, so a re-run
gives the same warehouse and a crash leaves the previous load intact. Every load proves
``rows_read == rows_loaded + rows_quarantined`` against an independent count of the file's
records before it commits.

File paths and reject-table names are bound parameters. The ``columns`` struct, JSON paths
and types are our own constants, rendered with sqlglot literals because DuckDB needs a
constant there: ``columns = ?`` is not accepted as a bound value (the reader then sniffs
the file instead).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from headrace.demo.tables import DATA_DIR, DEMO_TABLES, QUARANTINE_TABLE, Column, DemoTable
from headrace.engines.base import EngineAdapter
from headrace.engines.sql import quote_ident
from headrace.errors import HeadraceError, UsageError

_DIALECT = "duckdb"
# DuckDB creates reject tables as temporary tables; fixed names, dropped before each scan so
# a scan never sees the rejects of an earlier one.
_REJECTS = "_headrace_demo_rejects"
_REJECT_SCANS = "_headrace_demo_reject_scans"
_STAGE = "_headrace_demo_stage"

# JSON value types DuckDB reports (json_type) that may be cast to each column type; without
# this check TRY_CAST would quietly turn 2.5 into an INTEGER and "1" into a number.
_JSON_TYPES = {
    "BIGINT": ("BIGINT", "UBIGINT"),
    "INTEGER": ("BIGINT", "UBIGINT"),
    "DECIMAL": ("BIGINT", "UBIGINT", "DOUBLE"),
    "BOOLEAN": ("BOOLEAN",),
    "TIMESTAMP": ("VARCHAR",),
    "VARCHAR": ("VARCHAR",),
}


class DemoLoadError(HeadraceError):
    """A demo load could not account for every row it read."""


@dataclass(frozen=True)
class TableLoad:
    """The outcome of loading one file into one table."""

    table: str
    source: Path
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    seconds: float


def load_data(engine: EngineAdapter, directory: Path) -> list[TableLoad]:
    """Replace the ``raw`` demo tables from ``directory/data``; return per-table counts."""
    if engine.dialect != _DIALECT or not engine.SUPPORTS_NATIVE_FILE_READERS:
        raise UsageError(
            f"the demo loads with DuckDB's file readers; {engine.name} is not supported",
            hint="use a duckdb:/// URL",
        )
    data_dir = (directory / DATA_DIR).resolve()
    schema, _ = engine.split_table(QUARANTINE_TABLE)
    with engine.transaction():
        engine.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema, _DIALECT)}")
        engine.execute(
            f"CREATE TABLE IF NOT EXISTS {engine.quote_table(QUARANTINE_TABLE)} ("
            " table_name VARCHAR NOT NULL, source_file VARCHAR NOT NULL, line BIGINT,"
            " reason VARCHAR NOT NULL, raw_text VARCHAR)"
        )
    return [_load_table(engine, spec, data_dir / spec.file) for spec in DEMO_TABLES]


def _load_table(engine: EngineAdapter, spec: DemoTable, path: Path) -> TableLoad:
    started = time.perf_counter()
    if not path.is_file():
        raise UsageError(f"demo data file {path} is missing", hint="run `headrace demo` again")
    loaders = {"csv": _load_csv, "ndjson": _load_ndjson, "parquet": _load_parquet}
    with engine.transaction():
        engine.execute(
            f"DELETE FROM {engine.quote_table(QUARANTINE_TABLE)} WHERE table_name = ?",
            [spec.table],
        )
        rows_read = loaders[spec.format](engine, spec, path)
        rows_loaded = _scalar(engine, f"SELECT count(*) FROM {engine.quote_table(spec.table)}")
        rows_quarantined = _scalar(
            engine,
            f"SELECT count(*) FROM {engine.quote_table(QUARANTINE_TABLE)} WHERE table_name = ?",
            [spec.table],
        )
        if rows_read != rows_loaded + rows_quarantined:
            # Raising inside the transaction rolls the table back to its previous state.
            raise DemoLoadError(
                f"{path}: read {rows_read} rows but loaded {rows_loaded} and quarantined"
                f" {rows_quarantined}; refusing to commit {spec.table}",
                file=str(path),
            )
    return TableLoad(
        table=spec.table,
        source=path,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        seconds=time.perf_counter() - started,
    )


def _load_csv(engine: EngineAdapter, spec: DemoTable, path: Path) -> int:
    """Typed read_csv; DuckDB's reject store catches cast errors and wrong field counts."""
    _drop_temp(engine, _REJECTS, _REJECT_SCANS)
    columns = "{" + ", ".join(f"{_lit(c.name)}: {_lit(c.type)}" for c in spec.columns) + "}"
    # Dialect spelled out, not sniffed: a guess could differ between files and runs.
    engine.execute(
        f"CREATE OR REPLACE TABLE {engine.quote_table(spec.table)} AS"
        " SELECT * FROM read_csv(?, header = true, auto_detect = false, delim = ',',"
        f" quote = '\"', escape = '\"', columns = {columns},"
        " store_rejects = true, rejects_table = ?, rejects_scan = ?)",
        [str(path), _REJECTS, _REJECT_SCANS],
    )
    # One bad line can fail several columns; it is one quarantined row with all reasons.
    engine.execute(
        f"INSERT INTO {engine.quote_table(QUARANTINE_TABLE)}"
        " SELECT ?, ?, line,"
        " string_agg(CAST(error_type AS VARCHAR) || ': ' || error_message, '; '"
        " ORDER BY column_idx), min(csv_line)"
        f" FROM {_temp(engine, _REJECTS)} GROUP BY line ORDER BY line",
        [spec.table, str(path)],
    )
    _drop_temp(engine, _REJECTS, _REJECT_SCANS)
    # Physical lines minus the header: an independent count, valid because the generator
    # never writes newlines inside quoted fields.
    return _line_count(engine, path) - 1


def _load_ndjson(engine: EngineAdapter, spec: DemoTable, path: Path) -> int:
    """Lines read as text, then SQL splits valid objects from bad ones with a reason each.

    read_json has no reject store: with ignore_errors it turns a malformed line into a row
    of NULLs and a mistyped value into NULL, losing both silently. The demo file is a few
    megabytes, so reading it whole with read_text is fine here.
    """
    names = [c.name for c in spec.columns]
    checks = ", ".join(_json_check(c) for c in spec.columns)
    expected = "[" + ", ".join(_lit(n) for n in names) + "]"
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(_STAGE, _DIALECT)} AS"
        " WITH file AS (SELECT string_split(content, chr(10)) AS texts FROM read_text(?)),"
        " numbered AS (SELECT rtrim(unnest(texts), chr(13)) AS raw_text,"
        " unnest(generate_series(1, len(texts))) AS line, len(texts) AS total FROM file),"
        " parsed AS (SELECT line, raw_text,"
        " CASE WHEN json_valid(raw_text) THEN CAST(raw_text AS JSON) END AS doc"
        # The empty string after the final newline is not a record.
        " FROM numbered WHERE NOT (line = total AND raw_text = ''))"
        " SELECT line, raw_text, doc, CASE"
        " WHEN trim(raw_text) = '' THEN 'empty line'"
        " WHEN doc IS NULL THEN 'malformed JSON'"
        " WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object'"
        f" ELSE nullif(concat_ws('; ', {checks},"
        f" CASE WHEN NOT list_has_all({expected}, json_keys(doc)) THEN 'unexpected keys: '"
        f" || array_to_string([k FOR k IN json_keys(doc) IF NOT list_contains({expected}, k)],"
        " ', ') END), '') END AS reason FROM parsed",
        [str(path)],
    )
    stage = _temp(engine, _STAGE)
    selected = ", ".join(
        f"CAST(json_extract_string(doc, {_json_path(c)}) AS {_type(c)})"
        f" AS {quote_ident(c.name, _DIALECT)}"
        for c in spec.columns
    )
    engine.execute(
        f"CREATE OR REPLACE TABLE {engine.quote_table(spec.table)} AS"
        f" SELECT {selected} FROM {stage} WHERE reason IS NULL ORDER BY line"
    )
    engine.execute(
        f"INSERT INTO {engine.quote_table(QUARANTINE_TABLE)}"
        f" SELECT ?, ?, line, reason, raw_text FROM {stage} WHERE reason IS NOT NULL ORDER BY line",
        [spec.table, str(path)],
    )
    rows_read = _scalar(engine, f"SELECT count(*) FROM {stage}")
    _drop_temp(engine, _STAGE)
    return rows_read


def _load_parquet(engine: EngineAdapter, spec: DemoTable, path: Path) -> int:
    """Parquet is typed already; cast to the declared types and quarantine what will not fit.

    ``line`` is the 1-based row number in the file, as parquet has no lines.
    """
    checks = ", ".join(
        f"CASE WHEN {quote_ident(c.name, _DIALECT)} IS NOT NULL"
        f" AND TRY_CAST({quote_ident(c.name, _DIALECT)} AS {_type(c)}) IS NULL"
        f" THEN {_lit(f'column {c.name!r}: value does not fit {c.type}')} END"
        for c in spec.columns
    )
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(_STAGE, _DIALECT)} AS"
        " SELECT *, file_row_number + 1 AS _line, nullif(concat_ws('; ', "
        f"{checks}), '') AS _reason FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    )
    stage = _temp(engine, _STAGE)
    selected = ", ".join(
        f"CAST({quote_ident(c.name, _DIALECT)} AS {_type(c)}) AS {quote_ident(c.name, _DIALECT)}"
        for c in spec.columns
    )
    engine.execute(
        f"CREATE OR REPLACE TABLE {engine.quote_table(spec.table)} AS"
        f" SELECT {selected} FROM {stage} WHERE _reason IS NULL ORDER BY _line"
    )
    # The row as JSON, declared columns only (not the staging bookkeeping columns).
    row = ", ".join(f"{_lit(c.name)}: {quote_ident(c.name, _DIALECT)}" for c in spec.columns)
    engine.execute(
        f"INSERT INTO {engine.quote_table(QUARANTINE_TABLE)}"
        f" SELECT ?, ?, _line, _reason, CAST(to_json({{{row}}}) AS VARCHAR) FROM {stage}"
        " WHERE _reason IS NOT NULL ORDER BY _line",
        [spec.table, str(path)],
    )
    _drop_temp(engine, _STAGE)
    return _scalar(engine, "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)])


def _json_check(column: Column) -> str:
    """SQL yielding a reason when the key is missing or its value does not fit the type."""
    path = _json_path(column)
    kind = f"json_type(doc, {path})"
    allowed = ", ".join(_lit(t) for t in _JSON_TYPES[column.type.split("(")[0]])
    name = _lit(column.name)
    return (
        f"CASE WHEN {kind} IS NULL THEN 'missing key ' || {name}"
        f" WHEN {kind} = 'NULL' THEN NULL"
        f" WHEN {kind} NOT IN ({allowed})"
        f" OR TRY_CAST(json_extract_string(doc, {path}) AS {_type(column)}) IS NULL"
        f" THEN {name} || ': expected ' || {_lit(column.type)} || ', got ' || {kind}"
        f" || ' ' || CAST(json_extract(doc, {path}) AS VARCHAR) END"
    )


def _line_count(engine: EngineAdapter, path: Path) -> int:
    return _scalar(
        engine,
        "SELECT len(string_split(content, chr(10)))"
        " - CASE WHEN ends_with(content, chr(10)) THEN 1 ELSE 0 END FROM read_text(?)",
        [str(path)],
    )


def _scalar(engine: EngineAdapter, sql: str, params: list[object] | None = None) -> int:
    value = engine.fetchall(sql, params)[0][0]
    return int(value or 0)


def _drop_temp(engine: EngineAdapter, *names: str) -> None:
    for name in names:
        engine.execute(f"DROP TABLE IF EXISTS {_temp(engine, name)}")


def _temp(engine: EngineAdapter, name: str) -> str:
    return engine.quote_table(f"temp.main.{name}")


def _json_path(column: Column) -> str:
    # Quoted member names keep the path valid whatever characters a column name has.
    escaped = column.name.replace("\\", "\\\\").replace('"', '\\"')
    return _lit(f'$."{escaped}"')


def _type(column: Column) -> str:
    from sqlglot import exp

    rendered: str = exp.DataType.build(column.type, dialect=_DIALECT).sql(_DIALECT)
    return rendered


def _lit(text: str) -> str:
    from sqlglot import exp

    rendered: str = exp.Literal.string(text).sql(_DIALECT)
    return rendered
