"""Arrow <-> SQL type mapping used when headrace creates tables or reads results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_to_postgres(arrow_type: pa.DataType) -> str:
    """PostgreSQL column type for an Arrow type (lists and structs become jsonb)."""
    import pyarrow as pa
    import pyarrow.types as t

    if t.is_boolean(arrow_type):
        return "boolean"
    if t.is_int8(arrow_type) or t.is_int16(arrow_type) or t.is_uint8(arrow_type):
        return "smallint"
    if t.is_int32(arrow_type) or t.is_uint16(arrow_type):
        return "integer"
    if t.is_integer(arrow_type):
        # uint64 can exceed bigint; numeric(20) holds every value.
        return "numeric(20,0)" if t.is_uint64(arrow_type) else "bigint"
    if t.is_float16(arrow_type) or t.is_float32(arrow_type):
        return "real"
    if t.is_floating(arrow_type):
        return "double precision"
    if t.is_decimal(arrow_type):
        assert isinstance(arrow_type, pa.Decimal128Type | pa.Decimal256Type)
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type):
        return "text"
    if (
        t.is_binary(arrow_type)
        or t.is_large_binary(arrow_type)
        or t.is_fixed_size_binary(arrow_type)
    ):
        return "bytea"
    if t.is_date(arrow_type):
        return "date"
    if t.is_timestamp(arrow_type):
        assert isinstance(arrow_type, pa.TimestampType)
        return "timestamptz" if arrow_type.tz else "timestamp"
    if t.is_time(arrow_type):
        return "time"
    if t.is_duration(arrow_type) or t.is_interval(arrow_type):
        return "interval"
    if t.is_null(arrow_type):
        return "text"
    if t.is_dictionary(arrow_type):
        assert isinstance(arrow_type, pa.DictionaryType)
        return arrow_to_postgres(arrow_type.value_type)
    return "jsonb"


# PostgreSQL type OIDs (pg_type.oid, stable across versions) -> Arrow type factories.
_PG_OID_TO_ARROW = {
    16: "bool_",
    20: "int64",
    21: "int16",
    23: "int32",
    26: "int64",  # oid
    700: "float32",
    701: "float64",
    25: "string",
    1042: "string",
    1043: "string",
    19: "string",  # name
    114: "string",  # json (kept as text)
    3802: "string",  # jsonb (kept as text)
    2950: "string",  # uuid
    1186: "string",  # interval
    869: "string",  # inet
    17: "binary",
    1082: "date32",
}


def postgres_oid_to_arrow(oid: int, precision: int | None, scale: int | None) -> pa.DataType | None:
    """Arrow type for a result column; None lets pyarrow infer it from the values."""
    import pyarrow as pa

    if oid == 1700:  # numeric: exact when the column declares precision and scale
        if precision is not None and scale is not None and 0 < precision <= 38:
            return pa.decimal128(precision, scale)
        return None
    if oid == 1114:
        return pa.timestamp("us")
    if oid == 1184:
        return pa.timestamp("us", tz="UTC")
    if oid == 1083:
        return pa.time64("us")
    factory = _PG_OID_TO_ARROW.get(oid)
    if factory is None:
        return None
    result: pa.DataType = getattr(pa, factory)()
    return result
