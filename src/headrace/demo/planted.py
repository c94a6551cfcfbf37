"""The bad rows the demo generator plants on purpose, and how each one is broken."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headrace.demo.tables import CUSTOMERS, ORDER_LINES, ORDERS, DemoTable


@dataclass(frozen=True)
class BadRow:
    """A row planted to fail loading: file, 1-based physical line, reason code, why."""

    file: str
    line: int  # CSV: the header is line 1, so data row i (0-based) is line i + 2
    code: str  # the reason the loader records in _headrace.quarantine
    reason: str
    column: str | None = None  # the offending column, when there is one


CsvBreaker = Callable[[list[str]], list[str]]
JsonBreaker = Callable[[dict[str, Any]], str]


def _set(table: DemoTable, column: str, value: str) -> CsvBreaker:
    index = table.column_names.index(column)
    return lambda row: [*row[:index], value, *row[index + 1 :]]


def _drop(table: DemoTable, column: str) -> CsvBreaker:
    index = table.column_names.index(column)
    return lambda row: [*row[:index], *row[index + 1 :]]


def _split_last(parts: list[str]) -> CsvBreaker:
    # An unquoted comma inside the last field: the writer sees two fields, readers see one extra.
    return lambda row: [*row[:-1], *parts]


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _truncated(record: dict[str, Any]) -> str:
    return json_line(record)[:-1]


def _with(key: str, value: Any) -> JsonBreaker:
    return lambda record: json_line({**record, key: value})


def _without(key: str) -> JsonBreaker:
    return lambda record: json_line({k: v for k, v in record.items() if k != key})


# Line numbers stay below each file's smallest possible size for any seed (order_lines has
# at least one line per order), so every seed plants the same rows at the same places.
CSV_BREAKERS: dict[str, dict[int, tuple[BadRow, CsvBreaker]]] = {
    CUSTOMERS.file: {
        118: (
            BadRow(
                CUSTOMERS.file, 118, "invalid_value", "impossible date 2026-02-30", "signed_up_at"
            ),
            _set(CUSTOMERS, "signed_up_at", "2026-02-30 08:15:00"),
        ),
        2047: (
            BadRow(
                CUSTOMERS.file,
                2047,
                "invalid_value",
                "non-numeric lifetime_value 'n/a'",
                "lifetime_value",
            ),
            _set(CUSTOMERS, "lifetime_value", "n/a"),
        ),
        4480: (
            BadRow(CUSTOMERS.file, 4480, "too_few_fields", "missing column (email left out)"),
            _drop(CUSTOMERS, "email"),
        ),
    },
    ORDERS.file: {
        733: (
            BadRow(
                ORDERS.file, 733, "invalid_value", "non-numeric amount '12.5O' (letter O)", "amount"
            ),
            _set(ORDERS, "amount", "12.5O"),
        ),
        9001: (
            BadRow(ORDERS.file, 9001, "invalid_value", "impossible month 2025-13-07", "ordered_at"),
            _set(ORDERS, "ordered_at", "2025-13-07 10:00:00"),
        ),
        15555: (
            BadRow(ORDERS.file, 15555, "too_many_fields", "extra column (unquoted comma in note)"),
            _split_last(["fragile", " handle with care"]),
        ),
        27002: (
            BadRow(
                ORDERS.file,
                27002,
                "invalid_value",
                "impossible date 2025-02-29 (not a leap year)",
                "shipped_at",
            ),
            _set(ORDERS, "shipped_at", "2025-02-29 16:40:00"),
        ),
    },
}

JSON_BREAKERS: dict[str, dict[int, tuple[BadRow, JsonBreaker]]] = {
    ORDER_LINES.file: {
        404: (
            BadRow(
                ORDER_LINES.file, 404, "malformed_json", "malformed JSON (closing brace missing)"
            ),
            _truncated,
        ),
        12345: (
            BadRow(
                ORDER_LINES.file, 12345, "invalid_value", "quantity is the string 'two'", "quantity"
            ),
            _with("quantity", "two"),
        ),
        27182: (
            BadRow(
                ORDER_LINES.file, 27182, "missing_required", "missing key product_id", "product_id"
            ),
            _without("product_id"),
        ),
    },
}

PLANTED_BAD_ROWS: tuple[BadRow, ...] = tuple(
    sorted(
        [bad for by_line in CSV_BREAKERS.values() for bad, _ in by_line.values()]
        + [bad for by_line in JSON_BREAKERS.values() for bad, _ in by_line.values()],
        key=lambda bad: (bad.file, bad.line),
    )
)
