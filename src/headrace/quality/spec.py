"""Check declarations (``checks:`` in headrace.yml, ``checks/*.yml``) parsed into CheckDefs.

Every mistake is one ConfigError naming the file and line, and a list parses whole or not at
all. Whether tables and columns exist is the runner's business: it asks the database.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from headrace.config.durations import parse_duration
from headrace.config.yamltree import ConfigPath, nearest_line, parse_yaml, read_text_file
from headrace.errors import ConfigError, UsageError
from headrace.quality.model import (
    COUNTING,
    DEFAULT_FAIL,
    SELF_JUDGED,
    CheckDef,
    Severity,
    Threshold,
)
from headrace.schema import LogicalType

TABLE_KEYS = (
    "table",
    "row_count",
    "freshness",
    "unique",
    "columns",
    "sql",
    "schema",
    "anomaly",
    "metrics",
)
COLUMN_CHECKS = (
    "not_null",
    "accepted_values",
    "range",
    "regex",
    "length",
    "relationships",
    "completeness",
    "anomaly",
)
# Keys that may sit next to the check in one item: `{range: {...}, fail_if: ..., name: ...}`.
ITEM_OPTIONS = ("fail_if", "warn_if", "severity", "name")
SEVERITIES: tuple[Severity, ...] = ("blocking", "non_blocking")
TABLE_ANOMALY_METRICS = ("row_count",)
COLUMN_ANOMALY_METRICS = ("null_pct", "distinct_count")
CHECK_DIRECTORY = "checks"

# What a self-judged check compares against, for "judges itself (...)" messages.
_OWN_CRITERION = {
    "row_count": "min/max",
    "freshness": "max_age",
    "completeness": "min_pct",
    "schema": "its declared columns",
    "anomaly": "sensitivity",
}
_ANOMALY_DEFAULTS = {"sensitivity": 3.0, "window": 14, "min_history": 5}


@dataclass(frozen=True)
class _Where:
    """The file being parsed and its line map; turns a path into a ConfigError."""

    file: str
    lines: dict[ConfigPath, int]

    def line(self, path: ConfigPath) -> int | None:
        return nearest_line(self.lines, path)

    def fail(self, message: str, path: ConfigPath, hint: str | None = None) -> NoReturn:
        raise ConfigError(message, file=self.file, line=self.line(path), hint=hint)


# --------------------------------------------------------------------------- public API


def parse_checks(
    entries: Any, *, file: str, lines: dict[ConfigPath, int], base_path: ConfigPath = ()
) -> list[CheckDef]:
    """The checks of a parsed ``checks:`` list; ``lines``/``base_path`` locate it in its file."""
    where = _Where(file, lines)
    if entries is None:
        return []
    if not isinstance(entries, list):
        where.fail(
            f"checks must be a list of table entries, not {_kind_of(entries)}",
            base_path,
            hint="write '- table: SCHEMA.TABLE' followed by its checks",
        )
    checks: list[CheckDef] = []
    for index, entry in enumerate(entries):
        checks.extend(_table_entry(where, entry, (*base_path, index)))
    _check_unique_names(checks)
    return checks


def load_check_file(path: Path) -> list[CheckDef]:
    """The checks in a YAML file: a list of table entries, or a mapping with ``checks:``."""
    file = str(path)
    document = parse_yaml(read_text_file(path, "check file"), file=file)
    value = document.value
    if isinstance(value, dict):
        if "checks" not in value or len(value) > 1:
            extra = next((key for key in value if key != "checks"), "checks")
            hint = "a check file holds '- table: ...' entries, or 'checks:' with such a list"
            line = nearest_line(document.lines, (extra,))
            message = (
                "a check file must be a list of table entries, not a single entry"
                if "table" in value
                else f"unknown key {extra!r} at the top of a check file (allowed: checks)"
            )
            raise ConfigError(message, file=file, line=line, hint=hint)
        return parse_checks(value["checks"], file=file, lines=document.lines, base_path=("checks",))
    return parse_checks(value, file=file, lines=document.lines)


def load_project_checks(config_file: Path | None, root: Path) -> list[CheckDef]:
    """The ``checks:`` of headrace.yml followed by those of every ``checks/*.yml`` file."""
    checks: list[CheckDef] = []
    if config_file is not None:
        checks.extend(_config_checks(config_file))
    for path in check_files(root):
        checks.extend(load_check_file(path))
    _check_unique_names(checks)
    return checks


def check_files(root: Path) -> list[Path]:
    """The ``*.yml`` and ``*.yaml`` files in ``root/checks``, sorted by name."""
    folder = root / CHECK_DIRECTORY
    if not folder.is_dir():
        return []
    found = [*folder.glob("*.yml"), *folder.glob("*.yaml")]
    return sorted(path for path in found if path.is_file())


def select_tables(checks: Sequence[CheckDef], tables: Sequence[str]) -> list[CheckDef]:
    """The checks on the given tables (``orders`` also matches ``main.orders``)."""
    if not tables:
        return list(checks)
    for name in tables:
        if not any(_table_matches(check.table, name) for check in checks):
            known = sorted({check.table for check in checks})
            raise UsageError(
                f"no checks for table {name!r}",
                hint=_choices_hint(name, known, "tables with checks"),
            )
    return [check for check in checks if any(_table_matches(check.table, n) for n in tables)]


def _table_matches(table: str, name: str) -> bool:
    if table == name:
        return True
    return "." not in name and table.rsplit(".", 1)[-1] == name


def _config_checks(config_file: Path) -> list[CheckDef]:
    file = str(config_file)
    document = parse_yaml(read_text_file(config_file, "config file"), file=file)
    value = document.value
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ConfigError(
            "the top level must be a mapping (keys like warehouse: and checks:)",
            file=file,
            line=nearest_line(document.lines, ()),
        )
    return parse_checks(value.get("checks"), file=file, lines=document.lines, base_path=("checks",))


# --------------------------------------------------------------------------- table entries


def _table_entry(where: _Where, entry: Any, path: ConfigPath) -> list[CheckDef]:
    if not isinstance(entry, dict):
        where.fail(
            f"a checks entry must be a mapping, not {_kind_of(entry)}",
            path,
            hint="write '- table: SCHEMA.TABLE' followed by its checks",
        )
    _known_keys(where, entry, path, TABLE_KEYS, "a table entry", _table_key_hint)
    if "table" not in entry:
        where.fail("a checks entry has no table:", path, hint="add 'table: SCHEMA.TABLE'")
    table = _text(where, entry["table"], (*path, "table"), "table")
    checks: list[CheckDef] = []
    for key, value in entry.items():
        if key != "table":
            checks.extend(_TABLE_SECTIONS[key](where, table, value, (*path, key)))
    if not checks:
        where.fail(
            f"the entry for table {table} declares no checks",
            path,
            hint=f"add checks such as row_count: or columns: (allowed: {', '.join(TABLE_KEYS)})",
        )
    return checks


def _table_key_hint(key: str) -> str | None:
    if key in COLUMN_CHECKS:
        return f"{key} is a column check: put it under columns:, e.g. columns: {{COLUMN: [{key}]}}"
    return None


def _row_count(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    params, options = _split_options(where, value, path, "row_count", ("min", "max"))
    bounds = _bounds(where, params, path, "row_count", _count)
    return [_build(where, table, "row_count", path, params=bounds, options=options)]


def _freshness(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    params, options = _split_options(
        where, value, path, "freshness", ("column", "max_age"), ("column", "max_age")
    )
    column = _text(where, params["column"], (*path, "column"), "freshness.column")
    max_age = _duration(where, params["max_age"], (*path, "max_age"))
    return [
        _build(
            where,
            table,
            "freshness",
            path,
            params={"column": column, "max_age_s": max_age},
            options=options,
        )
    ]


def _schema(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    params, options = _split_options(where, value, path, "schema", ("columns",), ("columns",))
    columns_path = (*path, "columns")
    declared = params["columns"]
    if isinstance(declared, list):
        names = [
            _text(where, name, (*columns_path, i), "a column") for i, name in enumerate(declared)
        ]
        declared = dict.fromkeys(names)
    if not isinstance(declared, dict) or not declared:
        where.fail(
            "schema.columns must be a mapping of column name to type (or null for any type)",
            columns_path,
            hint="e.g. columns: {order_id: int64, note: null}",
        )
    types = {
        name: _logical_type(where, kind, (*columns_path, name)) for name, kind in declared.items()
    }
    return [_build(where, table, "schema", path, params={"columns": types}, options=options)]


def _logical_type(where: _Where, value: Any, path: ConfigPath) -> str | None:
    if value is None:
        return None
    try:
        return str(LogicalType.parse(value))
    except ValueError as exc:
        where.fail(f"schema: {exc}", path)


def _table_anomaly(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    value = {} if value is None else value  # `anomaly:` alone: row_count with defaults
    params, options = _split_options(where, value, path, "anomaly", ("metric", *_ANOMALY_DEFAULTS))
    params.setdefault("metric", "row_count")
    anomaly = _anomaly_params(where, params, path, TABLE_ANOMALY_METRICS)
    return [_build(where, table, "anomaly", path, params=anomaly, options=options)]


def _unique(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    if isinstance(value, str) or (
        isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    ):
        # `unique: [a, b]` is one key of two columns; `[[a], [b, c]]` is two keys.
        return [_unique_key(where, table, value, path)]
    if isinstance(value, list) and any(isinstance(key, str) for key in value):
        where.fail(
            "unique mixes column names and column lists",
            path,
            hint="write [a, b] for one key of two columns or [[a], [b]] for two keys",
        )
    if not isinstance(value, list) or not value:
        where.fail(
            "unique must be a list of column lists",
            path,
            hint="e.g. unique: [[order_id], [customer_id, ordered_at]]",
        )
    return [_unique_key(where, table, key, (*path, i)) for i, key in enumerate(value)]


def _unique_key(where: _Where, table: str, value: Any, path: ConfigPath) -> CheckDef:
    options: dict[str, Any] = {}
    columns_path = path
    if isinstance(value, dict):
        value, options = _split_options(where, value, path, "unique", ("columns",), ("columns",))
        columns_path = (*path, "columns")
        value = value["columns"]
    columns = _column_list(where, value, columns_path, "a unique key")
    return _build(where, table, "unique", path, columns=columns, options=options)


def _column_list(where: _Where, value: Any, path: ConfigPath, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        where.fail(f"{what} must be a list of column names, e.g. [order_id]", path)
    columns = tuple(_text(where, item, (*path, i), "a column") for i, item in enumerate(value))
    repeated = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
    if repeated is not None:
        where.fail(f"{what} names column {repeated!r} twice", path)
    return columns


def _custom_sql(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    checks = []
    for i, item in enumerate(_list_of_mappings(where, value, path, "sql", "name, bad_rows")):
        item_path = (*path, i)
        params, options = _split_options(
            where, item, item_path, "sql", ("bad_rows",), ("name", "bad_rows")
        )
        name = _text(where, options["name"], (*item_path, "name"), "name")
        sql = _text(where, params["bad_rows"], (*item_path, "bad_rows"), "bad_rows")
        _check_select(where, name, sql, (*item_path, "bad_rows"))
        checks.append(
            _build(where, table, "sql", item_path, params={"bad_rows": sql}, options=options)
        )
    return checks


def _metrics(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    checks = []
    for i, item in enumerate(_list_of_mappings(where, value, path, "metrics", "name, expression")):
        item_path = (*path, i)
        params, options = _split_options(
            where, item, item_path, "metric", ("expression",), ("name", "expression")
        )
        _text(where, options["name"], (*item_path, "name"), "name")
        expression = _text(where, params["expression"], (*item_path, "expression"), "expression")
        _check_expression(where, expression, (*item_path, "expression"))
        checks.append(
            _build(
                where,
                table,
                "metric",
                item_path,
                params={"expression": expression},
                options=options,
            )
        )
    return checks


def _list_of_mappings(
    where: _Where, value: Any, path: ConfigPath, key: str, fields: str
) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        where.fail(f"{key} must be a list of mappings with {fields}", path)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            where.fail(f"each {key} item must be a mapping with {fields}", (*path, i))
    return value


# --------------------------------------------------------------------------- column checks


def _columns(where: _Where, table: str, value: Any, path: ConfigPath) -> list[CheckDef]:
    if not isinstance(value, dict) or not value:
        where.fail(
            "columns must be a mapping of column name to a list of checks",
            path,
            hint="e.g. columns: {order_id: [not_null]}",
        )
    checks: list[CheckDef] = []
    for column, items in value.items():
        column_path = (*path, column)
        if not column.strip():
            where.fail("a column name is empty", column_path)
        if isinstance(items, str | dict):
            checks.append(_column_item(where, table, column, items, column_path))
            continue
        if not isinstance(items, list) or not items:
            where.fail(
                f"column {column!r} must have a list of checks", column_path, hint="e.g. [not_null]"
            )
        for i, item in enumerate(items):
            checks.append(_column_item(where, table, column, item, (*column_path, i)))
    return checks


def _column_item(where: _Where, table: str, column: str, item: Any, path: ConfigPath) -> CheckDef:
    if isinstance(item, str):
        kind, value, value_path, options = item.strip(), None, path, {}
        _known_column_check(where, kind, path)
    elif isinstance(item, dict):
        kind = _item_check(where, item, path)
        value, value_path = item[kind], (*path, kind)
        options = {key: item[key] for key in ITEM_OPTIONS if key in item}
    else:
        where.fail(
            f"a column check must be a name or a mapping, not {_kind_of(item)}",
            path,
            hint="e.g. not_null or {range: {min: 0}}",
        )
    params = _COLUMN_PARAMS[kind](where, value, value_path, kind)
    return _build(where, table, kind, path, column=column, params=params, options=options)


def _item_check(where: _Where, item: dict[str, Any], path: ConfigPath) -> str:
    """The one check key of a column item such as ``{range: {min: 0}, fail_if: ...}``."""
    names = [key for key in item if key not in ITEM_OPTIONS]
    for name in names:
        _known_column_check(where, name, (*path, name))
    if not names:
        where.fail(
            "this item has options but no check",
            path,
            hint=f"add one of: {', '.join(COLUMN_CHECKS)}",
        )
    if len(names) > 1:
        where.fail(
            f"one check per item, found {' and '.join(names)}",
            (*path, names[1]),
            hint="write each check as its own list item",
        )
    return names[0]


def _known_column_check(where: _Where, name: str, path: ConfigPath) -> None:
    if name in COLUMN_CHECKS:
        return
    if name in _TABLE_SECTIONS and name != "columns":
        hint = f"{name} is a table check: write it next to table:, not under columns:"
    else:
        hint = _choices_hint(name, COLUMN_CHECKS)
    where.fail(f"unknown column check {name!r}", path, hint=hint)


def _not_null(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    if value not in (None, {}):
        where.fail("not_null takes no parameters", path, hint="write just not_null")
    return {}


def _accepted_values(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    if isinstance(value, dict):
        value = _mapping(where, value, path, kind, ("values",), ("values",))["values"]
        path = (*path, "values")
    if not isinstance(value, list) or not value:
        where.fail(
            "accepted_values needs a list of values",
            path,
            hint="e.g. {accepted_values: [placed, shipped]}",
        )
    for i, item in enumerate(value):
        if isinstance(item, list | dict) or item is None:
            where.fail(
                "accepted_values: each value must be text, a number or a date, "
                f"not {_kind_of(item)}",
                (*path, i),
            )
    return {"values": list(value)}


def _range(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    params = _mapping(where, value, path, kind, ("min", "max"))
    return _bounds(where, params, path, kind, _comparable)


def _regex(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    if isinstance(value, dict):
        value = _mapping(where, value, path, kind, ("pattern",), ("pattern",))["pattern"]
        path = (*path, "pattern")
    if not isinstance(value, str) or not value:
        where.fail("regex needs a pattern", path, hint="e.g. {regex: '^[A-Z]{2}$'} (quote it)")
    try:
        re.compile(value)
    except re.error as exc:
        where.fail(f"invalid regex {value!r}: {exc}", path)
    return {"pattern": value}


def _length(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        exact = _count(where, value, path, "length")
        return {"min": exact, "max": exact}
    params = _mapping(where, value, path, kind, ("min", "max"))
    return _bounds(where, params, path, kind, _count)


def _relationships(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    params = _mapping(where, value, path, kind, ("table", "column"), ("table", "column"))
    return {key: _text(where, params[key], (*path, key), f"{kind}.{key}") for key in params}


def _completeness(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    params = _mapping(where, value, path, kind, ("min_pct",), ("min_pct",))
    min_pct = _number(where, params["min_pct"], (*path, "min_pct"), "completeness.min_pct")
    if not 0 <= min_pct <= 100:
        where.fail(f"completeness.min_pct must be between 0 and 100, not {min_pct}", path)
    return {"min_pct": float(min_pct)}


def _column_anomaly(where: _Where, value: Any, path: ConfigPath, kind: str) -> dict[str, Any]:
    params = _mapping(where, value, path, kind, ("metric", *_ANOMALY_DEFAULTS), ("metric",))
    return _anomaly_params(where, params, path, COLUMN_ANOMALY_METRICS)


def _anomaly_params(
    where: _Where, params: dict[str, Any], path: ConfigPath, metrics: Sequence[str]
) -> dict[str, Any]:
    metric = params["metric"]
    if metric not in metrics:
        hint = f"allowed here: {', '.join(metrics)}"
        if metric in COLUMN_ANOMALY_METRICS:
            hint = f"{metric} is per column: write {{anomaly: {{metric: {metric}}}}} under columns:"
        elif metric in TABLE_ANOMALY_METRICS:
            hint = "row_count is per table: write anomaly: {metric: row_count} next to table:"
        where.fail(f"unknown anomaly metric {metric!r}", (*path, "metric"), hint=hint)
    sensitivity = params.get("sensitivity", _ANOMALY_DEFAULTS["sensitivity"])
    sensitivity = _number(where, sensitivity, (*path, "sensitivity"), "anomaly.sensitivity")
    if sensitivity <= 0:
        where.fail("anomaly.sensitivity must be above zero", (*path, "sensitivity"))
    window = params.get("window", _ANOMALY_DEFAULTS["window"])
    window = _count(where, window, (*path, "window"), "anomaly.window")
    min_history = params.get("min_history", _ANOMALY_DEFAULTS["min_history"])
    min_history = _count(where, min_history, (*path, "min_history"), "anomaly.min_history")
    if window < 2 or not 1 <= min_history <= window:
        where.fail(
            f"anomaly needs window >= 2 and 1 <= min_history <= window "
            f"(got window {window}, min_history {min_history})",
            path,
        )
    return {
        "metric": metric,
        "sensitivity": float(sensitivity),
        "window": window,
        "min_history": min_history,
    }


_ParamParser = Callable[[_Where, Any, ConfigPath, str], dict[str, Any]]
_COLUMN_PARAMS: dict[str, _ParamParser] = {
    "not_null": _not_null,
    "accepted_values": _accepted_values,
    "range": _range,
    "regex": _regex,
    "length": _length,
    "relationships": _relationships,
    "completeness": _completeness,
    "anomaly": _column_anomaly,
}
_SectionParser = Callable[[_Where, str, Any, ConfigPath], list[CheckDef]]
_TABLE_SECTIONS: dict[str, _SectionParser] = {
    "row_count": _row_count,
    "freshness": _freshness,
    "unique": _unique,
    "columns": _columns,
    "sql": _custom_sql,
    "schema": _schema,
    "anomaly": _table_anomaly,
    "metrics": _metrics,
}


# --------------------------------------------------------------------------- building


def _build(
    where: _Where,
    table: str,
    kind: str,
    path: ConfigPath,
    *,
    column: str | None = None,
    columns: tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
    options: Mapping[str, Any],
) -> CheckDef:
    """One CheckDef with thresholds, severity and name taken from ``options``."""
    params = params or {}
    fail_if, warn_if = _thresholds(where, kind, options, path)
    name = _default_name(kind, column, columns, params)
    if "name" in options:
        name = _text(where, options["name"], (*path, "name"), "name")
    severity = _severity(where, options.get("severity", "blocking"), (*path, "severity"))
    return CheckDef(
        table=table,
        kind=kind,
        name=name,
        column=column,
        columns=columns,
        params=params,
        fail_if=fail_if,
        warn_if=warn_if,
        severity=severity,
        file=where.file,
        line=where.line(path),
    )


def _default_name(
    kind: str, column: str | None, columns: tuple[str, ...], params: dict[str, Any]
) -> str:
    if kind == "unique":
        return f"unique({', '.join(columns)})"
    if kind == "freshness":
        return f"freshness({params['column']})"
    if kind == "anomaly":
        metric = params["metric"]
        return f"anomaly({metric}:{column})" if column else f"anomaly({metric})"
    return f"{kind}({column})" if column else kind


def _thresholds(
    where: _Where, kind: str, options: Mapping[str, Any], path: ConfigPath
) -> tuple[Threshold | None, Threshold | None]:
    given = {key: options[key] for key in ("fail_if", "warn_if") if key in options}
    if kind in SELF_JUDGED:
        if given:
            where.fail(
                f"threshold on a check that has none: {kind} judges itself "
                f"({_OWN_CRITERION[kind]})",
                (*path, next(iter(given))),
                hint="remove fail_if/warn_if; use severity: non_blocking to only warn",
            )
        return None, None
    parsed = {key: _threshold(where, kind, text, (*path, key)) for key, text in given.items()}
    if kind == "metric":
        if not parsed:
            where.fail(
                "a metric needs fail_if or warn_if on value",
                path,
                hint="e.g. fail_if: value > 100",
            )
        return parsed.get("fail_if"), parsed.get("warn_if")
    if "fail_if" in parsed:
        return parsed["fail_if"], parsed.get("warn_if")
    # Only warn_if given: the check can warn but never fail.
    return (None if parsed else DEFAULT_FAIL), parsed.get("warn_if")


def _threshold(where: _Where, kind: str, text: Any, path: ConfigPath) -> Threshold:
    if not isinstance(text, str):
        where.fail(f"a threshold must be text like 'invalid_pct > 1', not {_kind_of(text)}", path)
    try:
        threshold = Threshold.parse(text)
    except ValueError as exc:
        where.fail(str(exc), path)
    if kind == "metric" and threshold.metric != "value":
        where.fail(
            f"a metric is judged on value, not {threshold.metric}",
            path,
            hint="e.g. fail_if: value > 100",
        )
    if kind in COUNTING and threshold.metric == "value":
        where.fail(
            f"{kind} counts invalid rows: judge it on invalid_count or invalid_pct, not value",
            path,
            hint="e.g. fail_if: invalid_pct > 1",
        )
    return threshold


def _severity(where: _Where, value: Any, path: ConfigPath) -> Severity:
    for severity in SEVERITIES:
        if value == severity:
            return severity
    shown = repr(value) if isinstance(value, str) else _kind_of(value)
    where.fail(f"unknown severity {shown}", path, hint=_choices_hint(str(value), SEVERITIES))


def _check_unique_names(checks: Sequence[CheckDef]) -> None:
    seen: dict[tuple[str, str], CheckDef] = {}
    for check in checks:
        first = seen.setdefault((check.table, check.name), check)
        if first is check:
            continue
        both = (
            f"lines {first.line} and {check.line}"
            if first.file == check.file
            else f"{first.where} and {check.where}"
        )
        raise ConfigError(
            f"two checks named {check.name!r} on table {check.table}: {both}",
            file=check.file,
            line=check.line,
            hint="give one of them another name with name:",
        )


# --------------------------------------------------------------------------- SQL


def _check_select(where: _Where, name: str, sql: str, path: ConfigPath) -> None:
    """A custom SQL check must be exactly one query (its rows are the bad rows)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except SqlglotError as exc:
        where.fail(f"custom SQL {name!r} does not parse: {_first_line(exc)}", path)
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        where.fail(
            f"custom SQL {name!r} must be one SELECT",
            path,
            hint="write a single query that returns the bad rows",
        )


def _check_expression(where: _Where, expression: str, path: ConfigPath) -> None:
    """A metric must be one SQL expression, such as ``avg(amount)``, and nothing more."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    hint = "write one SQL expression, e.g. avg(amount)"
    try:
        sqlglot.parse_one(expression, read="duckdb")
    except SqlglotError as exc:
        where.fail(f"metric expression does not parse: {_first_line(exc)}", path, hint=hint)
    if not _one_projection(expression):
        where.fail(f"metric expression {expression!r} is not one SQL expression", path, hint=hint)


def _one_projection(expression: str) -> bool:
    """Whether ``SELECT expression`` is a bare SELECT of exactly one unaliased item."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    # The runner places the expression in a SELECT list; it must stay one item there.
    try:
        wrapped = [s for s in sqlglot.parse(f"SELECT {expression}", read="duckdb") if s]
    except SqlglotError:
        return False
    select = wrapped[0] if len(wrapped) == 1 else None
    return (
        isinstance(select, exp.Select)
        and len(select.expressions) == 1
        and not any(value for key, value in select.args.items() if key != "expressions")
        and not isinstance(select.expressions[0], exp.Alias)
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- values


def _split_options(
    where: _Where,
    value: Any,
    path: ConfigPath,
    kind: str,
    keys: Sequence[str],
    required: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A table-level check mapping split into its parameters and its options."""
    mapping = _mapping(where, value, path, kind, (*keys, *ITEM_OPTIONS), required)
    params = {key: item for key, item in mapping.items() if key not in ITEM_OPTIONS}
    options = {key: item for key, item in mapping.items() if key in ITEM_OPTIONS}
    return params, options


def _mapping(
    where: _Where,
    value: Any,
    path: ConfigPath,
    what: str,
    allowed: Sequence[str],
    required: Sequence[str] = (),
) -> dict[str, Any]:
    """``value`` as a mapping with only ``allowed`` keys and all ``required`` ones."""
    if not isinstance(value, dict):
        example = ", ".join(f"{key}: ..." for key in (required or allowed[:2]))
        problem = "parameters" if value is None else f"a mapping, not {_kind_of(value)}"
        where.fail(
            f"{what} needs {problem}",
            path,
            hint=f"e.g. {what}: {{{example}}}",
        )
    _known_keys(where, value, path, allowed, what)
    missing = [key for key in required if key not in value]
    if missing:
        where.fail(f"{what} needs {' and '.join(missing)}", path)
    return value


def _known_keys(
    where: _Where,
    value: dict[str, Any],
    path: ConfigPath,
    allowed: Sequence[str],
    what: str,
    hint_for: Callable[[str], str | None] = lambda key: None,
) -> None:
    for key in value:
        if key not in allowed:
            hint = hint_for(key) or _choices_hint(key, allowed)
            where.fail(f"unknown key {key!r} in {what}", (*path, key), hint=hint)


def _bounds(
    where: _Where,
    params: dict[str, Any],
    path: ConfigPath,
    what: str,
    convert: Callable[[_Where, Any, ConfigPath, str], Any],
) -> dict[str, Any]:
    """``{min, max}`` with at least one given and min <= max."""
    low, high = (
        None
        if params.get(key) is None
        else convert(where, params[key], (*path, key), f"{what}.{key}")
        for key in ("min", "max")
    )
    if low is None and high is None:
        where.fail(f"{what} needs min, max or both", path, hint=f"e.g. {what}: {{min: 1}}")
    if low is not None and high is not None:
        if type(low) is not type(high) and not _both_numbers(low, high):
            where.fail(f"{what}: min and max must be of the same kind", path)
        if low > high:
            where.fail(f"{what}: min ({low}) is above max ({high})", path)
    return {"min": low, "max": high}


def _both_numbers(low: Any, high: Any) -> bool:
    return isinstance(low, int | float) and isinstance(high, int | float)


def _number(where: _Where, value: Any, path: ConfigPath, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        where.fail(f"{what} must be a number, not {_kind_of(value)}", path)
    if not math.isfinite(value):
        where.fail(f"{what} must be a finite number, not {value}", path)
    return value


def _count(where: _Where, value: Any, path: ConfigPath, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        shown = repr(value) if isinstance(value, int | float) else _kind_of(value)
        where.fail(f"{what} must be a whole number of 0 or more, not {shown}", path)
    return value


def _comparable(where: _Where, value: Any, path: ConfigPath, what: str) -> Any:
    """A range bound: a number, or a date/timestamp for date columns."""
    if isinstance(value, date):
        return value
    return _number(where, value, path, what)


def _text(where: _Where, value: Any, path: ConfigPath, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = "empty" if isinstance(value, str) else f"{_kind_of(value)}"
        where.fail(f"{what} must be non-empty text, not {shown}", path)
    return value.strip()


def _duration(where: _Where, value: Any, path: ConfigPath) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        where.fail(f"freshness.max_age must be a duration like 1d, not {_kind_of(value)}", path)
    try:
        seconds = parse_duration(str(value))
    except ValueError as exc:
        where.fail(f"freshness.max_age: {exc}", path)
    if seconds <= 0:
        where.fail("freshness.max_age must be above zero", path)
    return seconds


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"a {type(value).__name__}"


def _choices_hint(name: str, choices: Sequence[str], label: str = "allowed") -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    listed = f"{label}: {', '.join(choices)}" if choices else "no checks are declared"
    return f"did you mean {close[0]!r}? {listed}" if close else listed


__all__ = [
    "COLUMN_CHECKS",
    "TABLE_KEYS",
    "check_files",
    "load_check_file",
    "load_project_checks",
    "parse_checks",
    "select_tables",
]
