"""DuckDB SQL that reads one file into the target's columns and types, bad rows set aside.

The same SQL runs in two places: inside the target when it is DuckDB (the rows never leave
the engine), and in a scratch in-memory DuckDB that streams Arrow batches to PostgreSQL.

- CSV/TSV: DuckDB's typed ``read_csv`` with its reject store: wrong field counts, bad
  quoting, invalid encoding and values that do not cast are recorded per line by the reader
  itself, at full parallel speed. Required non-text columns use ``force_not_null`` so an
  empty field fails the cast and is rejected by the reader as well.
- NDJSON: each line is read as text, then parsed and cast in SQL, so a malformed line or a
  mistyped value becomes a reason instead of a silent NULL (``read_json`` offers no reject
  store and ``ignore_errors`` loses data).
- Parquet: read natively, then cast to the target types with TRY_CAST.

NDJSON and Parquet selects carry bookkeeping columns (``_hr_*``): the reason a row is bad
(NULL when it is fine), the column, a message, the raw record and its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.quality.model import CheckDef
    from headrace.schema import LogicalType, TableSchema
    from headrace.sources.files import CsvOptions, SourceFile

D = "duckdb"
# Records up to 64 MiB load (DuckDB's default limit is 2 MiB). The read buffer must hold a
# whole record; measured on TPC-H lineitem, 128 MiB buffers are also the fastest setting
# (smaller ones were slower and, oddly, used more memory).
MAX_LINE_BYTES = 64 * 1024 * 1024
READ_BUFFER_BYTES = 128 * 1024 * 1024
# A byte that never appears unescaped in valid JSON text: the NDJSON "delimiter", so each
# line arrives as one field.
_JSON_LINE_DELIMITER = "\x1f"

META_COLUMNS = ("_hr_reason", "_hr_column", "_hr_message", "_hr_raw", "_hr_pos")

# DuckDB reject error_type -> headrace reason code.
REJECT_REASONS = {
    "CAST": "invalid_value",
    "MISSING COLUMNS": "too_few_fields",
    "TOO MANY COLUMNS": "too_many_fields",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
    "INVALID UNICODE": "invalid_encoding",
    "INVALID STATE": "malformed_record",
}


class FileReadError(HeadraceError):
    """The file cannot be read at all; the load fails and the target is untouched."""


def q(name: str) -> str:
    """A quoted DuckDB identifier."""
    return quote_ident(name, D)


def lit(value: str) -> str:
    """A DuckDB string literal (for the few places DuckDB refuses a bound parameter)."""
    from sqlglot import exp

    return str(exp.Literal.string(value).sql(dialect=D))


@dataclass(frozen=True)
class TargetColumn:
    """A column of the target and how the file provides it."""

    name: str
    type: LogicalType
    required: bool
    in_file: bool


def target_columns(schema: TableSchema, file_columns: Sequence[str]) -> list[TargetColumn]:
    """The target's columns, each marked with whether the file has it."""
    present = set(file_columns)
    return [
        TargetColumn(name, kind, name in schema.required, name in present)
        for name, kind in schema.columns
    ]


# -- CSV ------------------------------------------------------------------------------------


def _csv_options(file: SourceFile, options: CsvOptions) -> tuple[str, list[Any]]:
    """The dialect arguments of read_csv, all bound."""
    return (
        "header = ?, delim = ?, quote = ?, escape = ?, encoding = ?, compression = ?,"
        " max_line_size = ?, buffer_size = ?",
        [
            options.header,
            options.delimiter,
            options.quote,
            options.escape,
            options.encoding,
            file.compression,
            MAX_LINE_BYTES,
            READ_BUFFER_BYTES,
        ],
    )


