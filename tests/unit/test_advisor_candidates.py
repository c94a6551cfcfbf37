"""Candidate indexes from SQL over a TPC-H-like schema (TableMeta only, no database)."""

from __future__ import annotations

import pytest

from headrace.advisor.candidates import generate_candidates, query_tables
from headrace.advisor.model import IndexCandidate, TableMeta, Workload, WorkloadQuery
from headrace.errors import UsageError

TABLES = {
    meta.table: meta
    for meta in (
        TableMeta(
            "public.orders",
            (
                "o_orderkey",
                "o_custkey",
                "o_orderstatus",
                "o_totalprice",
                "o_orderdate",
                "o_orderpriority",
                "o_clerk",
                "o_comment",
            ),
            1_500_000,
            indexes=(("o_orderkey",),),
            n_distinct={
                "o_orderkey": 1_500_000,
                "o_custkey": 100_000,
                "o_orderstatus": 3,
                "o_orderdate": 2_400,
                "o_orderpriority": 5,
            },
        ),
        TableMeta(
            "public.lineitem",
            ("l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity", "l_shipdate"),
            6_000_000,
            indexes=(("l_orderkey", "l_linenumber"),),
        ),
        TableMeta(
            "public.part",
            ("p_partkey", "p_name", "p_brand", "p_type", "p_size", "p_container"),
            200_000,
            indexes=(("p_partkey",),),
            n_distinct={"p_brand": 25, "p_type": 150, "p_size": 50},
        ),
        TableMeta(
            "public.supplier",
            ("s_suppkey", "s_name", "s_nationkey", "s_acctbal"),
            10_000,
            indexes=(("s_suppkey",),),
            n_distinct={"s_nationkey": 25},
        ),
        TableMeta(
            "public.nation",
            ("n_nationkey", "n_name", "n_regionkey"),
            25,
            indexes=(("n_nationkey",),),
            n_distinct={"n_name": 25, "n_regionkey": 5},
        ),
        TableMeta(
            "public.customer",
            ("c_custkey", "c_name", "c_nationkey", "c_mktsegment"),
            150_000,
            indexes=(("c_custkey",),),
            n_distinct={"c_mktsegment": 5},
        ),
    )
}


def candidates(*sqls: str, max_width: int = 3, **kwargs: object) -> list[IndexCandidate]:
    workload = Workload("w.sql", [WorkloadQuery(s, f"w.sql:{i}") for i, s in enumerate(sqls)])
    tables = kwargs.pop("tables", TABLES)
    return generate_candidates(workload, tables, max_width=max_width, **kwargs)  # type: ignore[arg-type]


def shapes(found: list[IndexCandidate]) -> set[tuple[object, ...]]:
    return {(c.table, c.columns, c.include, c.where) for c in found}


def keys(found: list[IndexCandidate], table: str | None = None) -> set[tuple[str, ...]]:
    """Key columns of plain (no INCLUDE, not partial) candidates."""
    return {
        c.columns
        for c in found
        if not c.include and c.where is None and (table is None or c.table == table)
    }


def test_orders_of_a_customer_in_a_date_range() -> None:
    found = candidates(
        "SELECT o_orderkey, o_totalprice FROM orders"
        " WHERE o_custkey = 42 AND o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1995-12-31'"
    )
    assert found[0].table == "public.orders"
    assert found[0].columns == ("o_custkey", "o_orderdate")  # equality first, then range
    assert keys(found) >= {("o_custkey", "o_orderdate"), ("o_custkey",), ("o_orderdate",)}
    assert all(c.queries == frozenset({0}) for c in found)


def test_range_written_first_still_follows_the_equality() -> None:
    found = candidates("SELECT 1 FROM orders WHERE o_orderdate >= '1995-01-01' AND 42 = o_custkey")
    assert found[0].columns == ("o_custkey", "o_orderdate")


