"""SQL models end to end on DuckDB and PostgreSQL: builds, incremental strategies, skips,
dependent views, and the same project giving the same results on both engines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from headrace.engines.registry import create_engine
from headrace.errors import ConfigError
from headrace.project import Project

ORDERS_1 = """order_id,customer_id,amount,status,day
1,1,10.50,placed,2026-01-01
2,1,20.00,shipped,2026-01-02
3,2,5.25,placed,2026-01-02
4,3,-1.00,placed,2026-01-02
"""
# Late data for 01-02 (within the lookback), a new day, and order 2 changing status.
ORDERS_2 = """order_id,customer_id,amount,status,day
5,3,7.00,placed,2026-01-02
6,3,8.00,placed,2026-01-03
2,1,20.00,delivered,2026-01-03
"""
CUSTOMERS = """customer_id,name,country
1,Ada,UK
2,Grace,US
3,Linus,FI
"""

MODELS = {
    "staging/orders.sql": """\
-- Orders with negative amounts removed.
-- materialized: table
-- tags: [staging]
-- indexes: [[order_id]]
-- checks:
--   columns: {order_id: [not_null]}
SELECT order_id, customer_id, CAST(amount AS DECIMAL(12, 2)) AS amount, lower(status) AS status,
       day
FROM raw.orders
WHERE amount >= 0
""",
    "staging/customers.sql": """\
-- tags: [staging]
select customer_id, upper(country) as country, name from raw.customers
""",
    "marts/customer_ltv.sql": """\
-- materialized: table
with spend as (
    select customer_id, sum(amount) as ltv, count(*) as orders
    from staging.orders
    group by customer_id
)
select c.customer_id, c.name, c.country, coalesce(s.ltv, 0) as ltv,
       coalesce(s.orders, 0) as orders,
       rank() over (order by coalesce(s.ltv, 0) desc) as ltv_rank
from staging.customers c
left join spend s on s.customer_id = c.customer_id
""",
    "marts/daily_revenue.sql": """\
-- materialized: incremental
-- incremental: {strategy: delete_insert, time_column: day, lookback: 1d}
select day, sum(amount) as revenue, count(*) as orders
from staging.orders
group by day
""",
    "marts/order_status.sql": """\
-- materialized: incremental
-- unique_key: order_id
-- incremental: {strategy: merge, time_column: day}
select order_id, status, day from staging.orders
""",
    "marts/order_log.sql": """\
-- materialized: incremental
-- incremental: {strategy: append, time_column: day}
select order_id, day from staging.orders
""",
}


def write_project(root: Path, warehouse: str, models: dict[str, str] | None = None) -> Project:
    """A project with two file pipelines and the models above."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "orders_1.csv").write_text(ORDERS_1)
    (root / "data" / "customers.csv").write_text(CUSTOMERS)
    (root / "headrace.yml").write_text(
        f"warehouse: {warehouse}\n"
        "runtime: {retries: {max_attempts: 1}}\n"
        "pipelines:\n"
        "  orders: {source: 'data/orders_*.csv', table: raw.orders, incremental: files}\n"
        "  customers: {source: data/customers.csv, table: raw.customers, incremental: files}\n"
    )
    for path, sql in (MODELS if models is None else models).items():
        target = root / "models" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sql)
    return Project.discover(start=root)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with create_engine(url) as engine:
        return [tuple(_plain(v) for v in r) for r in engine.fetchall(sql)]


def _plain(value: Any) -> Any:
    # Engines return DECIMAL as Decimal, DuckDB sums of DECIMAL too; compare as floats.
    return float(value) if isinstance(value, Decimal | float) else value


def steps(outcome: Any) -> dict[str, Any]:
    return {s.name: s for s in outcome.steps}


