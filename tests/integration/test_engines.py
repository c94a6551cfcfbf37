"""The adapter contract, exercised on every engine against a real database."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import EngineError, TerminalError


def ph(engine: EngineAdapter) -> str:
    """The engine's positional placeholder."""
    return "%s" if engine.dialect == "postgres" else "?"


def make_orders(engine: EngineAdapter) -> None:
    engine.execute(
        "CREATE TABLE orders (order_id integer PRIMARY KEY, customer text NOT NULL,"
        " amount decimal(10,2), ordered_at timestamp)"
    )


def test_execute_binds_parameters_not_text(engine: EngineAdapter) -> None:
    make_orders(engine)
    p = ph(engine)
    hostile = "x'); DROP TABLE orders; --"
    n = engine.execute(
        f"INSERT INTO orders VALUES ({p}, {p}, {p}, {p})",
        [1, hostile, decimal.Decimal("9.50"), dt.datetime(2026, 1, 2, 3, 4, 5)],
    )
    assert n == 1
    rows = engine.fetchall(f"SELECT customer, amount FROM orders WHERE order_id = {p}", [1])
    assert rows == [(hostile, decimal.Decimal("9.50"))]
    assert engine.execute(f"UPDATE orders SET amount = amount + 1 WHERE order_id >= {p}", [0]) == 1


def test_fetch_arrow_keeps_types(engine: EngineAdapter) -> None:
    make_orders(engine)
    p = ph(engine)
    engine.execute(
        f"INSERT INTO orders VALUES (1, 'a', 1.25, {p}), (2, 'b', NULL, NULL)",
        [dt.datetime(2026, 5, 1, 12, 0)],
    )
    table = engine.fetch_arrow("SELECT * FROM orders ORDER BY order_id")
    assert table.num_rows == 2
    assert table.schema.field("order_id").type == pa.int32()
    assert table.schema.field("customer").type == pa.string()
    assert pa.types.is_decimal(table.schema.field("amount").type)
    assert pa.types.is_timestamp(table.schema.field("ordered_at").type)
    assert table.column("amount").to_pylist() == [decimal.Decimal("1.25"), None]
    assert table.column("ordered_at").to_pylist()[0] == dt.datetime(2026, 5, 1, 12, 0)


def test_stream_arrow_is_bounded_by_batch_size(engine: EngineAdapter) -> None:
    engine.execute("CREATE TABLE nums AS SELECT g AS n FROM generate_series(1, 10000) AS t(g)")
    sizes = [b.num_rows for b in engine.stream_arrow("SELECT n FROM nums", batch_rows=1000)]
    assert sum(sizes) == 10000
    assert max(sizes) <= 1000
    assert len(sizes) >= 10


def test_stream_arrow_stopped_early_leaves_connection_usable(engine: EngineAdapter) -> None:
    engine.execute("CREATE TABLE nums AS SELECT g AS n FROM generate_series(1, 5000) AS t(g)")
    stream = engine.stream_arrow("SELECT n FROM nums", batch_rows=100)
    assert next(stream).num_rows == 100
    stream.close()
    assert engine.fetchall("SELECT count(*) FROM nums") == [(5000,)]


def test_transaction_commits_and_rolls_back(engine: EngineAdapter) -> None:
    make_orders(engine)
    with engine.transaction():
        engine.execute("INSERT INTO orders VALUES (1, 'a', 1, NULL)")
    with pytest.raises(RuntimeError), engine.transaction():
        engine.execute("INSERT INTO orders VALUES (2, 'b', 1, NULL)")
        raise RuntimeError("boom")
    assert engine.fetchall("SELECT order_id FROM orders") == [(1,)]


def test_nested_transaction_joins_outer_one(engine: EngineAdapter) -> None:
    make_orders(engine)
    with pytest.raises(EngineError), engine.transaction():
        engine.execute("INSERT INTO orders VALUES (1, 'a', 1, NULL)")
        with engine.transaction():
            engine.execute("INSERT INTO orders VALUES (2, 'b', 1, NULL)")
        engine.execute("INSERT INTO orders VALUES (1, 'dup', 1, NULL)")  # PK violation
    assert engine.fetchall("SELECT count(*) FROM orders") == [(0,)]