def test_lookup_covered_by_the_primary_key_is_skipped() -> None:
    sql = "SELECT * FROM lineitem WHERE l_orderkey = 7"
    assert candidates(sql) == []
    without_pk = {
        "public.lineitem": TableMeta("public.lineitem", TABLES["public.lineitem"].columns)
    }
    assert keys(candidates(sql, tables=without_pk)) == {("l_orderkey",)}


def test_equality_columns_ordered_by_distinct_values() -> None:
    found = candidates(
        "SELECT p_partkey, p_name FROM part"
        " WHERE p_brand = 'Brand#23' AND p_size = 15 AND p_type = 'LARGE BRASS'"
    )
    assert found[0].columns == ("p_type", "p_size", "p_brand")  # 150, 50, 25 distinct
    assert keys(found) == {
        ("p_type", "p_size", "p_brand"),
        ("p_type",),
        ("p_size",),
        ("p_brand",),
    }
    # Unknown distinct counts go last.
    found = candidates("SELECT 1 FROM part WHERE p_container = 'JUMBO BOX' AND p_brand = 'x'")
    assert found[0].columns == ("p_brand", "p_container")


def test_suppliers_by_nation_through_a_join() -> None:
    found = candidates(
        "SELECT s.s_name FROM supplier s JOIN nation n ON s.s_nationkey = n.n_nationkey"
        " WHERE n.n_name = 'GERMANY'"
    )
    assert ("s_nationkey",) in keys(found, "public.supplier")
    assert ("n_name",) in keys(found, "public.nation")
    # The nation side of the join key is its primary key: nothing new there.
    assert ("n_nationkey",) not in keys(found, "public.nation")


def test_join_key_in_where_and_implicit_join() -> None:
    found = candidates(
        "SELECT c_name FROM customer, orders WHERE c_custkey = o_custkey AND c_mktsegment = 'x'"
    )
    assert ("o_custkey",) in keys(found, "public.orders")
    assert ("c_mktsegment",) in keys(found, "public.customer")


def test_top_n_by_date_uses_the_index_order() -> None:
    found = candidates(
        "SELECT o_orderkey, o_orderdate FROM orders ORDER BY o_orderdate DESC LIMIT 10"
    )
    assert found[0].columns == ("o_orderdate",)
    assert ("public.orders", ("o_orderdate",), ("o_orderkey",), None) in shapes(found)


def test_order_by_needs_a_limit_and_one_direction() -> None:
    assert candidates("SELECT o_orderkey FROM orders ORDER BY o_orderdate DESC") == []
    mixed = candidates(
        "SELECT o_orderkey FROM orders ORDER BY o_orderdate DESC, o_totalprice ASC LIMIT 5"
    )
    assert mixed == []
    nulls = candidates("SELECT o_orderkey FROM orders ORDER BY o_orderdate NULLS FIRST LIMIT 5")
    assert nulls == []
    two = candidates(
        "SELECT o_orderkey FROM orders ORDER BY o_orderdate DESC, o_totalprice DESC LIMIT 5"
    )
    assert ("o_orderdate", "o_totalprice") in keys(two)


def test_sort_after_equality_and_order_by_alias() -> None:
    found = candidates(
        "SELECT o_orderkey, o_orderdate AS d FROM orders WHERE o_custkey = 7"
        " ORDER BY d DESC LIMIT 5"
    )
    assert found[0].columns == ("o_custkey", "o_orderdate")


def test_range_and_a_different_sort_give_two_candidates() -> None:
    found = candidates(
        "SELECT o_orderkey FROM orders WHERE o_custkey = 1 AND o_totalprice > 100"
        " ORDER BY o_orderdate LIMIT 5"
    )
    assert {("o_custkey", "o_totalprice"), ("o_custkey", "o_orderdate")} <= keys(found)
    assert ("o_custkey", "o_totalprice", "o_orderdate") not in keys(found)
    same = candidates(
        "SELECT o_orderkey FROM orders WHERE o_custkey = 1 AND o_orderdate > '1995-01-01'"
        " ORDER BY o_orderdate LIMIT 5"
    )
    assert same[0].columns == ("o_custkey", "o_orderdate")


