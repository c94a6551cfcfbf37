"""Declared table schemas: ordered typed columns, a primary key and NOT NULL columns."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headrace.config.yamltree import ConfigPath, nearest_line, parse_yaml, read_text_file
from headrace.errors import ConfigError
from headrace.schema.types import LogicalType

_KEYS = ("columns", "primary_key", "not_null")


@dataclass(frozen=True)
class TableSchema:
    """The columns of a table in order, with its primary key and NOT NULL columns."""

    columns: tuple[tuple[str, LogicalType], ...]
    primary_key: tuple[str, ...] = ()
    not_null: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Normalised so that a schema built from lists is still hashable and comparable.
        object.__setattr__(self, "columns", tuple((name, t) for name, t in self.columns))
        object.__setattr__(self, "primary_key", tuple(self.primary_key))
        object.__setattr__(self, "not_null", frozenset(self.not_null))
        if not self.columns:
            raise ValueError("a table schema needs at least one column")
        seen: set[str] = set()
        for name, logical_type in self.columns:
            if not isinstance(name, str) or not name:
                raise ValueError(f"column names must be non-empty text, got {name!r}")
            if name in seen:
                raise ValueError(f"column {name!r} is declared twice")
            if not isinstance(logical_type, LogicalType):
                raise ValueError(f"column {name!r}: type must be a LogicalType")
            seen.add(name)
        for key in self.primary_key:
            if key not in seen:
                raise ValueError(f"primary key column {key!r} is not a column of the table")
        if len(set(self.primary_key)) != len(self.primary_key):
            raise ValueError("the primary key names a column twice")
        for name in sorted(self.not_null):
            if name not in seen:
                raise ValueError(f"not_null column {name!r} is not a column of the table")

    @property
    def names(self) -> list[str]:
        """Column names in declared order."""
        return [name for name, _ in self.columns]

    @property
    def required(self) -> frozenset[str]:
        """Columns that must not be NULL: the NOT NULL ones and the primary key."""
        return self.not_null | frozenset(self.primary_key)

    def type_of(self, name: str) -> LogicalType | None:
        """The type of column ``name`` (exact match), or None when there is no such column."""
        for column, logical_type in self.columns:
            if column == name:
                return logical_type
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_dict`` (and schema files) read back."""
        return {
            "columns": {name: str(logical_type) for name, logical_type in self.columns},
            "primary_key": list(self.primary_key),
            "not_null": sorted(self.not_null),
        }

    @classmethod
    def from_dict(cls, data: Any) -> TableSchema:
        """Build a schema from the schema-file structure; ValueError says what is wrong."""
        try:
            return _build(data)
        except _SpecError as exc:
            raise ValueError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None

    @classmethod
    def from_columns(
        cls,
        pairs: Iterable[tuple[str, LogicalType | str]],
        primary_key: Sequence[str] | str = (),
        not_null: Iterable[str] | str = (),
    ) -> TableSchema:
        """Build a schema from ``(name, type)`` pairs; types may be written as text."""
        columns = tuple(
            (name, t if isinstance(t, LogicalType) else LogicalType.parse(t)) for name, t in pairs
        )
        return cls(columns, _names(primary_key), frozenset(_names(not_null)))

    def with_columns(self, extra: Sequence[tuple[str, LogicalType]]) -> TableSchema:
        """This schema with ``extra`` columns appended (nullable)."""
        return TableSchema((*self.columns, *extra), self.primary_key, self.not_null)

    def without_columns(self, names: Iterable[str]) -> TableSchema:
        """This schema without the named columns (they must exist and not be in the key)."""
        drop = set(_names(names))
        for name in sorted(drop):
            if self.type_of(name) is None:
                raise ValueError(f"cannot drop column {name!r}: it is not a column of the table")
            if name in self.primary_key:
                raise ValueError(f"cannot drop column {name!r}: it is part of the primary key")
        return TableSchema(
            tuple(column for column in self.columns if column[0] not in drop),
            self.primary_key,
            self.not_null - drop,
        )


