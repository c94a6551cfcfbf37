"""Logical column types: one vocabulary for schema files, engines and Arrow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

TYPE_NAMES = (
    "int32",
    "int64",
    "float64",
    "decimal",
    "text",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
    "json",
)
ALLOWED = ", ".join("decimal(p,s)" if name == "decimal" else name for name in TYPE_NAMES)
MAX_PRECISION = 38
# Bare `decimal` gets a precision that holds any int64 and a scale that keeps typical money
# and measurement values exact.
DEFAULT_PRECISION = 38
DEFAULT_SCALE = 9
DIALECTS = ("duckdb", "postgres")

_ALIASES = {
    "int32": "int32",
    "int": "int32",
    "integer": "int32",
    "int4": "int32",
    "int64": "int64",
    "bigint": "int64",
    "int8": "int64",
    "long": "int64",
    "float64": "float64",
    "double": "float64",
    "float": "float64",
    "float8": "float64",
    "real": "float64",
    "text": "text",
    "string": "text",
    "varchar": "text",
    "str": "text",
    "bool": "bool",
    "boolean": "bool",
    "date": "date",
    "timestamp": "timestamp",
    "datetime": "timestamp",
    "timestamptz": "timestamptz",
    "json": "json",
    "jsonb": "json",
}
_DECIMAL = re.compile(r"(?:decimal|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")

_SQL = {
    "duckdb": {
        "int32": "INTEGER",
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "decimal": "DECIMAL({p},{s})",
        "text": "VARCHAR",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "json": "JSON",
    },
    "postgres": {
        "int32": "integer",
        "int64": "bigint",
        "float64": "double precision",
        "decimal": "numeric({p},{s})",
        "text": "text",
        "bool": "boolean",
        "date": "date",
        "timestamp": "timestamp",
        "timestamptz": "timestamptz",
        "json": "jsonb",
    },
}

# Introspected spellings (DuckDB DESCRIBE / information_schema, PostgreSQL format_type);
# anything not listed is read back as text, which every value fits.
_DUCKDB_TYPES = {
    "TINYINT": "int32",
    "SMALLINT": "int32",
    "INTEGER": "int32",
    "UTINYINT": "int32",
    "USMALLINT": "int32",
    "BIGINT": "int64",
    "UINTEGER": "int64",
    "FLOAT": "float64",
    "DOUBLE": "float64",
    "VARCHAR": "text",
    "UUID": "text",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMPTZ": "timestamptz",
    "JSON": "json",
}
_POSTGRES_TYPES = {
    "smallint": "int32",
    "int2": "int32",
    "integer": "int32",
    "bigint": "int64",
    "real": "float64",
    "float4": "float64",
    "double precision": "float64",
    "text": "text",
    "character varying": "text",
    "character": "text",
    "uuid": "text",
    "boolean": "bool",
    "date": "date",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "json": "json",
    "jsonb": "json",
}
# Length and fractional-second modifiers do not change the logical type:
# `character varying(20)`, `timestamp(3) with time zone`.
_MODIFIER = re.compile(r"\s*\(\s*\d+\s*\)")


@dataclass(frozen=True)
class LogicalType:
    """A column type headrace understands; ``precision``/``scale`` only for decimal."""

    name: str
    precision: int | None = None
    scale: int | None = None

    def __post_init__(self) -> None:
        if self.name not in TYPE_NAMES:
            raise ValueError(f"unknown type {self.name!r} (allowed: {ALLOWED})")
        if self.name != "decimal":
            if self.precision is not None or self.scale is not None:
                raise ValueError(f"type {self.name} takes no precision or scale")
            return
        precision, scale = self.precision, self.scale
        if precision is None:
            precision = DEFAULT_PRECISION
            scale = DEFAULT_SCALE if scale is None else scale
        elif scale is None:
            scale = 0  # decimal(p) means decimal(p,0), as in SQL
        _check_decimal(precision, scale)
        # Normalised here so that LogicalType("decimal") == LogicalType.parse("decimal").
        object.__setattr__(self, "precision", precision)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def parse(cls, text: str) -> LogicalType:
        """Parse a type as written in a schema file: ``int64``, ``Decimal(12, 2)``, ``string``."""
        if not isinstance(text, str):
            raise ValueError(f"a type must be text, not {type(text).__name__} (allowed: {ALLOWED})")
        spelled = " ".join(text.split()).lower()
        name = _ALIASES.get(spelled)
        if name is not None:
            return cls(name)
        match = _DECIMAL.fullmatch(spelled)
        if match is None:
            if spelled.startswith(("decimal(", "numeric(")) and ")" not in spelled:
                # `{amount: decimal(10,2)}` in a YAML flow mapping splits at the comma.
                raise ValueError(
                    f"unknown type {text.strip()!r}: quote types with a comma, e.g. 'decimal(10,2)'"
                )
            raise ValueError(f"unknown type {text.strip()!r} (allowed: {ALLOWED})")
        if match.group(1) is None:
            return cls("decimal")
        precision = int(match.group(1))
        scale = int(match.group(2)) if match.group(2) is not None else 0
        return cls("decimal", precision, scale)

    @classmethod
    def from_engine_type(cls, type_text: str, dialect: str) -> LogicalType:
        """The logical type of a column as an engine reports it (DESCRIBE, format_type)."""
        _check_dialect(dialect)
        spelled = " ".join(type_text.split())
        if dialect == "duckdb":
            spelled = spelled.upper()
            if spelled in ("HUGEINT", "UBIGINT"):
                # Wider than int64; exact in a decimal (UBIGINT needs 20 digits, HUGEINT 38+).
                return cls("decimal", 38 if spelled == "HUGEINT" else 20, 0)
            name = _DUCKDB_TYPES.get(spelled)
            keyword = "DECIMAL"
        else:
            spelled = spelled.lower()
            name = _POSTGRES_TYPES.get(_MODIFIER.sub("", spelled))
            keyword = "numeric"
        if name is not None:
            return cls(name)
        decimal = _engine_decimal(spelled, keyword)
        if decimal is not None:
            return decimal
        try:
            # Short spellings (`int4`, `timestamptz`, `varchar`) as people write them in DDL.
            return cls.parse(_MODIFIER.sub("", spelled))
        except ValueError:
            return cls("text")

    @classmethod
    def from_arrow(cls, arrow_type: pa.DataType) -> LogicalType:
        """The logical type of an Arrow type, as inferred from source data."""
        import pyarrow as pa
        import pyarrow.types as t

        if t.is_dictionary(arrow_type):
            assert isinstance(arrow_type, pa.DictionaryType)
            return cls.from_arrow(arrow_type.value_type)
        if t.is_boolean(arrow_type):
            return cls("bool")
        if t.is_uint64(arrow_type):
            return cls("decimal", 20, 0)
        if t.is_int64(arrow_type) or t.is_uint32(arrow_type):
            return cls("int64")
        if t.is_integer(arrow_type):
            return cls("int32")
        if t.is_floating(arrow_type):
            return cls("float64")
        if t.is_decimal(arrow_type):
            precision, scale = arrow_type.precision, arrow_type.scale
            if precision > MAX_PRECISION:
                raise ValueError(
                    f"decimal({precision},{scale}) is wider than the largest supported "
                    f"decimal({MAX_PRECISION},s)"
                )
            return cls("decimal", precision, scale)
        if t.is_date(arrow_type):
            return cls("date")
        if t.is_timestamp(arrow_type):
            assert isinstance(arrow_type, pa.TimestampType)
            return cls("timestamptz" if arrow_type.tz else "timestamp")
        # Strings, and everything without a logical type of its own (time, duration,
        # binary, nested), are kept as text so that no value is refused.
        return cls("text")

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.name

    def sql(self, dialect: str) -> str:
        """The column type in ``dialect`` (``duckdb`` or ``postgres``)."""
        _check_dialect(dialect)
        return _SQL[dialect][self.name].format(p=self.precision, s=self.scale)

    def arrow(self) -> pa.DataType:
        """The Arrow type that holds values of this type."""
        # Imported here: the CLI must start without loading pyarrow.
        import pyarrow as pa

        if self.name == "decimal":
            assert self.precision is not None and self.scale is not None
            return pa.decimal128(self.precision, self.scale)
        if self.name == "timestamp":
            return pa.timestamp("us")
        if self.name == "timestamptz":
            return pa.timestamp("us", tz="UTC")
        factory = {
            "int32": pa.int32,
            "int64": pa.int64,
            "float64": pa.float64,
            "text": pa.string,
            "bool": pa.bool_,
            "date": pa.date32,
            "json": pa.string,
        }[self.name]
        result: pa.DataType = factory()
        return result


def can_widen(old: LogicalType, new: LogicalType) -> bool:
    """Whether a column declared ``old`` holds every value of type ``new`` without loss."""
    if old == new or old.name == "text":
        return True
    if old.name == "int64":
        return new.name == "int32"
    if old.name == "float64":
        # int64 beyond 2**53 rounds in a double; accepted, as every engine does on insert.
        return new.name in ("int32", "int64")
    if old.name == "decimal":
        assert old.precision is not None and old.scale is not None
        digits = old.precision - old.scale
        if new.name == "int32":
            return digits >= 10
        if new.name == "int64":
            return digits >= 19
        if new.name == "decimal":
            assert new.precision is not None and new.scale is not None
            return new.scale <= old.scale and new.precision - new.scale <= digits
        return False
    if old.name == "timestamptz":
        return new.name == "timestamp"
    if old.name == "timestamp":
        return new.name == "date"
    return False


def _check_decimal(precision: int, scale: int) -> None:
    if not 1 <= precision <= MAX_PRECISION:
        raise ValueError(
            f"decimal precision must be 1..{MAX_PRECISION}, got {precision} (allowed: {ALLOWED})"
        )
    if not 0 <= scale <= precision:
        raise ValueError(
            f"decimal scale must be 0..precision ({precision}), got {scale} (allowed: {ALLOWED})"
        )


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r} (allowed: {', '.join(DIALECTS)})")


def _engine_decimal(spelled: str, keyword: str) -> LogicalType | None:
    match = re.fullmatch(rf"{keyword}(?:\((\d+),\s*(\d+)\))?", spelled)
    if match is None:
        return None
    if match.group(1) is None:
        # Unconstrained numeric: same default as a bare `decimal` in a schema file.
        return LogicalType("decimal")
    precision, scale = int(match.group(1)), int(match.group(2))
    if not (1 <= precision <= MAX_PRECISION and 0 <= scale <= precision):
        # PostgreSQL allows numeric(1000,...) and negative scales; text keeps every value.
        return LogicalType("text")
    return LogicalType("decimal", precision, scale)


__all__ = ["ALLOWED", "DIALECTS", "TYPE_NAMES", "LogicalType", "can_widen"]
