"""`headrace demo`: reproducible files, loaded by its own pipelines, bad rows in quarantine,
checks run on the loaded tables."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from headrace.demo import (
    CHECKS_FILE,
    EXPECTED_FAIL,
    EXPECTED_WARN,
    PLANTED_BAD_ROWS,
    BadRow,
    DemoResult,
    generate_data,
    run_demo,
)
from headrace.demo.checks import checks_text
from headrace.demo.scaffold import config_text
from headrace.demo.tables import DEMO_TABLES, SCHEMA_DIR
from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import HeadraceError
from headrace.project import Project
from headrace.quality.spec import load_check_file
from headrace.schema import LogicalType, TableSchema, load_schema_file

TABLE_OF_FILE = {t.file: t.table for t in DEMO_TABLES}
QUARANTINE_COLUMNS = "table_name, source, line, row_offset, column_name, reason, message, raw"


# DuckDB records a CSV line with too few fields as a cast error of the shifted values *and*
# a missing-columns error, and the loader keeps min(reason) = invalid_value (see report).
@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, DemoResult]:
    """The demo run twice into the same directory, with headrace.yml edited in between."""
    directory = tmp_path_factory.mktemp("demo")
    first = run_demo(directory)
    # A user edit that would break the second run if the file were kept.
    (directory / "headrace.yml").write_text("name: edited\npipelines: {}\n", encoding="utf-8")
    return first, run_demo(directory)


@pytest.fixture(scope="module")
def demo(demo_runs: tuple[DemoResult, DemoResult]) -> DemoResult:
    """The first run."""
    return demo_runs[0]


@pytest.fixture
def warehouse(demo: DemoResult) -> Iterator[EngineAdapter]:
    """A read-only session on the demo warehouse."""
    with create_engine(demo.warehouse_url, read_only=True) as engine:
        yield engine


@pytest.fixture(scope="module")
def quarantined(demo_runs: tuple[DemoResult, DemoResult]) -> dict[str, list[dict[str, Any]]]:
    """The quarantine rows of each demo run's loads, by run id."""
    run_ids = [t.run_id for run in demo_runs for t in run.tables]
    with create_engine(demo_runs[0].warehouse_url, read_only=True) as engine:
        rows = engine.fetchall(
            f"SELECT run_id, {QUARANTINE_COLUMNS} FROM _headrace.quarantine"
            f" WHERE run_id IN ({', '.join('?' for _ in run_ids)})",
            run_ids,
        )
    keys = ["run_id", *QUARANTINE_COLUMNS.split(", ")]
    by_run: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        by_run[record.pop("run_id")].append(record)
    return by_run


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((directory / "data").iterdir())
    }


def _counts(result: DemoResult) -> list[tuple[str, int, int, int]]:
    return [(t.table, t.rows_read, t.rows_loaded, t.rows_quarantined) for t in result.tables]


def _position(row: dict[str, Any]) -> int:
    # CSV rejects carry DuckDB's line number; NDJSON rows their ordinal among non-blank
    # lines, which is the line number here: the generator writes no blank lines.
    return int(row["line"] if row["line"] is not None else row["row_offset"])


def _planted_rows(
    result: DemoResult, quarantined: dict[str, list[dict[str, Any]]]
) -> dict[tuple[str, int], dict[str, Any]]:
    """One run's quarantine rows keyed by (file name, position)."""
    found = {}
    for load in result.tables:
        for row in quarantined[load.run_id]:
            assert row["table_name"] == load.table
            key = (Path(row["source"]).name, _position(row))
            assert key not in found, key
            found[key] = row
    return found


def _comparable(rows: dict[tuple[str, int], dict[str, Any]]) -> dict[tuple[str, int], Any]:
    # The loader joins a line's reject messages in no fixed order (string_agg DISTINCT
    # without ORDER BY, see report), so messages compare as sets of parts.
    return {
        key: {**row, "message": frozenset(str(row["message"]).split("; "))}
        for key, row in rows.items()
    }


def test_every_row_read_is_loaded_or_quarantined(demo: DemoResult) -> None:
    assert [t.table for t in demo.tables] == [
        "raw.customers",
        "raw.products",
        "raw.orders",
        "raw.order_lines",
    ]
    for load in demo.tables:
        assert load.rows_read == load.rows_loaded + load.rows_quarantined, load.table
        assert load.source == demo.directory / "data" / load.source.name
    reads = {t.table: t.rows_read for t in demo.tables}
    assert reads["raw.customers"] == 5_000
    assert reads["raw.products"] == 500
    assert reads["raw.orders"] == 30_000
    assert 60_000 <= reads["raw.order_lines"] <= 70_000
    assert 95_000 <= demo.rows_read <= 105_000
    assert demo.rows_quarantined == len(PLANTED_BAD_ROWS)