def test_models_build_incrementally_and_skip_when_current(engine_url: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine_url)
    first = project.run_pipelines([])
    assert first.status == "succeeded", [(s.name, s.error) for s in first.steps]
    by = steps(first)
    assert [s.name for s in first.steps][:2] == ["orders", "customers"]
    assert by["staging.orders"].build.action == "table"
    assert by["staging.orders"].build.rows_written == 3
    assert by["staging.orders"].checks is not None  # the header's not_null ran
    assert by["staging.customers"].build.action == "view"
    assert by["marts.daily_revenue"].build.action == "full"
    assert rows(engine_url, "SELECT day, revenue, orders FROM marts.daily_revenue ORDER BY 1") == [
        (dt.date(2026, 1, 1), 10.5, 1),
        (dt.date(2026, 1, 2), 25.25, 2),
    ]
    assert rows(
        engine_url, "SELECT name, ltv, ltv_rank FROM marts.customer_ltv ORDER BY ltv_rank, name"
    ) == [("Ada", 30.5, 1), ("Grace", 5.25, 2), ("Linus", 0.0, 3)]

    # Nothing new: every model is up to date and nothing is rewritten.
    again = steps(project.run_pipelines([]))
    for name in ("staging.orders", "marts.customer_ltv", "marts.daily_revenue"):
        assert again[name].build.action == "unchanged", name
        assert again[name].note == "up to date"

    (tmp_path / "p" / "data" / "orders_2.csv").write_text(ORDERS_2)
    third = project.run_pipelines([])
    assert third.status == "succeeded", [(s.name, s.error) for s in third.steps]
    by = steps(third)
    assert by["staging.orders"].build.reason == "new data in raw.orders"
    daily = by["marts.daily_revenue"].build
    # Watermark 01-02 less one day of lookback: 01-01 onwards is deleted and re-inserted.
    assert (daily.action, daily.rows_deleted, daily.rows_written) == ("delete_insert", 2, 3)
    assert rows(engine_url, "SELECT day, revenue, orders FROM marts.daily_revenue ORDER BY 1") == [
        (dt.date(2026, 1, 1), 10.5, 1),
        (dt.date(2026, 1, 2), 32.25, 3),
        (dt.date(2026, 1, 3), 28.0, 2),
    ]
    status = by["marts.order_status"].build
    assert status.action == "merge"
    # Past the watermark (01-02): order 6 and order 2's new row.
    assert rows(engine_url, "SELECT order_id, status, day FROM marts.order_status ORDER BY 1") == [
        (1, "placed", dt.date(2026, 1, 1)),
        (2, "delivered", dt.date(2026, 1, 3)),
        (3, "placed", dt.date(2026, 1, 2)),
        (6, "placed", dt.date(2026, 1, 3)),
    ]
    # append takes only rows strictly past the watermark: late order 5 (01-02) is not
    # appended (that is what lookback with merge/delete_insert is for), nothing doubles.
    assert rows(engine_url, "SELECT order_id, day FROM marts.order_log ORDER BY 1, 2") == [
        (1, dt.date(2026, 1, 1)),
        (2, dt.date(2026, 1, 2)),
        (2, dt.date(2026, 1, 3)),
        (3, dt.date(2026, 1, 2)),
        (6, dt.date(2026, 1, 3)),
    ]
    assert by["staging.customers"].build.action == "unchanged"  # a view reads live


def test_same_project_same_results_on_duckdb_and_postgres(
    duckdb_url: str, pg_url: str, tmp_path: Path
) -> None:
    results = {}
    for name, url in (("duckdb", duckdb_url), ("postgres", pg_url)):
        project = write_project(tmp_path / name, url)
        assert project.run_pipelines([]).status == "succeeded"
        (tmp_path / name / "data" / "orders_2.csv").write_text(ORDERS_2)
        assert project.run_pipelines([]).status == "succeeded"
        results[name] = {
            model: rows(url, f"SELECT * FROM {model} ORDER BY 1, 2")
            for model in (
                "staging.orders",
                "staging.customers",
                "marts.customer_ltv",
                "marts.daily_revenue",
                "marts.order_status",
                "marts.order_log",
            )
        }
    assert results["duckdb"] == results["postgres"]