def csv_header(file: SourceFile, options: CsvOptions) -> list[str]:
    """Field names of the file: its header, or column_1..N when it has none.

    Read with Python's csv module from the first bytes: DuckDB's sniffer guesses the column
    count from a sample, and ragged rows can fool it; the first record cannot.
    """
    import csv
    import io

    text = _head_text(file, options.encoding)
    if not text.strip():
        return []
    escape = options.escape if options.escape and options.escape != options.quote else None
    reader = csv.reader(
        io.StringIO(text),
        delimiter=options.delimiter,
        quotechar=options.quote or None,
        quoting=csv.QUOTE_MINIMAL if options.quote else csv.QUOTE_NONE,
        escapechar=escape,
        doublequote=escape is None,
    )
    try:
        first = next(reader, [])
    except csv.Error as exc:
        raise FileReadError(f"cannot read the first line of {file.path}: {exc}") from None
    if not options.header:
        return [f"column_{i + 1}" for i in range(len(first))]
    names = [name.strip() for name in first]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not name:
            names[i] = name = f"column_{i + 1}"
        if name in seen:
            raise FileReadError(
                f"{file.path}: the header names column {name!r} twice",
                hint="rename one of them, or load with --no-header and a --schema",
            )
        seen.add(name)
    return names


def _head_text(file: SourceFile, encoding: str, limit: int = MAX_LINE_BYTES) -> str:
    """The start of the (decompressed) file, enough to hold its first record."""
    import pyarrow as pa

    compression = None if file.compression == "none" else file.compression
    chunks = []
    try:
        with pa.input_stream(str(file.path), compression=compression) as stream:
            size = 0
            while size < limit:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if b"\n" in chunk:
                    break
    except (OSError, pa.ArrowException) as exc:
        kind = "compressed data" if compression else "file"
        raise FileReadError(f"cannot read {file.path}: unreadable {kind} ({exc})") from None
    text = b"".join(chunks).decode(
        "latin-1" if encoding == "latin-1" else "utf-8", errors="replace"
    )
    return text.removeprefix("\ufeff")


# Candidate types for inference, narrowest first: a column gets the first one that every
# sampled value casts to. BIGINT before BOOLEAN so 0/1 columns stay numbers.
_INFER_ORDER = ("BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMPTZ", "VARCHAR")
INFER_SAMPLE_ROWS = 20_480


def infer_csv(
    engine: EngineAdapter, file: SourceFile, options: CsvOptions, names: Sequence[str]
) -> list[tuple[str, str]]:
    """(name, DuckDB type) per field from a sample of the file's first rows."""
    if not names:
        return []
    dialect, params = _csv_options(file, options)
    fields = ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(names)))
    checks = ", ".join(
        f"bool_and(c{i} IS NULL OR (TRY_CAST(c{i} AS {kind}) IS NOT NULL"
        f"{_integral(f'c{i}', kind)}))"
        for i in range(len(names))
        for kind in _INFER_ORDER
    )
    sql = (
        f"SELECT {checks} FROM (SELECT * FROM read_csv(?, {dialect}, columns = {{{fields}}},"
        f" auto_detect = false, ignore_errors = true) LIMIT {INFER_SAMPLE_ROWS})"
    )
    row = engine.fetchall(sql, [str(file.path), *params])[0]
    result = []
    for i, name in enumerate(names):
        verdicts = row[i * len(_INFER_ORDER) : (i + 1) * len(_INFER_ORDER)]
        # bool_and over an empty sample is NULL: no evidence, so text.
        kind = next((k for k, ok in zip(_INFER_ORDER, verdicts, strict=True) if ok), "VARCHAR")
        result.append((name, kind))
    return result


INTEGER_TYPES = ("int32", "int64")
# DuckDB rounds '1.5' to 2 when casting text to an integer (PostgreSQL refuses it). A
# loader must not change values, so integers are checked before they are accepted.
_WHOLE_NUMBER = r"\s*[+-]?[0-9]+\s*"
# Below 2**53 a double holds every integer exactly, so reading an integer field as DOUBLE
# (as fast as reading it as an integer) and checking x = trunc(x) proves it whole. At or
# above it the double may have lost digits: those rows are re-checked from their text.
_EXACT_DOUBLE_LIMIT = "9007199254740992"
RECHECK = "recheck"
FAST_REJECTED = "rejected"


