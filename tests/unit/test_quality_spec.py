"""headrace.quality.spec: check declarations parsed into CheckDefs, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.config.yamltree import parse_yaml
from headrace.errors import ConfigError, UsageError
from headrace.quality.model import DEFAULT_FAIL, CheckDef, Threshold
from headrace.quality.spec import (
    load_check_file,
    load_project_checks,
    parse_checks,
    select_tables,
)

EXAMPLE = """\
checks:
  - table: main.orders
    row_count: {min: 1}
    freshness: {column: ordered_at, max_age: 1d}
    unique: [[order_id]]
    columns:
      order_id: [not_null]
      customer_id: [not_null, {relationships: {table: main.customers, column: customer_id}}]
      status: [{accepted_values: [placed, shipped, delivered, returned]}]
      amount: [{range: {min: 0, max: 100000}, fail_if: invalid_pct > 1}]
      email: [{regex: '^[^@]+@[^@]+$', warn_if: invalid_pct > 0}]
      note: [{completeness: {min_pct: 95}}]
    sql:
      - name: shipped_after_ordered
        bad_rows: "select * from main.orders where shipped_at < ordered_at"
"""


def parse(text: str, file: str = "headrace.yml") -> list[CheckDef]:
    """Parse a headrace.yml-style document's ``checks:`` list."""
    document = parse_yaml(text, file=file)
    return parse_checks(
        document.value["checks"], file=file, lines=document.lines, base_path=("checks",)
    )