def test_plan_reasons_and_full_refresh(engine_url: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    project = write_project(root, engine_url)
    plan = {i.name: (i.action, i.reason) for i in project.plan([])}
    assert plan["orders"][0] == "run"
    assert plan["staging.orders"] == ("run", "new")
    assert project.run_pipelines([]).status == "succeeded"

    plan = {i.name: (i.action, i.reason) for i in project.plan(["marts.customer_ltv"])}
    assert plan == {"marts.customer_ltv": ("skip", "up to date")}
    plan = {i.name: i for i in project.plan(["+marts.customer_ltv"])}
    assert plan["marts.customer_ltv"].action == "maybe"  # its loads may bring new data

    model = root / "models" / "marts" / "customer_ltv.sql"
    model.write_text(model.read_text().replace("as orders,", "as order_count,"))
    assert {i.name: i.reason for i in project.plan(["marts.customer_ltv"])} == {
        "marts.customer_ltv": "changed SQL"
    }
    # Comments and layout are not changes.
    view = root / "models" / "staging" / "customers.sql"
    view.write_text(view.read_text().replace("select", "-- reformatted\nSELECT"))
    assert {i.name: i.action for i in project.plan(["staging.customers"])} == {
        "staging.customers": "skip"
    }

    forced = {i.name: i.reason for i in project.plan(["marts.daily_revenue+"], full_refresh=True)}
    assert forced == {"marts.daily_revenue": "forced (--full-refresh)"}
    outcome = project.run_pipelines(["marts.daily_revenue"], full_refresh=True)
    assert steps(outcome)["marts.daily_revenue"].build.action == "full"

    with create_engine(engine_url) as engine:
        engine.execute("DROP TABLE marts.order_log")
    plan = {i.name: i.reason for i in project.plan(["marts.order_log"])}
    assert plan == {"marts.order_log": "new: marts.order_log is missing from the warehouse"}


def test_selection_by_tag_upstream_and_downstream(engine_url: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine_url)
    graph = project.graph()
    assert set(graph.select(["tag:staging"])) == {"staging.customers", "staging.orders"}
    assert graph.select(["+staging.customers"]) == ["customers", "staging.customers"]
    downstream = graph.select(["staging.orders+"])
    assert downstream[0] == "staging.orders" and set(downstream[1:]) == {
        "marts.customer_ltv",
        "marts.daily_revenue",
        "marts.order_log",
        "marts.order_status",
    }
    assert graph.select(["daily_revenue"]) == ["marts.daily_revenue"]
    outcome = project.run_pipelines(["+marts.customer_ltv"])
    assert [s.name for s in outcome.steps] == [
        "orders",
        "customers",
        "staging.customers",
        "staging.orders",
        "marts.customer_ltv",
    ]


def test_rebuilding_a_table_keeps_the_views_on_it(engine_url: str, tmp_path: Path) -> None:
    models = {
        "staging/orders.sql": "-- materialized: table\nselect order_id, amount from raw.orders",
        "marts/big_orders.sql": "select order_id from staging.orders where amount > 6",
    }
    root = tmp_path / "p"
    project = write_project(root, engine_url, models)
    assert project.run_pipelines([]).status == "succeeded"
    # A view that is not a model, on the model's view: PostgreSQL ties both to the table.
    with create_engine(engine_url) as engine:
        engine.execute("CREATE VIEW marts.big_count AS SELECT count(*) AS n FROM marts.big_orders")
    (root / "data" / "orders_2.csv").write_text(ORDERS_2)
    outcome = project.run_pipelines(["orders", "staging.orders"])
    assert steps(outcome)["staging.orders"].build.action == "table"
    assert rows(engine_url, "SELECT count(*) FROM marts.big_orders") == [(5,)]
    assert rows(engine_url, "SELECT n FROM marts.big_count") == [(5,)]


def test_a_failed_build_leaves_the_old_model(engine_url: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    project = write_project(root, engine_url)
    assert project.run_pipelines([]).status == "succeeded"
    before = rows(engine_url, "SELECT * FROM marts.daily_revenue ORDER BY 1")
    model = root / "models" / "marts" / "daily_revenue.sql"
    model.write_text(model.read_text().replace("count(*) as orders", "count(*) / 0 as orders"))
    (root / "data" / "orders_2.csv").write_text(ORDERS_2)
    project = Project.discover(start=root)
    outcome = project.run_pipelines([])
    failed = steps(outcome)["marts.daily_revenue"]
    if failed.status == "failed":  # PostgreSQL: division by zero
        assert "model marts.daily_revenue" in (failed.error or "")
        assert rows(engine_url, "SELECT * FROM marts.daily_revenue ORDER BY 1") == before
    else:  # DuckDB divides by zero into NULL; the build went through as one transaction
        assert rows(engine_url, "SELECT count(*) FROM marts.daily_revenue") == [(3,)]


def test_unknown_source_table_names_model_and_line(engine_url: str, tmp_path: Path) -> None:
    models = {"marts/x.sql": "-- a comment\nselect *\nfrom raw.nope"}
    project = write_project(tmp_path / "p", engine_url, models)
    with pytest.raises(ConfigError) as info:
        project.run_pipelines([])
    assert "x.sql:3" in str(info.value) and "reads raw.nope" in str(info.value)
    # Declared or existing sources are fine.
    with create_engine(engine_url) as engine:
        engine.execute("CREATE SCHEMA IF NOT EXISTS raw")
        engine.execute("CREATE TABLE raw.nope (a INTEGER)")
    assert project.run_pipelines(["marts.x"]).status == "succeeded"


def test_models_run_in_parallel_threads(engine_url: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine_url)
    outcome = project.run_pipelines([], threads=3)
    assert outcome.status == "succeeded", [(s.name, s.error) for s in outcome.steps if s.error]
    assert rows(engine_url, "SELECT count(*) FROM marts.customer_ltv") == [(3,)]
    assert rows(engine_url, "SELECT count(*) FROM marts.daily_revenue") == [(2,)]