def load_schema_file(path: Path) -> TableSchema:
    """Read a YAML or JSON schema file; every problem is one ConfigError naming file and line."""
    file = str(path)
    text = read_text_file(path, "schema file")
    if path.suffix.lower() == ".json":
        # YAML refuses tab indentation that JSON allows; outside strings (where JSON forbids
        # raw tabs anyway) a tab is just a space, and line numbers stay the same.
        text = text.replace("\t", " ")
    # JSON is a subset of YAML, so one parser gives line numbers for both.
    document = parse_yaml(text, file=file)
    try:
        return _build(document.value)
    except _SpecError as exc:
        raise ConfigError(
            exc.message, file=file, line=nearest_line(document.lines, exc.path), hint=exc.hint
        ) from None


class _SpecError(ValueError):
    """A schema-file problem at ``path``; turned into ConfigError or ValueError by callers."""

    def __init__(self, message: str, path: ConfigPath, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


def _build(data: Any) -> TableSchema:
    if not isinstance(data, Mapping):
        raise _SpecError(
            "a schema must be a mapping with a columns: key",
            (),
            hint="for example  columns: {id: int64, amount: decimal(12,2)}",
        )
    for key in data:
        if key not in _KEYS:
            raise _SpecError(f"unknown key {key!r}", (str(key),), hint=_suggest(str(key), _KEYS))
    columns = _columns(data.get("columns"))
    names = [name for name, _ in columns]
    primary_key = _column_list(data, "primary_key", names)
    if len(set(primary_key)) != len(primary_key):
        twice = next(i for i, name in enumerate(primary_key) if name in primary_key[:i])
        raise _SpecError(
            f"primary_key: column {primary_key[twice]!r} is listed twice", ("primary_key", twice)
        )
    not_null = _column_list(data, "not_null", names)
    return TableSchema(columns, tuple(primary_key), frozenset(not_null))


def _columns(value: Any) -> tuple[tuple[str, LogicalType], ...]:
    if value is None:
        raise _SpecError(
            "columns: is missing or empty",
            ("columns",),
            hint="list the columns as  name: type, one per line",
        )
    if not isinstance(value, Mapping):
        raise _SpecError(
            "columns: must be a mapping of column name to type",
            ("columns",),
            hint="write  columns: {id: int64, name: text}",
        )
    if not value:
        raise _SpecError("columns: is empty; a table needs at least one column", ("columns",))
    columns: list[tuple[str, LogicalType]] = []
    for name, spelled in value.items():
        if not isinstance(name, str) or not name:
            raise _SpecError(f"column names must be non-empty text, got {name!r}", ("columns",))
        path: ConfigPath = ("columns", name)
        if not isinstance(spelled, str):
            shown = "nothing" if spelled is None else repr(spelled)
            raise _SpecError(
                f"column {name!r}: the type must be text like int64 or decimal(12,2), got {shown}",
                path,
            )
        try:
            columns.append((name, LogicalType.parse(spelled)))
        except ValueError as exc:
            raise _SpecError(f"column {name!r}: {exc}", path) from None
    return tuple(columns)


def _column_list(data: Mapping[str, Any], key: str, known: Sequence[str]) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _SpecError(f"{key}: must be a column name or a list of column names", (key,))
    for i, name in enumerate(items):
        # A single string has no item path; its line is the key's.
        path: ConfigPath = (key,) if isinstance(value, str) else (key, i)
        if not isinstance(name, str):
            raise _SpecError(f"{key}: expected a column name, got {name!r}", path)
        if name not in known:
            raise _SpecError(f"{key}: {name!r} is not a column", path, hint=_suggest(name, known))
    return list(items)


def _suggest(word: str, choices: Sequence[str]) -> str:
    # Case first: names compare exactly, and `ID` vs `id` is the commonest slip.
    by_case = [choice for choice in choices if choice.lower() == word.lower()]
    close = by_case or difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"expected one of: {shown}"


def _names(value: Iterable[str] | str) -> tuple[str, ...]:
    # A bare string is one name, not a sequence of one-letter names.
    return (value,) if isinstance(value, str) else tuple(value)


__all__ = ["TableSchema", "load_schema_file"]