def csv_select(
    file: SourceFile,
    options: CsvOptions,
    file_columns: Sequence[str],
    columns: Sequence[TargetColumn],
    *,
    rejects: tuple[str, str],
    forbid_nul: bool = False,
    exact: bool = True,
    row_checks: Sequence[CheckDef] = (),
) -> tuple[str, list[Any]]:
    """``SELECT <target columns>, _hr_reason, _hr_column, _hr_message, _hr_raw FROM read_csv``.

    The reader rejects what it can (field counts, quoting, encoding, casts) into the reject
    tables with line numbers; the ``_hr_*`` columns flag what it cannot: integers that are
    not whole numbers and empty required text. ``file_columns`` are the file's fields in
    file order; fields the target lacks are read as text and not selected.

    ``exact=False`` reads integer fields as DOUBLE, the fast path: rows whose integers may
    have lost digits in the double are flagged ``recheck``. ``exact=True`` reads them as
    text and checks the digits; it also carries ``_hr_fast``, the verdict the fast path
    gave the same row, so a second pass handles exactly the rows the first one deferred.
    """
    by_name = {c.name: c for c in columns}
    integer_read = "VARCHAR" if exact else "DOUBLE"
    fields = []
    for field_name in file_columns:
        column = by_name.get(field_name)
        kind = "VARCHAR"
        if column is not None:
            kind = integer_read if column.type.name in INTEGER_TYPES else column.type.sql(D)
            if column.type.name == "date":
                # Read as TIMESTAMP: a DATE cast would silently drop a time of day.
                kind = "TIMESTAMP"
        fields.append(f"{lit(field_name)}: {lit(kind)}")
    # Empty fields in required typed columns become '' and fail the cast in the reader,
    # which records the line; integers and text are checked by the flags instead.
    force = [
        c.name
        for c in columns
        if c.in_file and c.required and c.type.name not in ("text", *INTEGER_TYPES)
    ]
    force_sql = (", force_not_null = [" + ", ".join(lit(n) for n in force) + "]") if force else ""
    dialect, params = _csv_options(file, options)
    selected = []
    for c in columns:
        name = q(c.name)
        if not c.in_file:
            selected.append(f"CAST(NULL AS {c.type.sql(D)}) AS {name}")
        elif c.type.name in INTEGER_TYPES or c.type.name == "date":
            selected.append(f"TRY_CAST({name} AS {c.type.sql(D)}) AS {name}")
        else:
            selected.append(name)
    if exact:
        checks = _csv_checks(
            columns, forbid_nul, integer=_exact_integer_checks, row_checks=row_checks
        )
        fast = _csv_checks(
            columns, forbid_nul, integer=_fast_integer_checks, from_text=True, row_checks=row_checks
        )
        unreadable = [
            f"({q(c.name)} IS NOT NULL AND TRY_CAST({q(c.name)} AS DOUBLE) IS NULL)"
            for c in columns
            if c.in_file and c.type.name in INTEGER_TYPES
        ]
        fast_reason = _case_columns(fast)[0]
        if unreadable:
            # Rows the fast reader itself rejected are in the reject store already.
            fast_reason = (
                f"CASE WHEN {' OR '.join(unreadable)} THEN {lit(FAST_REJECTED)}"
                f" ELSE {fast_reason} END"
            )
        extra = f", {fast_reason} AS _hr_fast"
    else:
        checks = _csv_checks(
            columns, forbid_nul, integer=_fast_integer_checks, row_checks=row_checks
        )
        extra = ""
    reason, flagged_column, message = _case_columns(checks)
    # The record as read (integers still as text), kept only for flagged rows.
    original = ", ".join(f"{lit(c.name)}: {q(c.name)}" for c in columns if c.in_file)
    raw = f"CAST(to_json({{{original}}}) AS VARCHAR)" if original and exact else "NULL"
    sql = (
        f"SELECT {', '.join(selected)}, {reason} AS _hr_reason, {flagged_column} AS _hr_column,"
        f" {message} AS _hr_message,"
        f" CASE WHEN {reason} IS NOT NULL THEN {raw} END AS _hr_raw{extra}"
        f" FROM read_csv(?, {dialect}, columns = {{{', '.join(fields)}}},"
        f" auto_detect = false{force_sql}, strict_mode = true,"
        " null_padding = false, store_rejects = true, rejects_table = ?, rejects_scan = ?)"
    )
    return sql, [str(file.path), *params, *rejects]


