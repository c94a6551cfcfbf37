"""Python transforms between extract and load, into DuckDB and PostgreSQL.

The transforms live in ``tests/transforms_fixture/shop.py`` and are imported by spec from
the repository root, as a project's own modules are imported from its root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import HeadraceError
from headrace.load.model import LoadResult
from headrace.load.options import build_request
from headrace.load.runner import run_load
from headrace.transform.python import TransformError

ROOT = Path(__file__).resolve().parents[2]
SHOP = "tests.transforms_fixture.shop"
ORDERS = "id,qty,price,status\n1,2,1.5,new\n2,-1,3,new\n3,4,2,done\n"


@pytest.fixture
def target(engine_url: str) -> Iterator[EngineAdapter]:
    engine = create_engine(engine_url)
    try:
        yield engine
    finally:
        engine.close()


def load(
    engine: EngineAdapter, source: Path | str, *functions: str, **options: object
) -> LoadResult:
    request = build_request(
        source=str(source),
        table=str(options.pop("table", "sales.orders")),
        transforms=[f"{SHOP}:{f}" for f in functions],
        transform_roots=[ROOT],
        **options,  # type: ignore[arg-type]
    )
    result = run_load(engine, request)
    assert (
        result.rows_read == result.rows_loaded + result.rows_quarantined + result.rows_merged_away
    )
    return result


def table_rows(engine: EngineAdapter, sql: str) -> list[tuple[object, ...]]:
    return sorted(engine.fetchall(sql), key=repr)


def quarantined(engine: EngineAdapter, run_id: str) -> list[tuple[object, ...]]:
    ph = "%s" if engine.dialect == "postgres" else "?"
    return sorted(
        engine.fetchall(
            "SELECT source, line, row_offset, column_name, reason, message, raw"
            f" FROM _headrace.quarantine WHERE run_id = {ph}",
            [run_id],
        ),
        key=repr,
    )


def sql_source(tmp_path: Path) -> str:
    path = tmp_path / "source.duckdb"
    with create_engine(f"duckdb:///{path}") as src:
        src.execute(
            "CREATE TABLE orders AS SELECT * FROM (VALUES (1, 2, 1.5, 'new'),"
            " (2, -1, 3.0, 'new'), (3, 4, 2.0, 'done')) AS v(id, qty, price, status)"
        )
    return f"duckdb:///{path}"


def test_csv_transform_derives_columns(target: EngineAdapter, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS)
    result = load(target, tmp_path / "orders.csv", "add_total")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    assert table_rows(target, "SELECT id, status, total FROM sales.orders") == [
        (1, "NEW", 3.0),
        (2, "NEW", -3.0),
        (3, "DONE", 8.0),
    ]


def test_sql_source_transform_derives_columns(target: EngineAdapter, tmp_path: Path) -> None:
    result = load(target, sql_source(tmp_path), "add_total", "tag", source_table="orders")
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    assert table_rows(target, "SELECT id, status, total, loaded_by FROM sales.orders") == [
        (1, "NEW", 3.0, "headrace"),
        (2, "NEW", -3.0, "headrace"),
        (3, "DONE", 8.0, "headrace"),
    ]


def test_chained_transforms_run_in_order(target: EngineAdapter, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS + "4,100,2,new\n")
    # reject_big_total reads the column add_total derives, so order matters.
    result = load(target, tmp_path / "orders.csv", "add_total", "reject_big_total", "tag")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert table_rows(target, "SELECT id, loaded_by FROM sales.orders") == [
        (1, "headrace"),
        (2, "headrace"),
        (3, "headrace"),
    ]
    [row] = quarantined(target, result.run_id)
    assert row[2:6] == (4, None, "transform:reject_big_total", "total over 100")
    assert json.loads(str(row[6]))["total"] == 200.0


def test_rejected_rows_land_in_quarantine_and_counts_add_up(
    target: EngineAdapter, tmp_path: Path
) -> None:
    source = tmp_path / "orders.csv"
    # Line 5 is refused by the reader and "lots" by the type checks, before any transform
    # sees them; rows the reader accepted are numbered 1, 2, ... (row_offset).
    source.write_text(ORDERS + "4,1,1,new,extra\n5,lots,1,new\n6,-7,1,new\n")
    columns = {"id": "int64", "qty": "int64", "price": "float64", "status": "text"}
    result = load(target, source, "reject_negative", "add_total", schema={"columns": columns})
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    assert table_rows(target, "SELECT id, total FROM sales.orders") == [(1, 3.0), (3, 8.0)]
    rows = quarantined(target, result.run_id)
    by_reason = sorted((str(r[4]), r[1] or 0, r[2] or 0) for r in rows)
    assert by_reason == [
        ("invalid_value", 0, 4),
        ("too_many_fields", 5, 0),
        ("transform:reject_negative", 0, 2),
        ("transform:reject_negative", 0, 5),
    ]
    rejected = [r for r in rows if r[4] == "transform:reject_negative"]
    assert {(r[0], r[3], r[5]) for r in rejected} == {(str(source), "qty", "negative quantity")}
    assert sorted(json.loads(str(r[6]))["id"] for r in rejected) == [2, 6]


def test_sql_source_rejects_carry_row_offsets(target: EngineAdapter, tmp_path: Path) -> None:
    url = sql_source(tmp_path)
    result = load(target, url, "reject_negative", source_table="orders")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    [row] = quarantined(target, result.run_id)
    assert row[0].endswith("table orders")  # type: ignore[union-attr]
    assert row[1:5] == (None, 2, "qty", "transform:reject_negative")


def test_ndjson_rejects_carry_record_numbers(target: EngineAdapter, tmp_path: Path) -> None:
    source = tmp_path / "orders.ndjson"
    lines = [{"id": i, "qty": q, "price": 1, "status": "s"} for i, q in [(1, 1), (2, -2), (3, 3)]]
    source.write_text("\n".join(json.dumps(r) for r in lines) + "\n\n")
    result = load(target, source, "reject_negative")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert [r[2] for r in quarantined(target, result.run_id)] == [2]


def test_merge_across_files_keeps_the_last_row(target: EngineAdapter, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,qty,price,status\n1,1,1,a\n2,2,1,a\n")
    (tmp_path / "b.csv").write_text("id,qty,price,status\n1,5,1,b\n1,6,1,c\n")
    result = load(target, str(tmp_path / "*.csv"), "add_total", write="merge", key="id")
    assert (result.rows_read, result.rows_loaded, result.rows_merged_away) == (4, 2, 2)
    assert table_rows(target, "SELECT id, status, total FROM sales.orders") == [
        (1, "C", 6.0),
        (2, "A", 2.0),
    ]


def test_failing_transform_names_function_and_rows_and_rolls_back(
    target: EngineAdapter, tmp_path: Path
) -> None:
    (tmp_path / "first.csv").write_text(ORDERS)
    load(target, tmp_path / "first.csv", "add_total")
    (tmp_path / "orders.csv").write_text("id,qty,price,status\n7,1,1,x\n8,0,1,y\n")
    with pytest.raises(TransformError) as caught:
        load(target, tmp_path / "orders.csv", "add_total", "boom")
    message = str(caught.value)
    assert f"{SHOP}:boom" in message and f"{tmp_path / 'orders.csv'} rows 1-2" in message
    assert "ZeroDivisionError" in message and "\n" not in message
    assert table_rows(target, "SELECT id FROM sales.orders") == [(1,), (2,), (3,)]
    failed = target.fetchall(
        "SELECT status, rows_loaded FROM _headrace.runs WHERE status <> 'succeeded'"
    )
    assert [tuple(r) for r in failed] == [("failed", 0)]


def test_failure_in_a_later_batch_rolls_back_everything(
    target: EngineAdapter, tmp_path: Path
) -> None:
    source = tmp_path / "big.csv"
    rows = (f"{i},{0 if i == 125_000 else 1},1.0,s\n" for i in range(1, 130_001))
    source.write_text("id,qty,price,status\n" + "".join(rows))
    with pytest.raises(TransformError, match=r"shop:boom failed on .*big.csv rows 122881-130000"):
        load(target, source, "boom")
    assert not target.columns("sales.orders")


def test_failing_transform_on_sql_source_names_offsets(
    target: EngineAdapter, tmp_path: Path
) -> None:
    url = sql_source(tmp_path)
    with pytest.raises(TransformError, match=r"shop:drop_first returned 2 rows for 3") as caught:
        load(target, url, "drop_first", source_table="orders")
    assert "table orders row offsets 1-3" in str(caught.value)
    assert not target.columns("sales.orders")


def test_silently_dropped_rows_fail_the_load(target: EngineAdapter, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(ORDERS)
    with pytest.raises(TransformError) as caught:
        load(target, tmp_path / "orders.csv", "drop_first")
    assert "returned 2 rows for 3 (0 rejected)" in str(caught.value)
    assert "headrace.reject" in str(caught.value)
    assert not target.columns("sales.orders")


def test_transform_sees_no_rows_and_still_shapes_the_table(
    target: EngineAdapter, tmp_path: Path
) -> None:
    (tmp_path / "orders.csv").write_text("id,qty,price,status\n")
    result = load(target, tmp_path / "orders.csv", "add_total")
    assert (result.rows_read, result.rows_loaded) == (0, 0)
    assert "total" in {c.name for c in target.columns("sales.orders")}


def test_bad_spec_fails_before_loading(tmp_path: Path) -> None:
    with pytest.raises(HeadraceError, match="no attribute 'nope'"):
        build_request(
            source=str(tmp_path / "x.csv"),
            table="t",
            transforms=[f"{SHOP}:nope"],
            transform_roots=[ROOT],
            pipeline="orders",
        )


# -- the command line ----------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "headrace", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


MODULE = """
import headrace
import pyarrow.compute as pc


