"""A deterministic corpus of hostile input files for the loader's end-to-end tests.

``write_hostile_files(directory)`` writes one small file per case and returns what a
correct loader must report for it. The expectations follow these rules:

* Counts are data records, never physical lines: a header is not a row, a quoted field
  may span lines, and a final line without a line break is still a row.
* A row is **quarantined** when it has the wrong number of fields; cannot be decoded in
  the file's encoding; has a value that does not cast to its declared type (with a
  declared ``schema``) or to the inferred type (without one); has an out-of-range number;
  or has NULL/empty in a ``not_null`` or ``primary_key`` column. Everything else loads.
* The CSV null marker is the empty string (``CsvOptions.null``), so an empty field and a
  quoted empty field (``""``) are NULL, while the literal text ``NULL`` is just text.
* Casts follow DuckDB's casting rules (verified against the installed DuckDB, see each
  case). Only spellings that DuckDB and PostgreSQL agree on are counted.
* Counts are for ``append``: duplicate primary keys are not an error there.
* Columns of a file with a header are matched to the declared schema **by name**, not by
  position; an extra file column is kept or dropped by the schema contract, never a row
  error. Without a header (``header=false``) columns are taken in schema order.
* A whole-file failure (``expect_error``) loads and quarantines nothing; the fragment is
  matched case-insensitively against the one-line error message.
* Options are CLI-style strings (``{"encoding": "latin-1"}``); ``schema`` uses
  ``{"columns": {name: type}, "primary_key": [...], "not_null": [...]}`` with the types
  int32, int64, float64, decimal(p,s), text, bool, date, timestamp, timestamptz, json.

DuckDB facts a loader needs, checked while writing this corpus (DuckDB 2.0.1):

* ``read_csv`` picks compression from the file *name*: a gzip file named ``.csv`` fails
  unless ``compression='gzip'`` is passed (use ``detect_compression``).
* The default ``max_line_size`` (2 MB) rejects the whole 5 MiB-field file; raise it.
* ``read_csv`` on a 0-byte file with ``columns=`` fails in the sniffer; skip empty files.
* ``read_csv(columns=...)`` maps columns by position, so reordered headers must be mapped
  by name first (positionally, every row of ``reordered_columns`` fails to cast).
* ``read_json(ignore_errors=true)`` turns a malformed line into an all-NULL row and a
  wrong-typed value into NULL instead of rejecting them: do not rely on it for quarantine.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# 5 MiB: more than twice DuckDB's default max_line_size, so a default reader fails.
HUGE_FIELD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class HostileCase:
    """One hostile file and what the loader must report for it."""

    path: Path
    format: str
    options: dict[str, str] = field(default_factory=dict)
    schema: dict[str, object] | None = None
    expect_loaded: int = 0
    expect_quarantined: int = 0
    expect_error: str | None = None
    reasons: tuple[str, ...] = ()


def _schema(
    columns: dict[str, str], *, primary_key: tuple[str, ...] = (), not_null: tuple[str, ...] = ()
) -> dict[str, object]:
    return {"columns": columns, "primary_key": list(primary_key), "not_null": list(not_null)}


def _text(lines: list[str], *, newline: str = "\n") -> bytes:
    return "".join(line + newline for line in lines).encode("utf-8")


# Verified with TRY_CAST(x AS BOOLEAN) and read_csv(columns={'flag': 'BOOLEAN'}): DuckDB
# accepts these case-insensitively; so does PostgreSQL. 'on'/'off' are left out on purpose:
# PostgreSQL accepts them, DuckDB rejects them, so their count would depend on the engine.
VALID_BOOLEANS = ("true", "false", "t", "f", "yes", "no", "1", "0", "TRUE", "Y", "N")

# All valid for timestamptz (offsets are applied, a bare value is read in the session zone,
# which the loader pins to UTC). Into a plain timestamp DuckDB (like PostgreSQL) silently
# drops the zone and keeps the wall-clock time: '03:04:05+02' becomes 03:04:05.
ZONED_TIMESTAMPS = (
    "2024-01-02 03:04:05",
    "2024-01-02T03:04:05Z",
    "2024-01-02 03:04:05+02",
    "2024-01-02 03:04:05+05:30",
    "2024-01-02T03:04:05.123456-07:00",
    "2024-01-02 03:04:05 UTC",
    "2024-01-02 03:04:05 Europe/Berlin",
)


def _zstd(data: bytes) -> bytes | None:
    """A zstd frame of ``data`` (magic 28 b5 2f fd), or None when no zstd codec exists."""
    try:
        import zstandard  # type: ignore[import-not-found]

        return bytes(zstandard.ZstdCompressor().compress(data))
    except ImportError:
        pass
    # pyarrow's codec writes a complete frame with the content size; DuckDB reads it.
    if not pa.Codec.is_available("zstd"):
        return None
    return bytes(pa.compress(data, codec="zstd", asbytes=True))


def write_hostile_files(directory: Path) -> dict[str, HostileCase]:
    """Write every hostile case into ``directory`` and return them by name."""
    directory.mkdir(parents=True, exist_ok=True)
    cases: dict[str, HostileCase] = {}

    def add(
        name: str,
        filename: str,
        content: bytes | None,
        *,
        fmt: str = "csv",
        options: dict[str, str] | None = None,
        schema: dict[str, object] | None = None,
        expect_loaded: int = 0,
        expect_quarantined: int = 0,
        expect_error: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        path = directory / filename
        if content is not None:  # None: the file is written elsewhere or must not exist
            path.write_bytes(content)
        cases[name] = HostileCase(
            path=path,
            format=fmt,
            options=options or {},
            schema=schema,
            expect_loaded=expect_loaded,
            expect_quarantined=expect_quarantined,
            expect_error=expect_error,
            reasons=reasons,
        )

    # Verified: read_csv(store_rejects=true) sniffs 3 columns and rejects line 4 as
    # MISSING COLUMNS and line 5 as TOO MANY COLUMNS.
    add(
        "ragged_rows",
        "ragged_rows.csv",
        _text(["a,b,c", "1,x,10", "2,y,20", "3,z", "4,w,40,extra", "5,v,50"]),
        expect_loaded=3,
        expect_quarantined=2,
        reasons=("row 3 has 2 fields, expected 3", "row 4 has 4 fields, expected 3"),
    )
    add(
        "embedded_newline",
        "embedded_newline.csv",
        _text(
            [
                "id,comment",
                '1,"single line"',
                '2,"first line',
                'second line"',
                '3,"has ""quotes"", and a comma"',
            ]
        ),
        expect_loaded=3,
    )
    # The last record has no line break at all, which is common in hand-edited files.
    add(
        "crlf",
        "crlf.csv",
        b"id,name\r\n1,alpha\r\n2,beta\r\n3,gamma",
        expect_loaded=3,
    )
    # Verified: DuckDB strips the BOM, so the first column is named 'id', not '\ufeffid'.
    add(
        "utf8_bom",
        "utf8_bom.csv",
        b"\xef\xbb\xbf" + _text(["id,city", "1,Berlin", "2,Paris"]),
        expect_loaded=2,
    )
    # A European export: latin-1 and semicolons. Verified with read_csv(encoding='latin-1').
    add(
        "latin1",
        "latin1.csv",
        "".join(line + "\n" for line in ["id;city", "1;Zürich", "2;São Paulo", "3;Malmö"]).encode(
            "latin-1"
        ),
        options={"encoding": "latin-1", "delimiter": ";"},
        expect_loaded=3,
    )
    # Verified: read_csv rejects the row as INVALID ENCODING and keeps the others.
    add(
        "invalid_utf8",
        "invalid_utf8.csv",
        b"id,city\n1,Berlin\n2,Z\xfcrich\n3,Paris\n4,Oslo\n",
        expect_loaded=3,
        expect_quarantined=1,
        reasons=("row 2 has the latin-1 byte 0xfc in a utf-8 file",),
    )
    # Verified: DuckDB loads 'a\x00b' into VARCHAR unchanged (length 3). PostgreSQL text
    # cannot hold NUL, so a PostgreSQL loader has to handle this row explicitly.
    add(
        "nul_byte",
        "nul_byte.csv",
        b"id,note\n1,plain\n2,a\x00b\n3,end\n",
        schema=_schema({"id": "int32", "note": "text"}),
        expect_loaded=3,
    )
    add(
        "huge_field",
        "huge_field.csv",
        b"id,blob\n1,small\n2," + b"x" * HUGE_FIELD_BYTES + b"\n3,small\n",
        schema=_schema({"id": "int32", "blob": "text"}),
        expect_loaded=3,
    )
    # Verified: both bounds of int32 load; one past either bound is a CAST reject.
    add(
        "int32_overflow",
        "int32_overflow.csv",
        _text(
            [
                "id,qty",
                "1,1",
                "2,2147483647",
                "3,3000000000",
                "4,-2147483648",
                "5,-2147483649",
            ]
        ),
        schema=_schema({"id": "int64", "qty": "int32"}),
        expect_loaded=3,
        expect_quarantined=2,
        reasons=("qty 3000000000 exceeds int32", "qty -2147483649 is below int32"),
    )
    # Verified: 2024-02-29 is valid (leap year); '24:00:00' and ':60' seconds are left out
    # because DuckDB and PostgreSQL disagree on them.
    add(
        "impossible_dates",
        "impossible_dates.csv",
        _text(
            [
                "id,day,at",
                "1,2024-02-29,2024-01-02 03:04:05",
                "2,2024-02-30,2024-01-02 03:04:05",
                "3,2023-02-29,2024-01-02 03:04:05",
                "4,2024-01-02,2024-01-02 25:61:00",
                "5,2024-12-31,2024-12-31 23:59:59",
            ]
        ),
        schema=_schema({"id": "int32", "day": "date", "at": "timestamp"}),
        expect_loaded=2,
        expect_quarantined=3,
        reasons=(
            "day 2024-02-30 does not exist",
            "day 2023-02-29 does not exist (not a leap year)",
            "time 25:61:00 does not exist",
        ),
    )
    boolean_rows = [f"{i},{value}" for i, value in enumerate(VALID_BOOLEANS, start=1)]
    add(
        "booleans",
        "booleans.csv",
        _text(
            [
                "id,flag",
                *boolean_rows,
                f"{len(boolean_rows) + 1},",  # empty: NULL in a nullable column loads
                f"{len(boolean_rows) + 2},maybe",
            ]
        ),
        schema=_schema({"id": "int32", "flag": "bool"}),
        expect_loaded=len(VALID_BOOLEANS) + 1,
        expect_quarantined=1,
        reasons=("flag 'maybe' is not a boolean",),
    )
    zoned_rows = [f"{i},{value}" for i, value in enumerate(ZONED_TIMESTAMPS, start=1)]
    add(
        "timestamptz_zones",
        "timestamptz_zones.csv",
        _text(["id,at", *zoned_rows]),
        schema=_schema({"id": "int32", "at": "timestamptz"}),
        expect_loaded=len(ZONED_TIMESTAMPS),
    )
    add(
        "timestamp_zones",
        "timestamp_zones.csv",
        _text(["id,at", *zoned_rows]),
        schema=_schema({"id": "int32", "at": "timestamp"}),
        expect_loaded=len(ZONED_TIMESTAMPS),
    )
    add(
        "duplicate_keys",
        "duplicate_keys.csv",
        _text(["id,name", "1,Ada", "2,Grace", "2,Grace again", "3,Linus"]),
        schema=_schema({"id": "int32", "name": "text"}, primary_key=("id",)),
        expect_loaded=4,
    )
    # The first record looks like data, not names: a sniffer must not eat it as a header.
    add(
        "no_header",
        "no_header.csv",
        _text(["1,Ada,10.50", "2,Grace,0.99", "3,Linus,-7.00"]),
        options={"header": "false"},
        schema=_schema({"id": "int32", "name": "text", "amount": "decimal(10,2)"}),
        expect_loaded=3,
    )
    # The extra column sits in the middle so that positional mapping would put comments
    # into 'name'.
    add(
        "extra_column",
        "extra_column.csv",
        _text(["id,comment,name", "1,first,Ada", "2,second,Grace", "3,third,Linus"]),
        schema=_schema({"id": "int32", "name": "text"}),
        expect_loaded=3,
    )
    add(
        "reordered_columns",
        "reordered_columns.csv",
        _text(["day,name,id", "2024-01-01,Ada,1", "2024-01-02,Grace,2", "2024-01-03,Linus,3"]),
        schema=_schema({"id": "int32", "name": "text", "day": "date"}),
        expect_loaded=3,
    )
    # Verified: DuckDB reads both an empty field and "" as NULL (PostgreSQL COPY would read
    # "" as an empty string); either way the row breaks not_null. 'NULL' is plain text.
    add(
        "null_in_not_null",
        "null_in_not_null.csv",
        _text(["id,name", "1,Ada", "2,", ",Grace", "4,NULL", '5,""']),
        schema=_schema({"id": "int32", "name": "text"}, primary_key=("id",), not_null=("name",)),
        expect_loaded=2,
        expect_quarantined=3,
        reasons=(
            "name is empty (NULL) but not_null",
            "id is empty (NULL) but the primary key",
            'name is "" (empty) but not_null',
        ),
    )
    add("empty_file", "empty_file.csv", b"")
    add("header_only", "header_only.csv", _text(["id,name"]))
    # Verified: DuckDB fails on this file unless compression='gzip' is passed explicitly.
    add(
        "gzip_named_csv",
        "gzip_named.csv",
        gzip.compress(_text(["id,name", "1,Ada", "2,Grace", "3,Linus"]), mtime=0),
        expect_loaded=3,
    )
    zstd_bytes = _zstd(_text(["id,name", "1,Ada", "2,Grace", "3,Linus"]))
    if zstd_bytes is not None:
        add("zstd_named_csv", "zstd_named.csv", zstd_bytes, expect_loaded=3)
    # 'score': 2 is an integer where a float is declared: that casts and loads.
    add(
        "ndjson_bad_lines",
        "ndjson_bad_lines.ndjson",
        _text(
            [
                '{"id": 1, "name": "Ada", "score": 1.5}',
                '{"id": 2, "name": "Grace", "score": 2}',
                '{"id": 3, "name": "broken", "score": ',
                '{"id": "four", "name": "Linus", "score": 4.0}',
                '{"id": 5, "name": "Barbara", "score": null}',
            ]
        ),
        fmt="ndjson",
        schema=_schema({"id": "int64", "name": "text", "score": "float64"}),
        expect_loaded=3,
        expect_quarantined=2,
        reasons=("line 3 is not valid JSON", 'line 4 has id "four", not an int64'),
    )
    parquet_path = directory / "valid.parquet"
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "name": pa.array(["Ada", None, "Linus"], pa.string()),
            "amount": pa.array([1.5, 2.0, None], pa.float64()),
        }
    )
    pq.write_table(table, parquet_path)
    add("parquet_valid", parquet_path.name, None, fmt="parquet", expect_loaded=3)
    # Keeps the leading PAR1 but loses the footer. Verified: DuckDB says "No magic bytes
    # found at end of file"; the loader's message must say it is a broken Parquet file.
    whole = parquet_path.read_bytes()
    add(
        "parquet_truncated",
        "truncated.parquet",
        whole[: len(whole) // 2],
        fmt="parquet",
        expect_error="Parquet",
        reasons=("the Parquet footer is missing",),
    )
    # Starts with the gzip magic, so detect_compression says gzip and decoding must fail.
    # Verified: DuckDB raises "Unsupported GZIP compression method".
    add(
        "garbage_gzip",
        "garbage.csv.gz",
        b"\x1f\x8b" + random.Random(20240229).randbytes(2048),
        expect_error="cannot read",
        reasons=("gzip magic followed by garbage",),
    )
    add(
        "missing_file",
        "does_not_exist.csv",
        None,
        expect_error="no such file",
        reasons=("the file does not exist",),
    )
    return cases


__all__ = [
    "HUGE_FIELD_BYTES",
    "VALID_BOOLEANS",
    "ZONED_TIMESTAMPS",
    "HostileCase",
    "write_hostile_files",
]