Check = tuple[str, str, str | None, str]


def _csv_checks(
    columns: Sequence[TargetColumn],
    forbid_nul: bool,
    *,
    integer: Any,
    from_text: bool = False,
    row_checks: Sequence[CheckDef] = (),
) -> list[Check]:
    """Row checks the reader cannot do, in priority order; recheck flags come last so any
    real problem of the row wins over 'look again'."""
    checks: list[Check] = []
    later: list[Check] = []
    typed: dict[str, str] = {}
    for c in columns:
        if not c.in_file:
            continue
        name = q(c.name)
        typed[c.name] = name
        if c.type.name in INTEGER_TYPES:
            value = f"TRY_CAST({name} AS DOUBLE)" if from_text else name
            # The declared checks see the number: the double in the fast pass (exact below
            # 2**53), the cast text in the exact one.
            exact_text = integer is _exact_integer_checks
            typed[c.name] = f"TRY_CAST({name} AS {c.type.sql(D)})" if exact_text else value
            if c.required:
                checks.append(
                    (f"{name} IS NULL", "missing_required", c.name, f"{c.name} is required")
                )
            now, deferred = integer(name, value, c)
            checks.extend(now)
            later.extend(deferred)
            continue
        checks.extend(_nul_checks(name, c, forbid_nul))
        if c.type.name == "date":
            typed[c.name] = f"CAST({name} AS DATE)"
            checks.append(
                (
                    f"{name} IS NOT NULL AND NOT ({_whole_day(name)})",
                    "invalid_value",
                    c.name,
                    f"{c.name}: has a time of day, expected a date",
                )
            )
        if c.required and c.type.name == "text":
            checks.append(
                (
                    f"({name} IS NULL OR {name} = '')",
                    "missing_required",
                    c.name,
                    f"{c.name} is required",
                )
            )
    return checks + declared_checks(row_checks, typed, columns) + later


def declared_checks(
    row_checks: Sequence[CheckDef], typed: dict[str, str], columns: Sequence[TargetColumn]
) -> list[Check]:
    """Load-time checks (not_null, accepted_values, range, regex, length): a failing row is
    quarantined with the check's name as its reason. A target column the file lacks is
    NULL in every row, and judged as such."""
    from headrace.quality.predicates import invalid_condition

    missing = {c.name: f"CAST(NULL AS {c.type.sql(D)})" for c in columns}
    found: list[Check] = []
    for check in row_checks:
        value = typed.get(str(check.column)) or missing.get(str(check.column))
        if value is None:
            continue  # probe_row_checks reported it before the load started
        condition, _ = invalid_condition(check, value, D, "literal")
        found.append((f"({condition})", check.name, check.column, f"{check.name} failed"))
    return found


def probe_row_checks(
    reader: EngineAdapter, row_checks: Sequence[CheckDef], columns: Sequence[TargetColumn]
) -> None:
    """Before loading: every load-time check names a column of the table, and DuckDB
    accepts its SQL for that column's type (a range on text, a regex RE2 rejects, ...)."""
    from headrace.errors import ConfigError, HeadraceError
    from headrace.quality.predicates import invalid_condition

    types = {c.name: c.type for c in columns}
    for check in row_checks:
        kind = types.get(str(check.column))
        if kind is None:
            raise ConfigError(
                f"load-time check {check.name}: {check.table} has no column {check.column!r}",
                file=check.file,
                line=check.line,
                hint=f"columns: {', '.join(types)}",
            )
        sample = "'x'" if kind.name == "text" else "NULL"
        condition, _ = invalid_condition(check, '"_hr_v"', D, "literal")
        try:
            reader.fetchall(
                f"SELECT {condition} FROM (SELECT CAST({sample} AS {kind.sql(D)}) AS _hr_v)"
            )
        except HeadraceError as exc:
            raise ConfigError(
                f"load-time check {check.name}: {exc.message}",
                file=check.file,
                line=check.line,
                hint=f"{check.column} is {kind}; fix the check",
            ) from None


