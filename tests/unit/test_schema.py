"""headrace.schema: logical types, table schemas, schema files and contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from headrace.errors import ConfigError, HeadraceError
from headrace.schema import (
    Contract,
    ContractViolation,
    LogicalType,
    SchemaChange,
    TableSchema,
    can_widen,
    load_schema_file,
    reconcile,
)

INT32 = LogicalType("int32")
INT64 = LogicalType("int64")
FLOAT64 = LogicalType("float64")
TEXT = LogicalType("text")
BOOL = LogicalType("bool")
DATE = LogicalType("date")
TS = LogicalType("timestamp")
TSTZ = LogicalType("timestamptz")
JSON = LogicalType("json")


def dec(p: int, s: int) -> LogicalType:
    return LogicalType("decimal", p, s)


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("int32", INT32),
        ("int", INT32),
        ("INTEGER", INT32),
        (" int4 ", INT32),
        ("int64", INT64),
        ("bigint", INT64),
        ("int8", INT64),
        ("Long", INT64),
        ("float64", FLOAT64),
        ("double", FLOAT64),
        ("float", FLOAT64),
        ("float8", FLOAT64),
        ("real", FLOAT64),
        ("decimal(12,2)", dec(12, 2)),
        ("Numeric( 12 , 2 )", dec(12, 2)),
        ("decimal (38, 0)", dec(38, 0)),
        ("decimal(10)", dec(10, 0)),
        ("decimal", dec(38, 9)),
        ("NUMERIC", dec(38, 9)),
        ("text", TEXT),
        ("string", TEXT),
        ("VARCHAR", TEXT),
        ("str", TEXT),
        ("bool", BOOL),
        ("boolean", BOOL),
        ("date", DATE),
        ("timestamp", TS),
        ("datetime", TS),
        ("timestamptz", TSTZ),
        ("json", JSON),
        ("JSONB", JSON),
    ],
)
def test_parse_canonical_and_aliases(text: str, expected: LogicalType) -> None:
    assert LogicalType.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["money", "", "   ", "decimal(0,0)", "decimal(39,2)", "decimal(5,6)", "int(", "decimal(a,b)"],
)
def test_parse_rejects_with_allowed_list(text: str) -> None:
    with pytest.raises(ValueError) as info:
        LogicalType.parse(text)
    message = str(info.value)
    assert "\n" not in message
    assert "allowed: int32, int64, float64, decimal(p,s), text, bool" in message


def test_parse_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="must be text"):
        LogicalType.parse(5)  # type: ignore[arg-type]


def test_constructor_validates_and_normalises() -> None:
    assert LogicalType("decimal") == dec(38, 9)
    assert LogicalType("decimal", 10) == dec(10, 0)
    with pytest.raises(ValueError, match="unknown type 'integer'"):
        LogicalType("integer")
    with pytest.raises(ValueError, match="takes no precision"):
        LogicalType("int64", 10, 0)
    with pytest.raises(ValueError, match="precision must be 1..38"):
        LogicalType("decimal", 40, 0)


@pytest.mark.parametrize(
    ("logical", "text"),
    [(INT64, "int64"), (dec(12, 2), "decimal(12,2)"), (TSTZ, "timestamptz"), (JSON, "json")],
)
def test_str_is_canonical_and_round_trips(logical: LogicalType, text: str) -> None:
    assert str(logical) == text
    assert LogicalType.parse(str(logical)) == logical


# --- SQL and Arrow ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logical", "duckdb", "postgres"),
    [
        (INT32, "INTEGER", "integer"),
        (INT64, "BIGINT", "bigint"),
        (FLOAT64, "DOUBLE", "double precision"),
        (dec(12, 2), "DECIMAL(12,2)", "numeric(12,2)"),
        (TEXT, "VARCHAR", "text"),
        (BOOL, "BOOLEAN", "boolean"),
        (DATE, "DATE", "date"),
        (TS, "TIMESTAMP", "timestamp"),
        (TSTZ, "TIMESTAMPTZ", "timestamptz"),
        (JSON, "JSON", "jsonb"),
    ],
)
def test_sql_per_dialect(logical: LogicalType, duckdb: str, postgres: str) -> None:
    assert logical.sql("duckdb") == duckdb
    assert logical.sql("postgres") == postgres


def test_sql_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown dialect 'oracle'"):
        INT32.sql("oracle")


@pytest.mark.parametrize(
    ("logical", "arrow_type"),
    [
        (INT32, pa.int32()),
        (INT64, pa.int64()),
        (FLOAT64, pa.float64()),
        (dec(12, 2), pa.decimal128(12, 2)),
        (TEXT, pa.string()),
        (BOOL, pa.bool_()),
        (DATE, pa.date32()),
        (TS, pa.timestamp("us")),
        (TSTZ, pa.timestamp("us", tz="UTC")),
        (JSON, pa.string()),
    ],
)
def test_arrow(logical: LogicalType, arrow_type: pa.DataType) -> None:
    assert logical.arrow() == arrow_type


@pytest.mark.parametrize(
    ("arrow_type", "expected"),
    [
        (pa.int8(), INT32),
        (pa.int16(), INT32),
        (pa.int32(), INT32),
        (pa.uint8(), INT32),
        (pa.uint16(), INT32),
        (pa.int64(), INT64),
        (pa.uint32(), INT64),
        (pa.uint64(), dec(20, 0)),
        (pa.float16(), FLOAT64),
        (pa.float32(), FLOAT64),
        (pa.float64(), FLOAT64),
        (pa.decimal128(15, 3), dec(15, 3)),
        (pa.decimal256(38, 10), dec(38, 10)),
        (pa.string(), TEXT),
        (pa.large_string(), TEXT),
        (pa.string_view(), TEXT),
        (pa.bool_(), BOOL),
        (pa.date32(), DATE),
        (pa.date64(), DATE),
        (pa.timestamp("ns"), TS),
        (pa.timestamp("s", tz="Europe/Paris"), TSTZ),
        (pa.time64("us"), TEXT),
        (pa.duration("ms"), TEXT),
        (pa.binary(), TEXT),
        (pa.list_(pa.int32()), TEXT),
        (pa.struct([("a", pa.int32())]), TEXT),
        (pa.null(), TEXT),
        (pa.dictionary(pa.int8(), pa.string()), TEXT),
        (pa.dictionary(pa.int8(), pa.int64()), INT64),
    ],
)
def test_from_arrow(arrow_type: pa.DataType, expected: LogicalType) -> None:
    assert LogicalType.from_arrow(arrow_type) == expected


def test_from_arrow_rejects_wide_decimal() -> None:
    with pytest.raises(ValueError, match=r"decimal\(40,2\)"):
        LogicalType.from_arrow(pa.decimal256(40, 2))


@pytest.mark.parametrize(
    ("type_text", "expected"),
    [
        ("INTEGER", INT32),
        ("BIGINT", INT64),
        ("SMALLINT", INT32),
        ("TINYINT", INT32),
        ("UBIGINT", dec(20, 0)),
        ("HUGEINT", dec(38, 0)),
        ("DOUBLE", FLOAT64),
        ("FLOAT", FLOAT64),
        ("DECIMAL(15,2)", dec(15, 2)),
        ("VARCHAR", TEXT),
        ("BOOLEAN", BOOL),
        ("DATE", DATE),
        ("TIMESTAMP", TS),
        ("TIMESTAMP WITH TIME ZONE", TSTZ),
        ("TIMESTAMP_NS", TS),
        ("TIMESTAMP_MS", TS),
        ("TIMESTAMP_S", TS),
        ("JSON", JSON),
        ("UUID", TEXT),
        ("BLOB", TEXT),
        ("INTEGER[]", TEXT),
        ("STRUCT(a INTEGER)", TEXT),
        ("integer", INT32),
    ],
)
def test_from_engine_type_duckdb(type_text: str, expected: LogicalType) -> None:
    assert LogicalType.from_engine_type(type_text, "duckdb") == expected


@pytest.mark.parametrize(
    ("type_text", "expected"),
    [
        ("integer", INT32),
        ("smallint", INT32),
        ("bigint", INT64),
        ("double precision", FLOAT64),
        ("real", FLOAT64),
        ("numeric(15,2)", dec(15, 2)),
        ("numeric", dec(38, 9)),
        ("numeric(60,2)", TEXT),
        ("text", TEXT),
        ("character varying(20)", TEXT),
        ("character varying", TEXT),
        ("character(1)", TEXT),
        ("boolean", BOOL),
        ("date", DATE),
        ("timestamp without time zone", TS),
        ("timestamp(3) without time zone", TS),
        ("timestamp with time zone", TSTZ),
        ("json", JSON),
        ("jsonb", JSON),
        ("uuid", TEXT),
        ("bytea", TEXT),
        ("integer[]", TEXT),
        ("timestamp", TS),
        ("timestamptz", TSTZ),
        ("int4", INT32),
        ("int2", INT32),
        ("float4", FLOAT64),
        ("varchar(10)", TEXT),
    ],
)
def test_from_engine_type_postgres(type_text: str, expected: LogicalType) -> None:
    assert LogicalType.from_engine_type(type_text, "postgres") == expected


def test_from_engine_type_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        LogicalType.from_engine_type("INTEGER", "mysql")


@pytest.mark.parametrize("logical", [INT32, INT64, FLOAT64, dec(12, 2), TEXT, BOOL, DATE, TS, JSON])
@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_sql_round_trips_through_from_engine_type(logical: LogicalType, dialect: str) -> None:
    assert LogicalType.from_engine_type(logical.sql(dialect), dialect) == logical


# --- widening --------------------------------------------------------------------------

ALL = [INT32, INT64, FLOAT64, dec(12, 2), TEXT, BOOL, DATE, TS, TSTZ, JSON]


@pytest.mark.parametrize(
    ("old", "new", "fits"),
    [
        (INT32, INT32, True),
        (INT32, INT64, False),
        (INT32, FLOAT64, False),
        (INT64, INT32, True),
        (INT64, FLOAT64, False),
        (INT64, dec(10, 0), False),
        (FLOAT64, INT32, True),
        (FLOAT64, INT64, True),
        (FLOAT64, dec(12, 2), False),
        (dec(12, 2), INT32, True),
        (dec(11, 2), INT32, False),
        (dec(21, 2), INT64, True),
        (dec(20, 2), INT64, False),
        (dec(12, 2), dec(10, 2), True),
        (dec(12, 2), dec(11, 1), True),
        (dec(12, 2), dec(12, 3), False),
        (dec(12, 2), dec(13, 2), False),
        (dec(12, 2), FLOAT64, False),
        (TSTZ, TS, True),
        (TS, TSTZ, False),
        (TS, DATE, True),
        (DATE, TS, False),
        (BOOL, INT32, False),
        (JSON, TEXT, False),
        (INT32, TEXT, False),
    ],
)
def test_can_widen(old: LogicalType, new: LogicalType, fits: bool) -> None:
    assert can_widen(old, new) is fits


@pytest.mark.parametrize("logical", ALL)
def test_can_widen_same_type_and_into_text(logical: LogicalType) -> None:
    assert can_widen(logical, logical)
    assert can_widen(TEXT, logical)


# --- TableSchema -----------------------------------------------------------------------

ORDERS = TableSchema.from_columns(
    [("id", "int64"), ("amount", "decimal(12,2)"), ("note", "text")],
    primary_key="id",
    not_null=["amount"],
)


def test_table_schema_accessors() -> None:
    assert ORDERS.names == ["id", "amount", "note"]
    assert ORDERS.type_of("amount") == dec(12, 2)
    assert ORDERS.type_of("Amount") is None
    assert ORDERS.primary_key == ("id",)
    assert ORDERS.required == frozenset({"id", "amount"})


def test_table_schema_dict_round_trip() -> None:
    data = ORDERS.to_dict()
    assert data == {
        "columns": {"id": "int64", "amount": "decimal(12,2)", "note": "text"},
        "primary_key": ["id"],
        "not_null": ["amount"],
    }
    assert TableSchema.from_dict(json.loads(json.dumps(data))) == ORDERS


def test_table_schema_is_hashable_when_built_from_lists() -> None:
    built = TableSchema([("id", INT64)], ["id"], {"id"})  # type: ignore[arg-type]
    assert hash(built) == hash(TableSchema((("id", INT64),), ("id",), frozenset({"id"})))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ()}, "at least one column"),
        ({"columns": (("a", INT32), ("a", TEXT))}, "'a' is declared twice"),
        ({"columns": (("a", INT32),), "primary_key": ("b",)}, "primary key column 'b'"),
        ({"columns": (("a", INT32),), "primary_key": ("a", "a")}, "twice"),
        ({"columns": (("a", INT32),), "not_null": frozenset({"b"})}, "not_null column 'b'"),
        ({"columns": (("", INT32),)}, "non-empty"),
        ({"columns": (("a", "int32"),)}, "LogicalType"),
    ],
)
def test_table_schema_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TableSchema(**kwargs)  # type: ignore[arg-type]


def test_column_names_are_case_sensitive() -> None:
    schema = TableSchema.from_columns([("a", "int32"), ("A", "text")])
    assert schema.type_of("A") == TEXT


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a mapping"),
        ({}, "columns: is missing"),
        ({"columns": {}}, "columns: is empty"),
        ({"columns": ["id"]}, "must be a mapping of column name"),
        ({"columns": {"id": "money"}}, "column 'id': unknown type 'money'"),
        ({"columns": {"id": None}}, "got nothing"),
        ({"columns": {"id": "int64"}, "extra": 1}, "unknown key 'extra'"),
        ({"columns": {"id": "int64"}, "primary_key": ["ID"]}, "'ID' is not a column"),
        ({"columns": {"id": "int64"}, "primary_key": {"a": 1}}, "column name or a list"),
        ({"columns": {"id": "int64"}, "not_null": [1]}, "expected a column name"),
    ],
)
def test_from_dict_errors(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TableSchema.from_dict(data)


def test_with_and_without_columns() -> None:
    wider = ORDERS.with_columns([("coupon", TEXT)])
    assert wider.names == ["id", "amount", "note", "coupon"]
    assert wider.required == ORDERS.required
    narrower = wider.without_columns(["amount", "coupon"])
    assert narrower.names == ["id", "note"]
    assert narrower.not_null == frozenset()
    with pytest.raises(ValueError, match="declared twice"):
        ORDERS.with_columns([("id", TEXT)])
    with pytest.raises(ValueError, match="primary key"):
        ORDERS.without_columns(["id"])
    with pytest.raises(ValueError, match="'nope': it is not a column"):
        ORDERS.without_columns(["nope"])


# --- schema files ----------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "schema.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# orders\n"
        "columns:\n"
        "  id: bigint\n"
        "  amount: decimal(12, 2)\n"
        "  placed_at: timestamptz\n"
        "  note: string\n"
        "primary_key: id\n"
        "not_null: [amount, placed_at]\n",
    )
    schema = load_schema_file(path)
    assert schema.names == ["id", "amount", "placed_at", "note"]
    assert schema.type_of("amount") == dec(12, 2)
    assert schema.primary_key == ("id",)
    assert schema.not_null == frozenset({"amount", "placed_at"})


def test_load_json(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(ORDERS.to_dict(), indent="\t"), name="orders.json")
    assert load_schema_file(path) == ORDERS


def test_load_json_compact_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ORDERS.to_dict(), separators=(",", ":")).encode())
    assert load_schema_file(path) == ORDERS


BAD_FILES = [
    # (text, line, message fragment)
    ("columns:\n  id: int64\n  amount: money\n", 3, "'amount': unknown type 'money' (allowed:"),
    ("columns:\n  id: int64\n  amount: decimal(40,2)\n", 3, "precision must be 1..38"),
    ("columns:\n  id: int64\n  amount:\n", 3, "column 'amount': the type must be text"),
    ("columns:\n  id: int64\n  n: 5\n", 3, "got 5"),
    ("columns:\n  id: int64\nprimary_keys: [id]\n", 3, "unknown key 'primary_keys'"),
    ("columns:\n  id: int64\nprimary_key: ID\n", 3, "primary_key: 'ID' is not a column"),
    ("columns:\n  id: int64\n  n: int\nprimary_key:\n  - id\n  - nn\n", 6, "'nn' is not a column"),
    ("columns:\n  id: int64\nprimary_key: [id, id]\n", 3, "'id' is listed twice"),
    ("columns:\n  id: int64\nnot_null:\n  - x\n", 4, "not_null: 'x' is not a column"),
    ("# orders\ncolumns: {}\n", 2, "columns: is empty"),
    ("# orders\ncolumns:\n", 2, "columns: is missing or empty"),
    ("columns:\n  - id\n  - amount\n", 1, "must be a mapping of column name"),
    ("- id\n- amount\n", 1, "a schema must be a mapping"),
    ("columns:\n  id: int64\n  id: text\n", 3, "duplicate key 'id'"),
    ("columns:\n  id: [int64\n", 3, "invalid YAML"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_FILES)
def test_load_errors_point_at_the_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_schema_file(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert str(error).startswith(f"{path}:{line}: ")
    assert fragment in str(error)
    assert "\n" not in str(error)


def test_load_error_message_format(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  id: int64\n  amount: money\n")
    with pytest.raises(ConfigError) as info:
        load_schema_file(path)
    assert str(info.value) == (
        f"{path}:3: column 'amount': unknown type 'money' (allowed: int32, int64, float64, "
        "decimal(p,s), text, bool, date, timestamp, timestamptz, json)"
    )
    assert info.value.exit_code == 2


def test_load_error_suggests_the_right_column(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  order_id: int64\nprimary_key: [orderid]\n")
    with pytest.raises(ConfigError, match="did you mean 'order_id'"):
        load_schema_file(path)


def test_load_json_error_line(tmp_path: Path) -> None:
    text = '{\n  "columns": {\n    "id": "int64",\n    "amount": "money"\n  }\n}\n'
    path = write(tmp_path, text, name="orders.json")
    with pytest.raises(ConfigError) as info:
        load_schema_file(path)
    assert info.value.line == 4


def test_load_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match="a schema must be a mapping"):
        load_schema_file(path)


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ConfigError) as info:
        load_schema_file(path)
    assert str(info.value) == f"{path}: schema file not found"


def test_load_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read schema file"):
        load_schema_file(tmp_path)  # a directory


def test_load_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.yml"
    path.write_bytes(b"columns:\n  caf\xe9: text\n")
    with pytest.raises(ConfigError) as info:
        load_schema_file(path)
    assert info.value.line == 2
    assert "not UTF-8" in str(info.value)


# --- contracts -------------------------------------------------------------------------

TARGET = TableSchema.from_columns(
    [("id", "int64"), ("amount", "decimal(12,2)"), ("region", "text")], primary_key="id"
)
SAME = TableSchema.from_columns([("id", "int32"), ("amount", "decimal(10,2)"), ("region", "text")])
WITH_NEW = TableSchema.from_columns(
    [("id", "int64"), ("coupon", "text"), ("amount", "decimal(12,2)"), ("region", "text")]
    + [("channel", "int32")]
)
WITHOUT_REGION = TableSchema.from_columns([("id", "int64"), ("amount", "decimal(12,2)")])
RETYPED = TableSchema.from_columns([("id", "text"), ("amount", "float64"), ("region", "text")])


@pytest.mark.parametrize("contract", list(Contract))
def test_new_table_takes_the_source(contract: Contract) -> None:
    change = reconcile(None, WITH_NEW, contract, table="main.orders")
    assert change == SchemaChange((), (), (), (), WITH_NEW)


@pytest.mark.parametrize("contract", list(Contract))
def test_compatible_source_changes_nothing(contract: Contract) -> None:
    change = reconcile(TARGET, SAME, contract, table="main.orders")
    assert change == SchemaChange((), (), (), (), TARGET)


def test_evolve_adds_new_columns() -> None:
    change = reconcile(TARGET, WITH_NEW, Contract.EVOLVE, table="main.orders")
    assert change.added == (("coupon", TEXT), ("channel", INT32))
    assert change.discarded == ()
    assert change.result.names == ["id", "amount", "region", "coupon", "channel"]
    assert change.result.primary_key == ("id",)
    assert change.result.required == frozenset({"id"})


def test_discard_drops_new_columns() -> None:
    change = reconcile(TARGET, WITH_NEW, Contract.DISCARD, table="main.orders")
    assert change.added == ()
    assert change.discarded == ("coupon", "channel")
    assert change.result == TARGET


def test_freeze_refuses_new_columns() -> None:
    with pytest.raises(ContractViolation) as info:
        reconcile(TARGET, WITH_NEW, Contract.FREEZE, table="main.orders")
    assert str(info.value) == (
        "contract 'freeze' on main.orders: the source has new columns coupon, channel "
        "(allowed by --contract evolve, or drop them with --contract discard)"
    )
    assert isinstance(info.value, HeadraceError)
    assert info.value.exit_code == 1
    assert info.value.context["table"] == "main.orders"
    assert info.value.context["new_columns"] == ["coupon", "channel"]


@pytest.mark.parametrize("contract", [Contract.EVOLVE, Contract.DISCARD])
def test_missing_columns_allowed_unless_frozen(contract: Contract) -> None:
    change = reconcile(TARGET, WITHOUT_REGION, contract, table="main.orders")
    assert change.missing == ("region",)
    assert change.result == TARGET


def test_freeze_refuses_missing_columns() -> None:
    with pytest.raises(ContractViolation, match=r"the source lacks column region \("):
        reconcile(TARGET, WITHOUT_REGION, Contract.FREEZE, table="main.orders")


def test_freeze_names_new_and_missing_together() -> None:
    source = TableSchema.from_columns([("id", "int64"), ("Amount", "text"), ("x y", "text")])
    with pytest.raises(ContractViolation) as info:
        reconcile(TARGET, source, Contract.FREEZE, table="orders")
    text = str(info.value)
    assert "has new columns Amount, 'x y' and lacks columns amount, region" in text
    assert "only the case differs: 'amount' vs 'Amount'" in text


@pytest.mark.parametrize("contract", list(Contract))
def test_type_differences_are_reported_not_raised(contract: Contract) -> None:
    change = reconcile(TARGET, RETYPED, contract, table="main.orders")
    assert change.retyped == (("id", INT64, TEXT), ("amount", dec(12, 2), FLOAT64))
    assert change.result == TARGET
    assert change.added == ()
    assert change.missing == change.discarded == ()


def test_names_compare_exactly() -> None:
    source = TableSchema.from_columns([("ID", "int64"), ("amount", "decimal(12,2)")])
    change = reconcile(TARGET, source, Contract.EVOLVE, table="t")
    assert change.added == (("ID", INT64),)
    assert change.missing == ("id", "region")


def test_reconcile_accepts_contract_text() -> None:
    change = reconcile(TARGET, WITH_NEW, "discard", table="t")  # type: ignore[arg-type]
    assert change.discarded == ("coupon", "channel")
