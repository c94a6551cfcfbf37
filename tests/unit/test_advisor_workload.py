"""Workload files: splitting on ``;``, labels and weights, positions, skip reasons, and
unknown tables. Pure: no database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from headrace.advisor.model import Skipped, Workload, WorkloadQuery
from headrace.advisor.workload import (
    check_tables,
    normalize_query,
    read_workload_file,
    split_statements,
)
from headrace.errors import UsageError


def write(tmp_path: Path, text: str, name: str = "workload.sql") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_semicolons_inside_strings_comments_and_quotes_do_not_split() -> None:
    text = (
        "SELECT 'a;b' AS x FROM t; -- trailing; comment\n"
        'SELECT /* ; */ "odd;name" FROM t\n'
        ";\n"
        "SELECT $$dollar;quoted$$, $tag$x;y$tag$ FROM t;\n"
        "-- a comment; with a semicolon\n"
        "SELECT 1 FROM t -- no semicolon at the end"
    )
    statements = [sql for _, _, sql in split_statements(text)]
    assert statements == [
        "SELECT 'a;b' AS x FROM t",
        'SELECT /* ; */ "odd;name" FROM t',
        "SELECT $$dollar;quoted$$, $tag$x;y$tag$ FROM t",
        "SELECT 1 FROM t",
    ]


def test_empty_statements_and_trailing_comments_are_ignored() -> None:
    assert split_statements(";;\n  ;\n-- only a comment\n") == []


def test_start_line_is_the_first_token_not_the_comment() -> None:
    text = "\n\n-- name: one\nSELECT 1\nFROM t;\n\n  SELECT\n 2 FROM t;"
    assert [line for line, _, _ in split_statements(text)] == [4, 7]


def test_unterminated_string_keeps_the_statements_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, "SELECT 1 FROM t;\nSELECT 'oops FROM t;\n")
    workload = read_workload_file(path)
    assert [q.sql for q in workload.queries] == ["SELECT 1 FROM t"]
    assert workload.skipped and workload.skipped[0].reason.startswith("does not parse")


def test_labels_weights_and_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "-- name: orders of a customer\n"
        "-- weight: 5\n"
        "SELECT * FROM orders WHERE o_custkey = 1;\n"
        "\n"
        "SELECT * FROM orders;\n"
        "-- weight: 0.5\n"
        "-- name: cheap\n"
        "SELECT 1 FROM orders;\n",
    )
    workload = read_workload_file(path)
    assert workload.source == str(path)
    assert workload.queries == [
        WorkloadQuery(
            "SELECT * FROM orders WHERE o_custkey = 1",
            "workload.sql:3",
            5.0,
            "orders of a customer",
        ),
        WorkloadQuery("SELECT * FROM orders", "workload.sql:5", 1.0, "workload.sql:5"),
        WorkloadQuery("SELECT 1 FROM orders", "workload.sql:8", 0.5, "cheap"),
    ]
    assert workload.skipped == []


@pytest.mark.parametrize("weight", ["abc", "0", "-3", "inf"])
def test_bad_weight_skips_that_statement_only(tmp_path: Path, weight: str) -> None:
    path = write(tmp_path, f"-- weight: {weight}\nSELECT 1 FROM t;\nSELECT 2 FROM t;")
    workload = read_workload_file(path)
    assert [q.sql for q in workload.queries] == ["SELECT 2 FROM t"]
    assert workload.skipped[0].position == "workload.sql:2"
    assert "bad weight" in workload.skipped[0].reason


def test_non_queries_are_skipped_with_reasons(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "SELECT * FROM t WHERE a = 1;\n"
        "INSERT INTO t VALUES (1);\n"
        "UPDATE t SET a = 2;\n"
        "DELETE FROM t;\n"
        "CREATE TABLE u (a INT);\n"
        "EXPLAIN SELECT * FROM t;\n"
        "SELEC * FROM t;\n"
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d;\n"
        "SELECT * INTO u FROM t;\n"
        "SELECT * FROM t FOR UPDATE;\n"
        "hello world;\n"
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x;\n"
        "SELECT a FROM t UNION SELECT a FROM u;\n",
    )
    workload = read_workload_file(path)
    assert [q.position for q in workload.queries] == [
        "workload.sql:1",
        "workload.sql:12",
        "workload.sql:13",
    ]
    reasons = {s.position: s.reason for s in workload.skipped}
    assert reasons["workload.sql:2"] == "not a SELECT (INSERT)"
    assert reasons["workload.sql:3"] == "not a SELECT (UPDATE)"
    assert reasons["workload.sql:4"] == "not a SELECT (DELETE)"
    assert reasons["workload.sql:5"] == "not a SELECT (CREATE TABLE)"
    assert reasons["workload.sql:6"] == "not a SELECT (EXPLAIN)"
    assert reasons["workload.sql:7"].startswith("does not parse: ")
    assert reasons["workload.sql:8"] == "not a SELECT (data-modifying WITH)"
    assert reasons["workload.sql:9"] == "not a SELECT (SELECT INTO)"
    assert reasons["workload.sql:10"].startswith("not a SELECT (SELECT ... FOR UPDATE")
    assert reasons["workload.sql:11"] == "does not parse: not a SQL statement"


def test_dialect_is_a_parameter(tmp_path: Path) -> None:
    # Backticks quote names in MySQL only: there the ";" inside them does not split.
    path = write(tmp_path, "SELECT `a;b` FROM t;\nSELECT 2 FROM t;")
    assert "SELECT `a;b` FROM t" not in [q.sql for q in read_workload_file(path).queries]
    assert [q.sql for q in read_workload_file(path, dialect="mysql").queries] == [
        "SELECT `a;b` FROM t",
        "SELECT 2 FROM t",
    ]


def test_missing_file_is_a_usage_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        read_workload_file(tmp_path / "nope.sql")
    assert "nope.sql" in str(info.value)
    assert info.value.hint and "pg_stat_statements" in info.value.hint
    with pytest.raises(UsageError):
        read_workload_file(tmp_path)  # a directory


def test_undecodable_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes(b"SELECT '\xe9' FROM t;")
    with pytest.raises(UsageError, match="cannot read workload file"):
        read_workload_file(path)


def _workload(*sqls: str) -> Workload:
    return Workload("w.sql", [WorkloadQuery(sql, f"w.sql:{i + 1}") for i, sql in enumerate(sqls)])


def test_unknown_tables_are_skipped_and_ctes_are_not_tables() -> None:
    workload = _workload(
        "SELECT * FROM orders",
        "SELECT * FROM public.orders o JOIN customer c ON c.c_custkey = o.o_custkey",
        "WITH customer AS (SELECT 1 AS c_custkey) SELECT * FROM customer",
        "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN missing ON true",
        "SELECT * FROM other.orders",
        "SELECT * FROM orders WHERE o_custkey IN (SELECT x FROM nowhere)",
    )
    workload.skipped.append(Skipped("w.sql:99", "earlier reason"))
    checked = check_tables(workload, {"public.orders"}, "postgres")
    assert [q.position for q in checked.queries] == ["w.sql:1", "w.sql:3"]
    assert checked.skipped == [
        Skipped("w.sql:99", "earlier reason"),
        Skipped("w.sql:2", "unknown table public.customer"),
        Skipped("w.sql:4", "unknown table public.missing"),
        Skipped("w.sql:5", "unknown table other.orders"),
        Skipped("w.sql:6", "unknown table public.nowhere"),
    ]
    assert len(workload.queries) == 6  # the input is left alone


def test_unknown_tables_default_schema_per_dialect() -> None:
    workload = _workload("SELECT * FROM orders", "SELECT * FROM a JOIN b ON true")
    checked = check_tables(workload, {"main.orders"}, "duckdb")
    assert [q.position for q in checked.queries] == ["w.sql:1"]
    assert checked.skipped == [Skipped("w.sql:2", "unknown tables main.a, main.b")]
    checked = check_tables(workload, {"sales.orders"}, "postgres", default_schema="sales")
    assert [q.position for q in checked.queries] == ["w.sql:1"]


def test_table_names_compare_case_insensitively() -> None:
    checked = check_tables(_workload("SELECT * FROM Public.ORDERS"), {"public.orders"})
    assert len(checked.queries) == 1


def test_normalize_query_groups_literals_and_in_lists() -> None:
    def shape(sql: str) -> str:
        return normalize_query(sqlglot.parse_one(sql, read="postgres"), "postgres")

    assert shape("SELECT * FROM t WHERE id = 1") == shape("select *  from t where id = 2")
    assert shape("SELECT * FROM t WHERE s IN ('a', 'b')") == shape(
        "SELECT * FROM t WHERE s IN ('c')"
    )
    assert shape("SELECT * FROM t WHERE id = 1") != shape("SELECT * FROM t WHERE other = 1")
    assert shape("SELECT * FROM t LIMIT 5") == shape("SELECT * FROM t LIMIT 50")