def _exact_integer_checks(
    name: str, _value: str, c: TargetColumn
) -> tuple[list[Check], list[Check]]:
    kind = c.type.sql(D)
    return [
        (
            f"{name} IS NOT NULL AND NOT (regexp_full_match({name}, {lit(_WHOLE_NUMBER)})"
            f" AND TRY_CAST({name} AS {kind}) IS NOT NULL)",
            "invalid_value",
            c.name,
            f"{c.name}: not a whole number that fits {c.type}",
        )
    ], []


def _fast_integer_checks(
    _name: str, value: str, c: TargetColumn
) -> tuple[list[Check], list[Check]]:
    kind = c.type.sql(D)
    big = f"abs({value}) >= {_EXACT_DOUBLE_LIMIT}"
    return (
        [
            (
                f"{value} IS NOT NULL AND NOT ({big}) AND ({value} <> trunc({value})"
                f" OR TRY_CAST({value} AS {kind}) IS NULL)",
                "invalid_value",
                c.name,
                f"{c.name}: not a whole number that fits {c.type}",
            )
        ],
        [(f"{value} IS NOT NULL AND {big}", RECHECK, c.name, f"{c.name}: re-check digits")],
    )


def rejects_select(rejects_table: str, required: frozenset[str]) -> str:
    """Quarantine rows from DuckDB's reject table: one per bad line, reasons joined.

    Columns: line, column_name, reason, message, raw.
    """
    cases = " ".join(
        f"WHEN error_type = {lit(kind)} THEN {lit(code)}" for kind, code in REJECT_REASONS.items()
    )
    req = "[" + ", ".join(lit(n) for n in sorted(required)) + "]"
    reason = (
        f"CASE WHEN error_type = 'CAST' AND list_contains({req}, column_name)"
        # An empty field in a force_not_null column fails without "Could not convert".
        " AND position('Could not convert' IN error_message) = 0 THEN 'missing_required'"
        f" {cases} ELSE lower(CAST(error_type AS VARCHAR)) END"
    )
    # DuckDB may record several errors for one line (a short line also fails the cast of
    # the shifted fields): report the structural one, deterministically.
    priority = "CASE WHEN error_type = 'CAST' THEN 1000 ELSE 0 END + coalesce(column_idx, 0)"
    return (
        f"SELECT line, arg_min(column_name, {priority}) AS column_name,"
        f" arg_min({reason}, {priority}) AS reason,"
        f" arg_min(error_message, {priority}) AS message,"
        f" min(csv_line) AS raw FROM {q(rejects_table)} GROUP BY line ORDER BY line"
    )


# -- NDJSON and Parquet (validated in SQL) --------------------------------------------------


def ndjson_relation(file: SourceFile) -> tuple[str, list[Any]]:
    """Each line of an NDJSON file as one text field ``_hr_text``."""
    return (
        "read_csv(?, columns = {'_hr_text': 'VARCHAR'}, header = false, delim = ?,"
        " quote = '', escape = '', auto_detect = false, compression = ?,"
        " max_line_size = ?, buffer_size = ?, strict_mode = false)",
        [
            str(file.path),
            _JSON_LINE_DELIMITER,
            file.compression,
            MAX_LINE_BYTES,
            READ_BUFFER_BYTES,
        ],
    )


def infer_ndjson(engine: EngineAdapter, file: SourceFile) -> list[tuple[str, str]]:
    """(key, DuckDB type) from read_json's sampling (bad lines ignored for inference only)."""
    sql = (
        "SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true,"
        " compression = ?) LIMIT 0"
    )
    return _describe(engine, sql, [str(file.path), file.compression])