def clean(batch):
    return headrace.reject(batch, pc.less(batch["qty"], 0), reason="negative quantity")
"""


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("nosuch.rules:clean", "no module named 'nosuch.rules'"),
        ("myrules:nope", "module 'myrules' has no attribute 'nope'"),
        ("myrules", "expected package.module:function"),
    ],
)
def test_cli_bad_spec_is_one_line_exit_2(spec: str, fragment: str, tmp_path: Path) -> None:
    (tmp_path / "myrules.py").write_text(MODULE)
    (tmp_path / "orders.csv").write_text(ORDERS)
    result = run_cli("load", "orders.csv", "t", "--transform", spec, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0] and spec in lines[0]


def test_cli_transform_from_working_directory(tmp_path: Path) -> None:
    (tmp_path / "cli_rules.py").write_text(MODULE)
    (tmp_path / "orders.csv").write_text(ORDERS)
    result = run_cli(
        "load", "orders.csv", "t", "--transform", "cli_rules:clean", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["rows_read"], payload["rows_loaded"], payload["rows_quarantined"]) == (3, 2, 1)


def test_cli_transform_error_is_one_line_exit_1(tmp_path: Path) -> None:
    (tmp_path / "buggy.py").write_text("def f(batch):\n    return batch['nope']\n")
    (tmp_path / "orders.csv").write_text(ORDERS)
    result = run_cli("load", "orders.csv", "t", "--transform", "buggy:f", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "buggy:f failed on" in lines[0] and "orders.csv rows 1-3" in lines[0]


def test_pipeline_transforms_import_from_project_root(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "__init__.py").write_text("")
    (tmp_path / "rules" / "orders.py").write_text(MODULE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    (tmp_path / "sub").mkdir()
    (tmp_path / "headrace.yml").write_text(
        "pipelines:\n"
        "  orders:\n"
        "    source: data/orders.csv\n"
        "    table: raw.orders\n"
        "    transforms: [rules.orders:clean]\n"
    )
    # Run from a subfolder: the modules are found in the project root, not the cwd.
    result = run_cli("run", "--json", cwd=tmp_path / "sub")
    assert result.returncode == 0, result.stderr
    [step] = json.loads(result.stdout)["steps"]
    assert (step["status"], step["rows_loaded"], step["rows_quarantined"]) == ("succeeded", 2, 1)


@pytest.mark.parametrize(
    ("transforms", "code", "fragment"),
    [
        ("[rules.orders]", 2, "headrace.yml:5: "),
        ("[rules.orders:nope]", 2, "pipeline 'orders': transform 'rules.orders:nope'"),
        ("[missing.mod:f]", 2, "no module named 'missing.mod'"),
    ],
)
def test_pipeline_bad_transforms(transforms: str, code: int, fragment: str, tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "__init__.py").write_text("")
    (tmp_path / "rules" / "orders.py").write_text(MODULE)
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "headrace.yml").write_text(
        "pipelines:\n"
        "  orders:\n"
        "    source: orders.csv\n"
        "    table: raw.orders\n"
        f"    transforms: {transforms}\n"
    )
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0]