def entry(body: str) -> str:
    """A one-table document; ``body`` is indented under ``- table: t``."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return f"checks:\n  - table: t\n{indented}"


def by_name(checks: list[CheckDef]) -> dict[str, CheckDef]:
    return {check.name: check for check in checks}


def config_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value


# --------------------------------------------------------------------------- the example


def test_example_kinds_names_and_lines() -> None:
    checks = parse(EXAMPLE)
    assert [(c.kind, c.name, c.line) for c in checks] == [
        ("row_count", "row_count", 3),
        ("freshness", "freshness(ordered_at)", 4),
        ("unique", "unique(order_id)", 5),
        ("not_null", "not_null(order_id)", 7),
        ("not_null", "not_null(customer_id)", 8),
        ("relationships", "relationships(customer_id)", 8),
        ("accepted_values", "accepted_values(status)", 9),
        ("range", "range(amount)", 10),
        ("regex", "regex(email)", 11),
        ("completeness", "completeness(note)", 12),
        ("sql", "shipped_after_ordered", 14),
    ]
    assert {c.table for c in checks} == {"main.orders"}
    assert {c.file for c in checks} == {"headrace.yml"}
    assert {c.severity for c in checks} == {"blocking"}


def test_example_params_columns_and_thresholds() -> None:
    checks = by_name(parse(EXAMPLE))
    assert checks["row_count"].params == {"min": 1, "max": None}
    assert checks["freshness(ordered_at)"].params == {"column": "ordered_at", "max_age_s": 86400}
    assert checks["unique(order_id)"].columns == ("order_id",)
    assert checks["unique(order_id)"].column is None
    assert checks["not_null(order_id)"].column == "order_id"
    assert checks["relationships(customer_id)"].params == {
        "table": "main.customers",
        "column": "customer_id",
    }
    assert checks["accepted_values(status)"].params == {
        "values": ["placed", "shipped", "delivered", "returned"]
    }
    assert checks["range(amount)"].params == {"min": 0, "max": 100000}
    assert checks["regex(email)"].params == {"pattern": "^[^@]+@[^@]+$"}
    assert checks["completeness(note)"].params == {"min_pct": 95.0}
    assert checks["shipped_after_ordered"].params == {
        "bad_rows": "select * from main.orders where shipped_at < ordered_at"
    }
    # Counting kinds fail on any bad row by default; self-judged kinds have no thresholds.
    assert checks["not_null(order_id)"].fail_if == DEFAULT_FAIL
    assert checks["range(amount)"].fail_if == Threshold("invalid_pct", ">", 1)
    assert checks["regex(email)"].fail_if is None
    assert checks["regex(email)"].warn_if == Threshold("invalid_pct", ">", 0)
    for name in ("row_count", "freshness(ordered_at)", "completeness(note)"):
        assert (checks[name].fail_if, checks[name].warn_if) == (None, None)
    assert checks["range(amount)"].where == "headrace.yml:10"


# --------------------------------------------------------------------------- other forms


def test_unique_forms() -> None:
    checks = parse(
        entry(
            "unique:\n"
            "  - [a]\n"
            "  - [b, c]\n"
            "  - {columns: [d], warn_if: invalid_pct > 5, severity: non_blocking, name: d_key}\n"
        )
    )
    assert [(c.name, c.columns, c.line) for c in checks] == [
        ("unique(a)", ("a",), 4),
        ("unique(b, c)", ("b", "c"), 5),
        ("d_key", ("d",), 6),
    ]
    assert checks[2].fail_if is None
    assert checks[2].warn_if == Threshold("invalid_pct", ">", 5)
    assert checks[2].severity == "non_blocking"
    flat = parse(entry("unique: [order_id, line_no]"))
    assert [(c.name, c.columns) for c in flat] == [
        ("unique(order_id, line_no)", ("order_id", "line_no"))
    ]


def test_column_forms_and_options() -> None:
    checks = by_name(
        parse(
            entry(
                "columns:\n"
                "  code:\n"
                "    - {length: 2}\n"
                "    - {length: {min: 1}, name: code_len, severity: non_blocking}\n"
                "    - accepted_values: {values: [1, 2]}\n"
                "      fail_if: invalid_count >= 3\n"
                "      warn_if: invalid_count > 0\n"
                "    - {regex: {pattern: '^[A-Z]+$'}}\n"
                "    - {anomaly: {metric: null_pct}}\n"
                "  ts: not_null\n"
                "  day: [{range: {min: 2020-01-01}}]\n"
            )
        )
    )
    assert checks["length(code)"].params == {"min": 2, "max": 2}
    assert checks["code_len"].params == {"min": 1, "max": None}
    assert checks["code_len"].severity == "non_blocking"
    values = checks["accepted_values(code)"]
    assert values.params == {"values": [1, 2]}
    assert values.fail_if == Threshold("invalid_count", ">=", 3)
    assert values.warn_if == Threshold("invalid_count", ">", 0)
    assert values.line == 7
    assert checks["regex(code)"].params == {"pattern": "^[A-Z]+$"}
    anomaly = checks["anomaly(null_pct:code)"]
    assert anomaly.params == {
        "metric": "null_pct",
        "sensitivity": 3.0,
        "window": 14,
        "min_history": 5,
    }
    assert (anomaly.fail_if, anomaly.warn_if) == (None, None)
    assert checks["not_null(ts)"].line == 12
    assert str(checks["range(day)"].params["min"]) == "2020-01-01"


def test_table_level_schema_anomaly_and_metrics() -> None:
    checks = by_name(
        parse(
            entry(
                "schema: {columns: {id: BIGINT, amount: 'decimal(10,2)', note: null}}\n"
                "anomaly: {sensitivity: 2.5, window: 7, min_history: 3, severity: non_blocking}\n"
                "row_count: {max: 10, name: small}\n"
                "metrics:\n"
                "  - name: avg_amount\n"
                "    expression: avg(amount)\n"
                "    fail_if: value > 100\n"
                "    warn_if: value >= 50\n"
            )
        )
    )
    assert checks["schema"].params == {
        "columns": {"id": "int64", "amount": "decimal(10,2)", "note": None}
    }
    anomaly = checks["anomaly(row_count)"]
    assert anomaly.params == {
        "metric": "row_count",
        "sensitivity": 2.5,
        "window": 7,
        "min_history": 3,
    }
    assert anomaly.severity == "non_blocking"
    assert checks["small"].params == {"min": None, "max": 10}
    metric = checks["avg_amount"]
    assert (metric.kind, metric.column, metric.line) == ("metric", None, 7)
    assert metric.params == {"expression": "avg(amount)"}
    assert metric.fail_if == Threshold("value", ">", 100)
    assert metric.warn_if == Threshold("value", ">=", 50)


def test_empty_checks_list() -> None:
    assert parse("checks:\n") == []
    assert parse("checks: []\n") == []


# --------------------------------------------------------------------------- errors

ERRORS = [
    pytest.param(
        entry("row_count: {min: null}"),
        3,
        "row_count needs min, max or both",
        "",
        id="row-count-null-bounds",
    ),
    pytest.param(entry("anomaly: {sensitivity: .nan}"), 3, "must be a finite number", "", id="nan"),
    pytest.param(
        entry("colums: {a: [not_null]}"),
        3,
        "unknown key 'colums'",
        "did you mean 'columns'?",
        id="unknown-table-key",
    ),
    pytest.param(
        entry("not_null: [a]"), 3, "unknown key 'not_null'", "column check", id="column-at-table"
    ),
    pytest.param(
        "checks:\n  - row_count: {min: 1}\n", 2, "has no table:", "table:", id="missing-table"
    ),
    pytest.param("checks:\n  - table: t\n", 2, "declares no checks", "", id="no-checks"),
    pytest.param("checks: {table: t}\n", 1, "must be a list", "", id="not-a-list"),
    pytest.param(
        entry("columns:\n  a: [not_nul]"),
        4,
        "unknown column check 'not_nul'",
        "did you mean 'not_null'?",
        id="unknown-check",
    ),
    pytest.param(
        entry("columns:\n  a:\n    - not_null\n    - {uniqe: {}}"),
        6,
        "unknown column check 'uniqe'",
        "allowed: not_null",
        id="unknown-check-mapping",
    ),
    pytest.param(
        entry("columns:\n  a: [{row_count: {min: 1}}]"),
        4,
        "unknown column check 'row_count'",
        "table check",
        id="table-check-under-columns",
    ),
    pytest.param(
        entry("columns:\n  a: [{range: {min: 1}, regex: x}]"),
        4,
        "one check per item",
        "",
        id="two-checks-in-item",
    ),
    pytest.param(
        entry("columns:\n  a: [{fail_if: invalid_count > 0}]"),
        4,
        "no check",
        "",
        id="options-without-check",
    ),
    pytest.param(
        entry("columns:\n  a:\n    - regex: '[a-'"),
        5,
        "invalid regex '[a-'",
        "",
        id="invalid-regex",
    ),
    pytest.param(
        entry("columns:\n  a: [{range: {min: abc}}]"),
        4,
        "range.min must be a number",
        "",
        id="range-type",
    ),
    pytest.param(
        entry("columns:\n  a: [{range: {}}]"),
        4,
        "range needs min, max or both",
        "",
        id="range-empty",
    ),
    pytest.param(
        entry("columns:\n  a: [{range: {min: 5, max: 1}}]"),
        4,
        "min (5) is above max (1)",
        "",
        id="range-order",
    ),
    pytest.param(entry("columns:\n  a: [range]"), 4, "range needs parameters", "", id="bare-range"),
    pytest.param(
        entry("columns:\n  a: [{length: -1}]"),
        4,
        "length must be a whole number",
        "",
        id="length-negative",
    ),
    pytest.param(
        entry("columns:\n  a: [{accepted_values: placed}]"),
        4,
        "accepted_values needs a list of values",
        "",
        id="accepted-values-type",
    ),
    pytest.param(
        entry("columns:\n  a: [{relationships: {table: c}}]"),
        4,
        "relationships needs column",
        "",
        id="relationships-missing",
    ),
    pytest.param(
        entry("columns:\n  a: [{completeness: {min_pct: 120}}]"),
        4,
        "between 0 and 100",
        "",
        id="completeness-range",
    ),
    pytest.param(
        entry("columns:\n  a: [{anomaly: {metric: row_count}}]"),
        4,
        "unknown anomaly metric 'row_count'",
        "per table",
        id="anomaly-metric",
    ),
    pytest.param(
        entry("columns:\n  a:\n    - not_null\n    - {not_null: {}, severity: blockin}"),
        6,
        "unknown severity 'blockin'",
        "did you mean 'blocking'?",
        id="bad-severity",
    ),
    pytest.param(
        entry("columns:\n  a:\n    - range: {min: 0}\n      fail_if: invalid > 1"),
        6,
        "bad threshold 'invalid > 1'",
        "",
        id="bad-threshold",
    ),
    pytest.param(
        entry("columns:\n  a:\n    - not_null:\n      fail_if: value > 1"),
        6,
        "judge it on invalid_count or invalid_pct, not value",
        "",
        id="value-on-counting",
    ),
    pytest.param(
        entry(
            "columns:\n  note:\n    - completeness: {min_pct: 95}\n      fail_if: invalid_pct > 1"
        ),
        6,
        "threshold on a check that has none: completeness judges itself (min_pct)",
        "",
        id="threshold-on-self-judged",
    ),
    pytest.param(
        entry("row_count: {min: 1, warn_if: invalid_count > 0}"),
        3,
        "threshold on a check that has none: row_count judges itself",
        "",
        id="threshold-on-row-count",
    ),
    pytest.param(
        entry("freshness: {column: ts, max_age: soon}"),
        3,
        "not a duration: 'soon'",
        "",
        id="bad-duration",
    ),
    pytest.param(
        entry("freshness: {column: ts}"), 3, "freshness needs max_age", "", id="no-max-age"
    ),
    pytest.param(
        entry("schema:\n  columns:\n    id: int64\n    name: varchar2"),
        6,
        "unknown type 'varchar2'",
        "",
        id="bad-schema-type",
    ),
    pytest.param(
        entry("unique: [[a], b]"),
        3,
        "mixes column names and column lists",
        "[[a], [b]]",
        id="unique-mixed",
    ),
    pytest.param(entry("unique: [[a, a]]"), 3, "names column 'a' twice", "", id="unique-repeat"),
    pytest.param(
        entry("sql:\n  - name: wipe\n    bad_rows: delete from t"),
        5,
        "custom SQL 'wipe' must be one SELECT",
        "",
        id="sql-not-select",
    ),
    pytest.param(
        entry("sql:\n  - name: two\n    bad_rows: select 1; select 2"),
        5,
        "custom SQL 'two' must be one SELECT",
        "",
        id="sql-two-statements",
    ),
    pytest.param(entry("sql:\n  - bad_rows: select 1"), 4, "sql needs name", "", id="sql-no-name"),
    pytest.param(
        entry("metrics:\n  - {name: m, expression: avg(x)}"),
        4,
        "a metric needs fail_if or warn_if on value",
        "",
        id="metric-no-threshold",
    ),
    pytest.param(
        entry("metrics:\n  - {name: m, expression: avg(x), fail_if: invalid_pct > 1}"),
        4,
        "a metric is judged on value, not invalid_pct",
        "",
        id="metric-invalid-pct",
    ),
    pytest.param(
        entry("metrics:\n  - {name: m, expression: 'avg(', fail_if: value > 1}"),
        4,
        "metric expression does not parse",
        "",
        id="metric-parse-error",
    ),
    pytest.param(
        entry("metrics:\n  - {name: m, expression: 'avg(x) as a', fail_if: value > 1}"),
        4,
        "is not one SQL expression",
        "",
        id="metric-not-expression",
    ),
    pytest.param(
        entry("columns:\n  a: [not_null, {not_null: {}}]"),
        4,
        "two checks named 'not_null(a)' on table t: lines 4 and 4",
        "name:",
        id="duplicate-name-same-line",
    ),
    pytest.param(
        entry("row_count: {min: 1}\ncolumns:\n  a: [{not_null: {}, name: row_count}]"),
        5,
        "two checks named 'row_count' on table t: lines 3 and 5",
        "",
        id="duplicate-name",
    ),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), ERRORS)
def test_errors_name_file_and_line(text: str, line: int, message: str, hint: str) -> None:
    error = config_error(text)
    assert (error.file, error.line) == ("headrace.yml", line), str(error)
    assert str(error).startswith(f"headrace.yml:{line}: ")
    assert message in str(error)
    assert hint in (error.hint or "")


def test_duplicate_names_across_entries_of_one_table() -> None:
    text = "checks:\n  - table: t\n    row_count: {min: 1}\n  - table: t\n    row_count: {max: 9}\n"
    error = config_error(text)
    assert (error.line, "lines 3 and 5" in str(error)) == (5, True)
    # The same name on another table is fine.
    assert (
        len(parse(text.replace("table: t\n    row_count: {max", "table: u\n    row_count: {max")))
        == 2
    )


# --------------------------------------------------------------------------- files


def test_check_file_as_list_or_mapping(tmp_path: Path) -> None:
    as_list = tmp_path / "a.yml"
    as_list.write_text("- table: t\n  columns: {a: [not_null]}\n")
    as_mapping = tmp_path / "b.yml"
    as_mapping.write_text("checks:\n  - table: t\n    columns: {a: [not_null]}\n")
    [first] = load_check_file(as_list)
    [second] = load_check_file(as_mapping)
    assert (first.name, first.file, first.line) == ("not_null(a)", str(as_list), 2)
    assert (second.name, second.file, second.line) == ("not_null(a)", str(as_mapping), 3)
    empty = tmp_path / "c.yml"
    empty.write_text("# nothing yet\n")
    assert load_check_file(empty) == []


def test_check_file_errors(tmp_path: Path) -> None:
    single = tmp_path / "single.yml"
    single.write_text("table: t\nrow_count: {min: 1}\n")
    with pytest.raises(ConfigError, match="not a single entry") as caught:
        load_check_file(single)
    assert caught.value.file == str(single)
    bad = tmp_path / "bad.yml"
    bad.write_text("checks:\n  - table: t\n    row_count: {min: -1}\n")
    with pytest.raises(ConfigError) as caught:
        load_check_file(bad)
    assert str(caught.value).startswith(f"{bad}:3: row_count.min must be a whole number")


def test_project_checks_from_config_and_folder(tmp_path: Path) -> None:
    config = tmp_path / "headrace.yml"
    config.write_text("warehouse: duckdb:///w.duckdb\nchecks:\n  - table: a\n    row_count: {}\n")
    with pytest.raises(ConfigError, match=r"headrace.yml:4: row_count needs min, max"):
        load_project_checks(config, tmp_path)
    config.write_text(
        "warehouse: duckdb:///w.duckdb\nchecks:\n  - table: a\n    row_count: {min: 1}\n"
    )
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "z.yml").write_text("- table: z\n  row_count: {min: 1}\n")
    (folder / "b.yaml").write_text("checks:\n  - table: b\n    row_count: {min: 1}\n")
    (folder / "notes.txt").write_text("not checks")
    checks = load_project_checks(config, tmp_path)
    assert [(c.table, Path(c.file or "").name, c.line) for c in checks] == [
        ("a", "headrace.yml", 4),
        ("b", "b.yaml", 3),
        ("z", "z.yml", 2),
    ]
    assert [c.table for c in load_project_checks(None, tmp_path)] == ["b", "z"]


def test_project_checks_duplicate_across_files(tmp_path: Path) -> None:
    config = tmp_path / "headrace.yml"
    config.write_text("checks:\n  - table: a\n    row_count: {min: 1}\n")
    (tmp_path / "checks").mkdir()
    other = tmp_path / "checks" / "a.yml"
    other.write_text("- table: a\n  row_count: {max: 5}\n")
    with pytest.raises(ConfigError) as caught:
        load_project_checks(config, tmp_path)
    assert str(caught.value).startswith(f"{other}:2: two checks named 'row_count'")
    assert f"{config}:3 and {other}:2" in str(caught.value)


def test_project_without_checks(tmp_path: Path) -> None:
    config = tmp_path / "headrace.yml"
    config.write_text("warehouse: duckdb:///w.duckdb\n")
    assert load_project_checks(config, tmp_path) == []


# --------------------------------------------------------------------------- select_tables


def test_select_tables() -> None:
    checks = parse(
        "checks:\n"
        "  - {table: main.orders, row_count: {min: 1}}\n"
        "  - {table: main.customers, row_count: {min: 1}}\n"
        "  - {table: raw.orders, row_count: {min: 1}}\n"
    )
    assert [c.table for c in select_tables(checks, ["main.orders"])] == ["main.orders"]
    assert [c.table for c in select_tables(checks, ["orders"])] == ["main.orders", "raw.orders"]
    assert [c.table for c in select_tables(checks, ["customers", "raw.orders"])] == [
        "main.customers",
        "raw.orders",
    ]
    assert select_tables(checks, []) == checks
    with pytest.raises(UsageError, match="no checks for table 'order'") as caught:
        select_tables(checks, ["order"])
    assert not isinstance(caught.value, ConfigError)
    with pytest.raises(UsageError, match="no checks for table 'main.order'") as caught:
        select_tables(checks, ["main.order"])
    assert "did you mean 'main.orders'?" in (caught.value.hint or "")