def ndjson_select(
    file: SourceFile,
    columns: Sequence[TargetColumn],
    known_keys: Sequence[str],
    *,
    forbid_nul: bool = False,
    row_checks: Sequence[CheckDef] = (),
) -> tuple[str, list[Any]]:
    """Typed columns plus ``_hr_*`` bookkeeping for every non-blank line."""
    relation, params = ndjson_relation(file)
    doc = "_hr_doc"
    values = {}
    problems: list[tuple[str, str, str | None, str]] = []
    for c in columns:
        path = lit("$." + _json_key(c.name))
        raw = f"json_extract_string({doc}, {path})"
        if c.type.name == "json":
            raw = f"CAST(json_extract({doc}, {path}) AS VARCHAR)"
        values[c.name] = raw
        kind = f"json_type({doc}, {path})"
        missing = f"({kind} IS NULL OR {kind} = 'NULL')"
        if c.required:
            problems.append((f"{missing}", "missing_required", c.name, f"{c.name} is required"))
        problems.append(
            (
                f"NOT {missing} AND (TRY_CAST({raw} AS {c.type.sql(D)}) IS NULL"
                f"{_not_whole(raw, c)}{_not_whole_day(raw, c)})",
                "invalid_value",
                c.name,
                f"{c.name}: value does not fit {c.type}",
            )
        )
        problems.extend(_nul_checks(raw, c, forbid_nul))
    typed_values = {c.name: f"TRY_CAST({values[c.name]} AS {c.type.sql(D)})" for c in columns}
    checks = [
        ("NOT json_valid(_hr_text)", "malformed_json", None, "not valid JSON"),
        (f"json_type({doc}) <> 'OBJECT'", "not_an_object", None, "line is not a JSON object"),
        *problems,
        *declared_checks(row_checks, typed_values, columns),
    ]
    reason, column, message = _case_columns(checks)
    typed = ", ".join(
        f"TRY_CAST({values[c.name]} AS {c.type.sql(D)}) AS {q(c.name)}" for c in columns
    )
    del known_keys  # keys outside the target were settled by the contract before the scan
    sql = (
        f"SELECT {typed}, {reason} AS _hr_reason, {column} AS _hr_column,"
        f" {message} AS _hr_message, _hr_text AS _hr_raw, _hr_pos"
        f" FROM (SELECT _hr_text, row_number() OVER () AS _hr_pos,"
        f" CASE WHEN json_valid(_hr_text) THEN CAST(_hr_text AS JSON) END AS {doc}"
        f" FROM {relation} WHERE trim(_hr_text) <> '')"
    )
    return sql, params


def parquet_relation(file: SourceFile) -> tuple[str, list[Any]]:
    """A Parquet file with its 1-based row numbers."""
    return "read_parquet(?, file_row_number = true)", [str(file.path)]


def infer_parquet(engine: EngineAdapter, file: SourceFile) -> list[tuple[str, str]]:
    """(column, DuckDB type) from the Parquet schema."""
    return _describe(engine, "SELECT * FROM read_parquet(?) LIMIT 0", [str(file.path)])


def typed_select(
    relation: str,
    params: list[Any],
    columns: Sequence[TargetColumn],
    *,
    position: str,
    forbid_nul: bool = False,
    row_checks: Sequence[CheckDef] = (),
) -> tuple[str, list[Any]]:
    """Cast an already-typed relation (Parquet, Arrow) to the target, flagging misfits."""
    checks: list[tuple[str, str, str | None, str]] = []
    for c in columns:
        if not c.in_file:
            if c.required:
                checks.append(("true", "missing_required", c.name, f"{c.name} is required"))
            continue
        if c.required:
            checks.append(
                (f"{q(c.name)} IS NULL", "missing_required", c.name, f"{c.name} is required")
            )
        checks.append(
            (
                f"{q(c.name)} IS NOT NULL AND (TRY_CAST({q(c.name)} AS {c.type.sql(D)}) IS NULL"
                f"{_not_whole(f'CAST({q(c.name)} AS VARCHAR)', c)}"
                f"{_not_whole_day(f'CAST({q(c.name)} AS VARCHAR)', c)})",
                "invalid_value",
                c.name,
                f"{c.name}: value does not fit {c.type}",
            )
        )
        checks.extend(_nul_checks(f"CAST({q(c.name)} AS VARCHAR)", c, forbid_nul))
    checks.extend(
        declared_checks(
            row_checks,
            {c.name: f"TRY_CAST({q(c.name)} AS {c.type.sql(D)})" for c in columns if c.in_file},
            columns,
        )
    )
    reason, column, message = _case_columns(checks)
    typed = ", ".join(
        f"TRY_CAST({q(c.name)} AS {c.type.sql(D)}) AS {q(c.name)}"
        if c.in_file
        else f"CAST(NULL AS {c.type.sql(D)}) AS {q(c.name)}"
        for c in columns
    )
    raw_fields = ", ".join(f"{lit(c.name)}: {q(c.name)}" for c in columns if c.in_file)
    raw = f"CAST(to_json({{{raw_fields}}}) AS VARCHAR)" if raw_fields else "NULL"
    sql = (
        f"SELECT {typed}, {reason} AS _hr_reason, {column} AS _hr_column,"
        f" {message} AS _hr_message, CASE WHEN {reason} IS NOT NULL THEN {raw} END AS _hr_raw,"
        f" {position} AS _hr_pos FROM {relation}"
    )
    return sql, params