def test_tables_hold_the_loaded_rows(demo: DemoResult, warehouse: EngineAdapter) -> None:
    for load in demo.tables:
        count = warehouse.fetchall(f"SELECT count(*) FROM {warehouse.quote_table(load.table)}")
        assert count[0][0] == load.rows_loaded, load.table


def test_each_load_is_a_recorded_pipeline_run(demo: DemoResult, warehouse: EngineAdapter) -> None:
    runs = {
        run_id: (pipeline, status, read, loaded, quarantined)
        for run_id, pipeline, status, read, loaded, quarantined in warehouse.fetchall(
            "SELECT run_id, pipeline, status, rows_read, rows_loaded, rows_quarantined"
            " FROM _headrace.runs"
        )
    }
    for spec, load in zip(DEMO_TABLES, demo.tables, strict=True):
        assert runs[load.run_id] == (
            spec.pipeline,
            "succeeded",
            load.rows_read,
            load.rows_loaded,
            load.rows_quarantined,
        )


def test_planted_rows_cover_the_files() -> None:
    assert 5 <= len(PLANTED_BAD_ROWS) <= 12
    assert {bad.file for bad in PLANTED_BAD_ROWS} == {
        "customers.csv",
        "orders.csv",
        "order_lines.ndjson",
    }


def test_quarantine_holds_exactly_the_planted_rows(
    demo: DemoResult, quarantined: dict[str, list[dict[str, Any]]]
) -> None:
    found = _planted_rows(demo, quarantined)
    assert set(found) == {(bad.file, bad.line) for bad in PLANTED_BAD_ROWS}


@pytest.mark.parametrize("bad", PLANTED_BAD_ROWS, ids=lambda bad: f"{bad.file}:{bad.line}")
def test_planted_row_is_quarantined_with_its_raw_text(
    bad: BadRow, demo: DemoResult, quarantined: dict[str, list[dict[str, Any]]]
) -> None:
    row = _planted_rows(demo, quarantined).get((bad.file, bad.line))
    assert row is not None, f"{bad} was not quarantined"
    path = demo.directory / "data" / bad.file
    assert Path(row["source"]) == path
    assert row["table_name"] == TABLE_OF_FILE[bad.file]
    # CSV rows have a line, NDJSON rows a row offset; never both.
    assert (row["line"] is None) == bad.file.endswith(".ndjson")
    assert (row["row_offset"] is None) == bad.file.endswith(".csv")
    assert row["raw"] == path.read_text(encoding="utf-8").splitlines()[bad.line - 1]
    assert row["message"]


@pytest.mark.parametrize(
    "bad",
    PLANTED_BAD_ROWS,
    ids=lambda bad: f"{bad.file}:{bad.line}",
)
def test_planted_row_has_its_reason_code(
    bad: BadRow, demo: DemoResult, quarantined: dict[str, list[dict[str, Any]]]
) -> None:
    row = _planted_rows(demo, quarantined)[(bad.file, bad.line)]
    assert row["reason"] == bad.code
    if bad.column is not None:
        assert row["column_name"] == bad.column


def test_negative_quantities_are_loaded_not_rejected(warehouse: EngineAdapter) -> None:
    rows = warehouse.fetchall("SELECT count(*) FROM raw.order_lines WHERE quantity < 0")
    assert rows[0][0] > 0


def test_rerun_replaces_instead_of_doubling(
    demo_runs: tuple[DemoResult, DemoResult],
    warehouse: EngineAdapter,
    quarantined: dict[str, list[dict[str, Any]]],
) -> None:
    first, second = demo_runs
    assert _counts(second) == _counts(first)
    for load in second.tables:
        count = warehouse.fetchall(f"SELECT count(*) FROM {warehouse.quote_table(load.table)}")
        assert count[0][0] == load.rows_loaded
    # Each run quarantines its own copy of the planted rows, under its own run ids.
    assert {t.run_id for t in first.tables}.isdisjoint(t.run_id for t in second.tables)
    assert _comparable(_planted_rows(second, quarantined)) == _comparable(
        _planted_rows(first, quarantined)
    )


def test_generation_is_byte_for_byte_deterministic(demo: DemoResult, tmp_path: Path) -> None:
    generated = generate_data(tmp_path, seed=7)
    assert set(generated.files) == {t.file for t in DEMO_TABLES}
    assert _digests(tmp_path) == _digests(demo.directory)