def test_group_by_columns() -> None:
    found = candidates("SELECT o_custkey, count(*) FROM orders GROUP BY 1")
    assert keys(found) == {("o_custkey",)}


def test_predicate_kinds() -> None:
    found = candidates(
        "SELECT 1 FROM part WHERE p_name LIKE 'forest%'",
        "SELECT 1 FROM part WHERE p_name LIKE '%green%'",
        "SELECT 1 FROM part WHERE p_size IN (1, 2, 3)",
        "SELECT 1 FROM part WHERE p_container IS NULL",
        "SELECT 1 FROM part WHERE p_size <> 3 OR p_brand = 'x'",
        "SELECT 1 FROM part WHERE lower(p_name) = 'x'",
        "SELECT 1 FROM part WHERE p_size IN (SELECT s_nationkey FROM supplier)",
    )
    by_query = {i: keys([c for c in found if i in c.queries], "public.part") for i in range(7)}
    assert by_query[0] == {("p_name",)}
    assert by_query[1] == set()  # a leading wildcard cannot use a B-tree
    assert by_query[2] == {("p_size",)}
    assert by_query[3] == {("p_container",)}
    assert by_query[4] == set()  # OR and <> are not index conditions here
    assert by_query[5] == set()  # an expression on the column needs an expression index
    assert by_query[6] == {("p_size",)}


def test_partial_index_for_a_low_cardinality_constant() -> None:
    found = candidates("SELECT o_orderkey FROM orders WHERE o_orderstatus = 'O' AND o_custkey = 5")
    assert ("public.orders", ("o_custkey",), (), "\"o_orderstatus\" = 'O'") in shapes(found)
    # High-cardinality constants do not get one, nor does a lone low-cardinality predicate.
    assert all(c.where is None for c in candidates("SELECT 1 FROM orders WHERE o_custkey = 5"))
    alone = candidates("SELECT 1 FROM orders WHERE o_orderstatus = 'F'")
    assert all(c.where is None for c in alone)
    top = candidates(
        "SELECT o_orderkey FROM orders o WHERE o.o_orderpriority = '1-URGENT'"
        " ORDER BY o.o_orderdate DESC LIMIT 10"
    )
    expected = ("public.orders", ("o_orderdate",), (), "\"o_orderpriority\" = '1-URGENT'")
    assert expected in shapes(top)


def test_include_columns_allow_an_index_only_scan() -> None:
    found = candidates("SELECT o_orderkey, o_totalprice FROM orders WHERE o_custkey = 1")
    assert ("public.orders", ("o_custkey",), ("o_orderkey", "o_totalprice"), None) in shapes(found)
    # Too many other columns (SELECT *): no INCLUDE variant.
    assert all(not c.include for c in candidates("SELECT * FROM orders WHERE o_custkey = 1"))
    # Nothing else read: the key alone already allows an index-only scan.
    assert all(
        not c.include for c in candidates("SELECT o_custkey FROM orders WHERE o_custkey = 1")
    )


def test_cte_subquery_and_alias_resolution() -> None:
    found = candidates(
        "WITH recent AS (SELECT o_custkey AS ck, o_orderdate AS d FROM orders)"
        " SELECT r.ck FROM recent r WHERE r.d >= '1995-01-01' AND r.ck = 9",
        "SELECT x.k FROM (SELECT o_custkey AS k, o_totalprice FROM orders) AS x WHERE x.k = 3",
        "SELECT o.o_orderkey FROM orders o WHERE EXISTS"
        " (SELECT 1 FROM lineitem l WHERE l.l_orderkey = o.o_orderkey"
        " AND l.l_shipdate > '1995-01-01')",
        "SELECT 1 FROM part WHERE p_partkey IN"
        " (SELECT l_partkey FROM lineitem WHERE l_quantity < 5)",
    )

    def of(i: int, table: str) -> set[tuple[str, ...]]:
        return keys([c for c in found if i in c.queries], table)

    assert ("o_custkey", "o_orderdate") in of(0, "public.orders")
    assert of(1, "public.orders") == {("o_custkey",)}
    assert ("l_orderkey", "l_shipdate") in of(2, "public.lineitem")
    assert ("l_quantity",) in of(3, "public.lineitem")