# A whole number as text, also as a float prints it (3.0): anything else would be rounded.
_WHOLE_AS_TEXT = r"\s*[+-]?[0-9]+(\.0*)?\s*"


def _nul_checks(
    expr: str, column: TargetColumn, forbid: bool
) -> list[tuple[str, str, str | None, str]]:
    """PostgreSQL text cannot hold NUL; DuckDB can, so only that target checks for it."""
    if not forbid or column.type.name not in ("text", "json"):
        return []
    return [
        (
            f"contains({expr}, chr(0))",
            "nul_byte",
            column.name,
            f"{column.name}: contains a NUL byte, which PostgreSQL text cannot store",
        )
    ]


def _whole_day(timestamp: str) -> str:
    """True when a timestamp has no time of day (so a DATE holds it exactly)."""
    return f"{timestamp} = CAST(CAST({timestamp} AS DATE) AS TIMESTAMP)"


def _not_whole_day(text: str, column: TargetColumn) -> str:
    """`` OR <has a time of day>`` for date targets, else nothing."""
    if column.type.name != "date":
        return ""
    stamp = f"TRY_CAST({text} AS TIMESTAMP)"
    return f" OR ({stamp} IS NOT NULL AND NOT ({_whole_day(stamp)}))"


def _not_whole(text: str, column: TargetColumn) -> str:
    """`` OR <text is not a whole number>`` for integer targets, else nothing."""
    if column.type.name not in INTEGER_TYPES:
        return ""
    return f" OR NOT regexp_full_match({text}, {lit(_WHOLE_AS_TEXT)})"


def _integral(column: str, kind: str) -> str:
    """Extra condition for candidates DuckDB would accept by changing the value: 1.5 into
    a BIGINT (rounded), '2024-01-01 10:00' into a DATE (time dropped)."""
    if kind == "DATE":
        return f" AND {_whole_day(f'TRY_CAST({column} AS TIMESTAMP)')}"
    if kind != "BIGINT":
        return ""
    return f" AND regexp_full_match({column}, {lit(_WHOLE_NUMBER)})"


def _case_columns(
    checks: Sequence[tuple[str, str, str | None, str]],
) -> tuple[str, str, str]:
    """Three CASE expressions (reason, column, message) picking the first failing check."""
    if not checks:
        return "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"

    def case(pick: int) -> str:
        arms = []
        for check in checks:
            value = check[pick]
            arms.append(f"WHEN {check[0]} THEN {'NULL' if value is None else lit(str(value))}")
        return f"CASE {' '.join(arms)} END"

    return case(1), case(2), case(3)


def _json_key(name: str) -> str:
    # JSONPath quoting keeps keys with dots or spaces addressable.
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _describe(engine: EngineAdapter, sql: str, params: list[Any]) -> list[tuple[str, str]]:
    rows = engine.fetchall(f"DESCRIBE {sql}", params)
    return [(str(r[0]), str(r[1])) for r in rows]