def test_project_config_is_rewritten_with_one_pipeline_per_table(
    demo_runs: tuple[DemoResult, DemoResult],
) -> None:
    directory = demo_runs[1].directory
    text = (directory / "headrace.yml").read_text(encoding="utf-8")
    assert text == config_text()  # the edit between the runs is gone
    assert text.startswith("#") and "Regenerated by `headrace demo`" in text.splitlines()[0]
    config = yaml.safe_load(text)
    assert {k: v for k, v in config.items() if k != "pipelines"} == {
        "name": "headrace-demo",
        "warehouse": "duckdb:///warehouse.duckdb",
        "connections": {"warehouse": "duckdb:///warehouse.duckdb"},
    }
    assert config["pipelines"] == {
        spec.pipeline: {
            "source": f"data/{spec.file}",
            "format": spec.format,
            "table": spec.table,
            "schema": f"{SCHEMA_DIR}/{spec.pipeline}.yml",
            "write": "replace",
            **({"depends_on": list(spec.depends_on)} if spec.depends_on else {}),
        }
        for spec in DEMO_TABLES
    }
    pipelines = Project.discover(start=directory).config.pipelines
    assert pipelines["orders"].depends_on == ["customers"]
    assert pipelines["order_lines"].depends_on == ["orders", "products"]


@pytest.mark.parametrize("spec", DEMO_TABLES, ids=lambda spec: spec.pipeline)
def test_schema_files_declare_types_and_keys(spec: Any, demo: DemoResult) -> None:
    declared = load_schema_file(demo.directory / SCHEMA_DIR / f"{spec.pipeline}.yml")
    assert declared == TableSchema.from_columns(
        [(c.name, c.type) for c in spec.columns],
        primary_key=spec.primary_key,
        not_null=spec.not_null,
    )
    expected_keys = {
        "customers": ("customer_id",),
        "products": ("product_id",),
        "orders": ("order_id",),
        "order_lines": ("order_id", "line_no"),
    }
    assert declared.primary_key == expected_keys[spec.pipeline]
    assert set(declared.primary_key) <= declared.not_null
    assert all(isinstance(t, LogicalType) for _, t in declared.columns)


def test_tables_have_the_declared_types(demo: DemoResult, warehouse: EngineAdapter) -> None:
    for spec in DEMO_TABLES:
        columns = warehouse.columns(spec.table)
        assert [c.name for c in columns] == spec.column_names
        for column, declared in zip(columns, spec.columns, strict=True):
            logical = LogicalType.from_engine_type(column.data_type, "duckdb")
            assert logical == LogicalType.parse(declared.type), (spec.table, column.name)
            assert column.nullable == (declared.name not in spec.not_null)


def test_readme_lists_the_planted_rows(demo: DemoResult) -> None:
    readme = (demo.directory / "README.md").read_text(encoding="utf-8")
    assert "_headrace.quarantine" in readme
    for bad in PLANTED_BAD_ROWS:
        assert f"| `{bad.file}` | {bad.line} | `{bad.code}` |" in readme


def test_a_broken_warehouse_is_one_error_naming_it(tmp_path: Path) -> None:
    # The run store opens the warehouse before any pipeline runs, so it fails first.
    (tmp_path / "warehouse.duckdb").write_text("not a database", encoding="utf-8")
    with pytest.raises(HeadraceError, match=r"warehouse\.duckdb.*not a valid DuckDB database"):
        run_demo(tmp_path)


def _statuses(result: DemoResult) -> dict[tuple[str, str], str]:
    return {(r.table, r.check): r.status for r in result.checks.results}


@pytest.mark.parametrize("run", [0, 1], ids=["first", "second"])
def test_checks_pass_but_one_warning_and_one_non_blocking_failure(
    run: int, demo_runs: tuple[DemoResult, DemoResult]
) -> None:
    checks = demo_runs[run].checks
    statuses = _statuses(demo_runs[run])
    assert len(statuses) == len(checks.results) >= 10  # check names are unique per table
    assert {key for key, status in statuses.items() if status == "warn"} == {EXPECTED_WARN}
    assert {key for key, status in statuses.items() if status == "fail"} == {EXPECTED_FAIL}
    assert {
        status for key, status in statuses.items() if key not in (EXPECTED_WARN, EXPECTED_FAIL)
    } == {"pass"}
    failed = next(r for r in checks.results if r.status == "fail")
    assert failed.severity == "non_blocking" and not failed.blocking_failure
    assert checks.status == "warned"  # not "failed": `headrace check` exits 0
    # Every table the demo loads is checked.
    assert {t["table"] for t in checks.tables} == {spec.table for spec in DEMO_TABLES}