def test_ddl_is_transactional(engine: EngineAdapter) -> None:
    with pytest.raises(RuntimeError), engine.transaction():
        engine.execute("CREATE TABLE gone (x integer)")
        raise RuntimeError("abort")
    assert not engine.table_exists("gone")


def test_bulk_load_arrow_stream(engine: EngineAdapter) -> None:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("price", pa.decimal128(10, 2)),
            ("at", pa.timestamp("us")),
            ("day", pa.date32()),
            ("ok", pa.bool_()),
            ("tags", pa.list_(pa.string())),
        ]
    )

    def batches() -> object:
        for start in range(0, 3000, 1000):
            yield pa.RecordBatch.from_pylist(
                [
                    {
                        "id": i,
                        "name": None if i % 10 == 0 else ("" if i % 7 == 0 else f'n,"{i}"\n'),
                        "price": decimal.Decimal(i) / 4,
                        "at": dt.datetime(2026, 1, 1) + dt.timedelta(seconds=i),
                        "day": dt.date(2026, 1, 1),
                        "ok": i % 2 == 0,
                        "tags": ["a", str(i)],
                    }
                    for i in range(start, start + 1000)
                ],
                schema=schema,
            )

    assert engine.bulk_load("staging.items", batches(), create=True) == 3000
    assert engine.bulk_load("staging.items", pa.table({"id": [9999], "ok": [True]})) == 1
    got = engine.fetchall(
        "SELECT count(*), count(name), sum(CASE WHEN name = '' THEN 1 ELSE 0 END), max(price)"
        " FROM staging.items"
    )
    # ids 0..2999: every 10th name is NULL, every 7th (not 10th) is '', 9999 has no name.
    empty = sum(1 for i in range(3000) if i % 7 == 0 and i % 10 != 0)
    assert got == [(3001, 2700, empty, decimal.Decimal("749.75"))]
    assert engine.fetchall("SELECT name FROM staging.items WHERE id = 1") == [('n,"1"\n',)]
    assert engine.fetchall("SELECT name FROM staging.items WHERE id = 7") == [("",)]
    assert engine.fetchall("SELECT name FROM staging.items WHERE id = 10") == [(None,)]


def test_bulk_load_empty_stream_is_zero_rows(engine: EngineAdapter) -> None:
    assert engine.bulk_load("nothing", iter([]), create=True) == 0


def test_introspection(engine: EngineAdapter) -> None:
    make_orders(engine)
    engine.execute("CREATE SCHEMA sales")
    engine.execute(
        "CREATE TABLE sales.lines (order_id integer, line_no integer, qty integer,"
        " PRIMARY KEY (order_id, line_no))"
    )
    engine.execute("CREATE INDEX lines_qty ON sales.lines (qty)")
    engine.execute("CREATE VIEW sales.big AS SELECT * FROM sales.lines WHERE qty > 10")
    assert "sales" in engine.list_schemas()
    tables = {(t.schema, t.name): t for t in engine.list_tables()}
    assert tables[("sales", "lines")].kind == "table"
    assert tables[("sales", "big")].kind == "view"
    assert [t.name for t in engine.list_tables("sales")] == ["big", "lines"]
    cols = engine.columns("orders")
    assert [c.name for c in cols] == ["order_id", "customer", "amount", "ordered_at"]
    assert [c.nullable for c in cols] == [False, False, True, True]
    assert "int" in cols[0].data_type.lower()
    assert engine.primary_key("sales.lines") == ["order_id", "line_no"]
    assert engine.primary_key("orders") == ["order_id"]
    indexes = {i.name: i for i in engine.indexes("sales.lines")}
    assert indexes["lines_qty"].columns == ("qty",)
    assert not indexes["lines_qty"].unique
    assert any(i.primary and i.columns == ("order_id", "line_no") for i in indexes.values())
    assert engine.columns("missing_table") == []
    assert engine.table_info("sales.lines") is not None
    assert engine.table_info("nope") is None


