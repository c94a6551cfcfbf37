"""`headrace demo`: generated files are reproducible and every row is loaded or quarantined."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from headrace.demo import (
    PLANTED_BAD_ROWS,
    QUARANTINE_TABLE,
    DemoLoadError,
    DemoResult,
    generate_data,
    load_data,
    run_demo,
)
from headrace.demo.tables import DEMO_TABLES
from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine

TABLE_OF_FILE = {t.file: t.table for t in DEMO_TABLES}


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, DemoResult]:
    """The demo run twice into the same directory."""
    directory = tmp_path_factory.mktemp("demo")
    return run_demo(directory), run_demo(directory)


@pytest.fixture
def demo(demo_runs: tuple[DemoResult, DemoResult]) -> DemoResult:
    """The first run."""
    return demo_runs[0]


@pytest.fixture
def warehouse(demo: DemoResult) -> Iterator[EngineAdapter]:
    """A read-only session on the demo warehouse."""
    with create_engine(demo.warehouse_url, read_only=True) as engine:
        yield engine


@pytest.fixture
def demo_copy(demo_runs: tuple[DemoResult, DemoResult], tmp_path: Path) -> Path:
    """A private copy of the demo project, for tests that damage it."""
    target = tmp_path / "demo"
    shutil.copytree(demo_runs[0].directory, target)
    return target


def _digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((directory / "data").iterdir())
    }


def _counts(result: DemoResult) -> list[tuple[str, int, int, int]]:
    return [(t.table, t.rows_read, t.rows_loaded, t.rows_quarantined) for t in result.tables]


def test_every_row_read_is_loaded_or_quarantined(demo: DemoResult) -> None:
    assert [t.table for t in demo.tables] == [
        "raw.customers",
        "raw.products",
        "raw.orders",
        "raw.order_lines",
    ]
    for load in demo.tables:
        assert load.rows_read == load.rows_loaded + load.rows_quarantined, load.table
    reads = {t.table: t.rows_read for t in demo.tables}
    assert reads["raw.customers"] == 5_000
    assert reads["raw.products"] == 500
    assert reads["raw.orders"] == 30_000
    assert 60_000 <= reads["raw.order_lines"] <= 70_000
    assert 95_000 <= demo.rows_read <= 105_000


def test_tables_hold_the_loaded_rows(demo: DemoResult, warehouse: EngineAdapter) -> None:
    for load in demo.tables:
        count = warehouse.fetchall(f"SELECT count(*) FROM {warehouse.quote_table(load.table)}")
        assert count[0][0] == load.rows_loaded, load.table


def test_quarantine_holds_exactly_the_planted_rows(
    demo: DemoResult, warehouse: EngineAdapter
) -> None:
    assert 5 <= len(PLANTED_BAD_ROWS) <= 12
    assert {bad.file for bad in PLANTED_BAD_ROWS} == {
        "customers.csv",
        "orders.csv",
        "order_lines.ndjson",
    }
    assert demo.rows_quarantined == len(PLANTED_BAD_ROWS)
    rows = warehouse.fetchall(
        "SELECT table_name, source_file, line, reason, raw_text"
        f" FROM {warehouse.quote_table(QUARANTINE_TABLE)}"
    )
    found = {(table, line): (source, reason, raw) for table, source, line, reason, raw in rows}
    assert len(found) == len(rows)
    assert set(found) == {(TABLE_OF_FILE[bad.file], bad.line) for bad in PLANTED_BAD_ROWS}
    for bad in PLANTED_BAD_ROWS:
        source, reason, raw = found[(TABLE_OF_FILE[bad.file], bad.line)]
        path = demo.directory / "data" / bad.file
        assert Path(source) == path
        assert raw == path.read_text(encoding="utf-8").splitlines()[bad.line - 1]
        assert reason
        if bad.column is not None:
            assert bad.column in reason, (bad, reason)


def test_negative_quantities_are_loaded_not_rejected(warehouse: EngineAdapter) -> None:
    rows = warehouse.fetchall("SELECT count(*) FROM raw.order_lines WHERE quantity < 0")
    assert rows[0][0] > 0


def test_rerun_replaces_instead_of_doubling(
    demo_runs: tuple[DemoResult, DemoResult], warehouse: EngineAdapter
) -> None:
    first, second = demo_runs
    assert _counts(second) == _counts(first)
    quarantined = warehouse.fetchall(
        f"SELECT count(*) FROM {warehouse.quote_table(QUARANTINE_TABLE)}"
    )
    assert quarantined[0][0] == len(PLANTED_BAD_ROWS)
    for load in second.tables:
        count = warehouse.fetchall(f"SELECT count(*) FROM {warehouse.quote_table(load.table)}")
        assert count[0][0] == load.rows_loaded


def test_generation_is_byte_for_byte_deterministic(demo: DemoResult, tmp_path: Path) -> None:
    generated = generate_data(tmp_path, seed=7)
    assert set(generated.files) == {t.file for t in DEMO_TABLES}
    assert _digests(tmp_path) == _digests(demo.directory)


def test_project_config(demo: DemoResult) -> None:
    config = yaml.safe_load((demo.directory / "headrace.yml").read_text(encoding="utf-8"))
    assert config == {
        "name": "headrace-demo",
        "warehouse": "duckdb:///warehouse.duckdb",
        "connections": {"warehouse": "duckdb:///warehouse.duckdb"},
    }
    readme = (demo.directory / "README.md").read_text(encoding="utf-8")
    for bad in PLANTED_BAD_ROWS:
        assert f"| `{bad.file}` | {bad.line} |" in readme


def test_every_kind_of_bad_json_line_gets_a_reason(demo_copy: Path) -> None:
    lines = [
        '{"order_id":1,"line_no":1,"product_id":2,"quantity":1,"unit_price":1.5}',
        "",
        "[1,2]",
        '{"order_id":1,"line_no":2,"product_id":2,"quantity":2.5,"unit_price":1.5}',
        '{"order_id":1,"line_no":3,"product_id":2,"quantity":null,"unit_price":1,"colour":"red"}',
        '{"order_id":1,"line_no":4,"product_id":"2","quantity":1,"unit_price":1e300}',
        '{"order_id":1,"line_no":5,"product_id":2,"quantity":null,"unit_price":3}',
    ]
    path = demo_copy / "data" / "order_lines.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with create_engine(f"duckdb:///{demo_copy / 'warehouse.duckdb'}") as engine:
        loads = {t.table: t for t in load_data(engine, demo_copy)}
        reasons = dict(
            engine.fetchall(
                f"SELECT line, reason FROM {engine.quote_table(QUARANTINE_TABLE)}"
                " WHERE table_name = 'raw.order_lines'"
            )
        )
    assert (loads["raw.order_lines"].rows_read, loads["raw.order_lines"].rows_loaded) == (7, 2)
    assert reasons[2] == "empty line"
    assert reasons[3] == "not a JSON object"
    assert "quantity: expected INTEGER, got DOUBLE" in reasons[4]
    assert "unexpected keys: colour" in reasons[5]
    assert "product_id: expected BIGINT, got VARCHAR" in reasons[6]
    assert "unit_price: expected DECIMAL(10,2)" in reasons[6]


def test_unaccounted_rows_roll_the_table_back(demo_copy: Path) -> None:
    # DuckDB skips blank CSV lines; the independent line count must notice and refuse.
    path = demo_copy / "data" / "customers.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines[:10], "\n", *lines[10:]]), encoding="utf-8")
    with create_engine(f"duckdb:///{demo_copy / 'warehouse.duckdb'}") as engine:
        before = engine.fetchall("SELECT count(*) FROM raw.customers")
        with pytest.raises(DemoLoadError, match="customers.csv"):
            load_data(engine, demo_copy)
        assert engine.fetchall("SELECT count(*) FROM raw.customers") == before
        quarantined = engine.fetchall(
            f"SELECT count(*) FROM {engine.quote_table(QUARANTINE_TABLE)}"
            " WHERE table_name = 'raw.customers'"
        )
        assert quarantined[0][0] == 3