def test_check_counts_match_the_data(demo: DemoResult, warehouse: EngineAdapter) -> None:
    results = {(r.table, r.check): r for r in demo.checks.results}
    negative = warehouse.fetchall("SELECT count(*) FROM raw.order_lines WHERE quantity < 1")
    assert results[EXPECTED_WARN].invalid_count == negative[0][0] > 0
    # The orphaned lines are exactly those of the orders the load quarantined.
    orphans = warehouse.fetchall(
        "SELECT count(*) FROM raw.order_lines WHERE order_id NOT IN"
        " (SELECT order_id FROM raw.orders)"
    )
    assert results[EXPECTED_FAIL].invalid_count == orphans[0][0] > 0
    planted_orders = {bad.line - 1 for bad in PLANTED_BAD_ROWS if bad.file == "orders.csv"}
    orphan_orders = warehouse.fetchall(
        "SELECT DISTINCT order_id FROM raw.order_lines WHERE order_id NOT IN"
        " (SELECT order_id FROM raw.orders)"
    )
    assert {order_id for (order_id,) in orphan_orders} <= planted_orders
    for result in (results[EXPECTED_WARN], results[EXPECTED_FAIL]):
        assert result.failing_rows_sql
        found = warehouse.fetchall(f"SELECT count(*) FROM ({result.failing_rows_sql}) AS f")
        assert found[0][0] == result.invalid_count
        assert result.sample_rows


def test_check_results_are_stored_for_the_run(
    demo_runs: tuple[DemoResult, DemoResult], warehouse: EngineAdapter
) -> None:
    for result in demo_runs:
        run = result.checks
        stored = warehouse.fetchall(
            "SELECT table_name, check_name, status, severity, invalid_count"
            " FROM _headrace.check_results WHERE run_id = ?",
            [run.run_id],
        )
        assert sorted(stored) == sorted(
            (r.table, r.check, r.status, r.severity, r.invalid_count) for r in run.results
        )
        record = warehouse.fetchall(
            "SELECT kind, status FROM _headrace.runs WHERE run_id = ?", [run.run_id]
        )
        assert record == [("check", "warned")]
    assert demo_runs[0].checks.run_id != demo_runs[1].checks.run_id


def test_check_file_is_rewritten_and_parses(demo_runs: tuple[DemoResult, DemoResult]) -> None:
    path = demo_runs[1].directory / CHECKS_FILE
    assert path.read_text(encoding="utf-8") == checks_text()
    declared = load_check_file(path)
    assert [(c.table, c.name) for c in declared] == [
        (r.table, r.check) for r in demo_runs[1].checks.results
    ]
    readme = (demo_runs[1].directory / "README.md").read_text(encoding="utf-8")
    assert CHECKS_FILE in readme and "headrace check" in readme


def test_user_check_files_do_not_change_the_demo(tmp_path: Path) -> None:
    """Only checks/demo.yml runs in the demo; another file in checks/ is left alone."""
    (tmp_path / "checks").mkdir()
    mine = tmp_path / "checks" / "mine.yml"
    mine.write_text("- table: raw.nowhere\n  row_count: {min: 1}\n", encoding="utf-8")
    result = run_demo(tmp_path)
    assert mine.read_text(encoding="utf-8").startswith("- table: raw.nowhere")
    assert {r.table for r in result.checks.results} == {spec.table for spec in DEMO_TABLES}


def test_models_are_built_on_the_loaded_tables(
    demo_runs: tuple[DemoResult, DemoResult], warehouse: EngineAdapter
) -> None:
    first, second = demo_runs
    built = {b.model: b for b in first.models}
    assert set(built) == {
        "staging.orders",
        "staging.order_lines",
        "marts.daily_category_revenue",
        "marts.customer_lifetime_value",
    }
    assert built["marts.daily_category_revenue"].action == "full"
    # The second run reloads every table (write: replace), so the incremental mart takes
    # the last three days again and replaces them instead of adding them twice.
    again = {b.model: b for b in second.models}
    assert again["marts.daily_category_revenue"].action == "delete_insert"
    expected = warehouse.fetchall(
        "SELECT CAST(o.ordered_at AS DATE), p.category, sum(l.quantity * l.unit_price)"
        " FROM raw.order_lines l JOIN raw.orders o USING (order_id)"
        " JOIN raw.products p USING (product_id) WHERE o.status <> 'returned'"
        " GROUP BY ALL ORDER BY 1, 2"
    )
    mart = warehouse.fetchall(
        "SELECT order_date, category, revenue FROM marts.daily_category_revenue ORDER BY 1, 2"
    )
    assert mart == expected and len(mart) > 100
    customers = warehouse.fetchall("SELECT count(*) FROM marts.customer_lifetime_value")
    assert customers == warehouse.fetchall("SELECT count(*) FROM raw.customers")


def test_demo_shows_the_lineage_of_a_mart_column(demo: DemoResult) -> None:
    target, lines = demo.lineage
    assert target == "marts.daily_category_revenue.revenue"
    assert lines[0].startswith("marts.daily_category_revenue.revenue")
    text = "\n".join(lines)
    assert "raw.order_lines.quantity" in text and "raw.order_lines.unit_price" in text