def test_self_join_keeps_each_side_apart() -> None:
    found = candidates(
        "SELECT a.o_orderkey FROM orders a JOIN orders b ON a.o_custkey = b.o_custkey"
        " WHERE a.o_orderdate > '1995-01-01' AND b.o_orderpriority = '1-URGENT'"
    )
    assert ("o_custkey", "o_orderdate") in keys(found)
    assert ("o_custkey", "o_orderpriority") in keys(found)
    assert ("o_custkey", "o_orderpriority", "o_orderdate") not in keys(found)


def test_outer_join_on_filters_only_the_joined_side() -> None:
    found = candidates(
        "SELECT c.c_name FROM customer c LEFT JOIN orders o"
        " ON o.o_custkey = c.c_custkey AND c.c_mktsegment = 'x' AND o.o_orderstatus = 'F'"
    )
    assert keys(found, "public.customer") == set()
    assert ("o_custkey", "o_orderstatus") in keys(found, "public.orders")


def test_dedup_and_queries_union() -> None:
    found = candidates(
        "SELECT * FROM orders WHERE o_custkey = 1",
        "SELECT * FROM orders o WHERE o.o_custkey = 2 AND o.o_orderdate < '1995-01-01'",
        "SELECT o_custkey, count(*) FROM orders GROUP BY o_custkey",
    )
    assert len({c.key for c in found}) == len(found)
    single = next(c for c in found if c.key == ("public.orders", ("o_custkey",), (), None))
    assert single.queries == frozenset({0, 1, 2})
    pair = next(c for c in found if c.columns == ("o_custkey", "o_orderdate"))
    assert pair.queries == frozenset({1})


def test_max_width() -> None:
    sql = "SELECT 1 FROM part WHERE p_brand = 'a' AND p_size = 1 AND p_type = 'b'"
    assert max(len(c.columns) for c in candidates(sql, max_width=2)) == 2
    assert candidates(sql, max_width=2)[0].columns == ("p_type", "p_size")
    assert keys(candidates(sql, max_width=1)) == {("p_type",), ("p_size",), ("p_brand",)}
    with pytest.raises(ValueError):
        candidates(sql, max_width=0)


def test_unknown_tables_bad_sql_and_no_predicates_give_nothing() -> None:
    assert candidates("SELECT * FROM elsewhere WHERE a = 1") == []
    assert candidates("SELEC nonsense") == []
    assert candidates("SELECT count(*) FROM orders") == []
    assert all(c.columns for c in candidates("SELECT * FROM orders, part WHERE p_size = 1"))


def test_duckdb_dialect_and_default_schema() -> None:
    tables = {"main.orders": TableMeta("main.orders", ("o_orderkey", "o_custkey"), n_distinct={})}
    found = candidates(
        "SELECT * FROM orders WHERE o_custkey = 1",
        tables=tables,
        dialect="duckdb",
        default_schema="main",
    )
    assert keys(found) == {("o_custkey",)}


def test_candidate_ddl_renders() -> None:
    found = candidates("SELECT o_orderkey FROM orders WHERE o_orderstatus = 'O' AND o_custkey = 5")
    partial = next(c for c in found if c.where)
    assert partial.ddl().endswith("""("o_custkey") WHERE "o_orderstatus" = 'O'""")


def test_query_tables() -> None:
    assert query_tables(
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x JOIN Sales.Customer c ON true"
        " WHERE EXISTS (SELECT 1 FROM lineitem)",
        "postgres",
        "public",
    ) == {"public.orders", "sales.customer", "public.lineitem"}
    assert query_tables("SELECT * FROM t UNION SELECT * FROM u", "duckdb", "main") == {
        "main.t",
        "main.u",
    }
    with pytest.raises(UsageError):
        query_tables("SELEC nonsense", "postgres", "public")