def test_table_names_follow_engine_case_rules(engine: EngineAdapter) -> None:
    engine.execute("CREATE TABLE Mixed (x integer)")
    assert engine.table_exists("MIXED")
    assert engine.bulk_load("Mixed", pa.table({"x": [1, 2]})) == 2


def test_explain_returns_json_plan(engine: EngineAdapter) -> None:
    make_orders(engine)
    # A non-empty table: DuckDB plans an empty one as EMPTY_RESULT without a scan.
    engine.execute("INSERT INTO orders VALUES (1, 'a', 1, NULL)")
    plan = engine.explain("SELECT * FROM orders WHERE order_id = 1")
    assert isinstance(plan, list | dict)
    text = str(plan)
    assert "orders" in text.lower()
    analyzed = engine.explain("SELECT count(*) FROM orders", analyze=True)
    assert analyzed


def test_errors_are_classified_terminal(engine: EngineAdapter) -> None:
    make_orders(engine)
    engine.execute("INSERT INTO orders VALUES (1, 'a', 1, NULL)")
    for bad in [
        "SELEC 1",
        "SELECT * FROM no_such_table",
        "INSERT INTO orders VALUES (1, 'a', 1, NULL)",
        "INSERT INTO orders VALUES (2, NULL, 1, NULL)",
    ]:
        with pytest.raises(TerminalError) as info:
            engine.execute(bad)
        assert info.value.sql == bad
        assert "\n" not in str(info.value)


def test_read_only_session_refuses_writes(engine_url: str) -> None:
    with create_engine(engine_url) as writer:
        writer.execute("CREATE TABLE t (x integer)")
        writer.execute("INSERT INTO t VALUES (1)")
    with create_engine(engine_url, read_only=True) as reader:
        assert reader.fetchall("SELECT x FROM t") == [(1,)]
        with pytest.raises(TerminalError):
            reader.execute("INSERT INTO t VALUES (2)")
        with pytest.raises(TerminalError):
            reader.execute("CREATE TABLE u (x integer)")
        with pytest.raises(TerminalError), reader.transaction():
            reader.execute("DELETE FROM t")
        assert reader.fetchall("SELECT count(*) FROM t") == [(1,)]


def test_duckdb_bulk_load_reports_the_streams_own_error(tmp_path: Path) -> None:
    """A stream failing midway surfaces its error, not 'transaction is aborted', and
    leaves nothing behind."""
    schema = pa.schema([("a", pa.int32())])

    def batches() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2], pa.int32())], schema=schema)
        raise ValueError("boom in the stream")

    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        engine.execute("CREATE TABLE t (a INTEGER)")
        with pytest.raises(TerminalError, match="boom in the stream"), engine.transaction():
            engine.bulk_load("t", pa.RecordBatchReader.from_batches(schema, batches()))
        assert engine.fetchall("SELECT count(*) FROM t") == [(0,)]


def test_fetch_capped_is_one_statement_capped_and_rolled_back(engine: EngineAdapter) -> None:
    """The MCP read path: a smuggled second statement is refused by the engine itself,
    rows beyond the cap are never fetched, and nothing it does survives."""
    engine.execute("CREATE TABLE capped (a INTEGER)")
    engine.execute("INSERT INTO capped VALUES (1), (2), (3)")
    result = engine.fetch_capped("SELECT a FROM capped ORDER BY a", max_rows=2)
    assert result.columns == ["a"] and result.rows == [(1,), (2,)] and result.more
    assert len(result.types) == 1
    with pytest.raises(TerminalError):
        engine.fetch_capped("SELECT 1; DROP TABLE capped", max_rows=5)
    engine.fetch_capped("DELETE FROM capped RETURNING a", max_rows=5)  # rolled back
    assert engine.fetchall("SELECT count(*) FROM capped") == [(3,)]
