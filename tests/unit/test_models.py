"""SQL models without a database: settings headers, references, the DAG and selection,
plan decisions and incremental bounds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlglot

from headrace.config.pipelines import PipelineConfig
from headrace.config.sql_models import ModelSettings
from headrace.errors import ConfigError, UsageError
from headrace.transform.compile import compile_model
from headrace.transform.discover import parse_query, read_header, table_refs
from headrace.transform.graph import build_graph
from headrace.transform.materialize import lower_bound
from headrace.transform.model import SqlModel
from headrace.transform.plan import Decision, decide
from headrace.transform.state import ModelState, decode_value, encode_value, view_version

FILE = Path("models/a/x.sql")


def model(name: str, sql: str, **settings: object) -> SqlModel:
    query = parse_query(sql, FILE, "duckdb")
    return SqlModel(
        name=name,
        path=Path(f"models/{name.replace('.', '/')}.sql"),
        text=sql,
        settings=ModelSettings.model_validate({"materialized": "view", **settings}),
        query=query,
        dialect="duckdb",
        refs=table_refs(query),
    )


def test_header_settings_and_their_lines() -> None:
    text = (
        "-- Revenue per day.\n"
        "-- materialized: incremental\n"
        "-- incremental:\n"
        "--   strategy: merge\n"
        "--   time_column: day\n"
        "-- unique_key: day\n"
        "-- Note that this comment is prose, not a setting.\n"
        "select 1 as day\n"
        "-- tags: [not, a, header]\n"
    )
    settings, lines = read_header(text, FILE)
    assert settings.materialized == "incremental"
    assert settings.incremental is not None and settings.incremental.strategy == "merge"
    assert settings.unique_key == ["day"]
    assert settings.tags is None  # after the SQL started: not a header any more
    assert lines[("materialized",)] == 2 and lines[("incremental", "time_column")] == 5


def test_header_mistakes_point_at_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        read_header("-- materialized: table\n-- unique_keys: id\nselect 1", FILE)
    assert str(info.value).startswith("models/a/x.sql:2:") and "unique_keys" in str(info.value)
    with pytest.raises(ConfigError) as info:
        read_header("-- incremental: {strategy: upsert, time_column: d}\nselect 1", FILE)
    assert "x.sql:1" in str(info.value) and "upsert" in str(info.value)


def test_references_skip_ctes_and_table_functions() -> None:
    query = parse_query(
        "with o as (select * from Raw.Orders)\n"
        "select * from o join raw.customers c on true\n"
        'join read_csv(\'x.csv\') f on true join "Odd"."Name" on true',
        FILE,
        "duckdb",
    )
    assert [(r.name, r.line) for r in table_refs(query)] == [
        ("raw.customers", 2),
        ("Odd.Name", 3),
        ("raw.orders", 1),
    ]


def test_graph_resolves_models_pipelines_and_sources() -> None:
    pipelines = {"orders": PipelineConfig(source="o.csv", table="raw.src_orders")}
    models = [
        model("staging.orders", "select * from src_orders"),
        model("marts.daily", "select * from orders join ext.fx on true"),
    ]
    graph = build_graph(pipelines, models)
    assert graph.nodes["staging.orders"].deps == ["orders"]
    # Unqualified names: the one table of that name the project writes.
    assert graph.nodes["marts.daily"].deps == ["staging.orders"]
    assert graph.resolved["marts.daily"]["orders"] == "staging.orders"
    assert list(graph.sources) == ["ext.fx"]
    assert build_graph(pipelines, models, ["ext.fx"]).sources == {}
    assert graph.order() == ["orders", "staging.orders", "marts.daily"]
    assert graph.select(["+daily"]) == ["orders", "staging.orders", "marts.daily"]
    assert graph.select(["orders+"]) == ["orders", "staging.orders", "marts.daily"]
    with pytest.raises(UsageError, match="unknown pipeline or model 'nope'"):
        graph.select(["nope"])


def test_compiled_sql_names_resolved_tables_quoted() -> None:
    pipelines = {"orders": PipelineConfig(source="o.csv", table="raw.orders")}
    m = model("staging.orders", "select o.id from orders o where o.amount > 0")
    graph = build_graph(pipelines, [m])
    sql = compile_model(m, graph.resolved[m.name], "postgres", pretty=False)
    assert sql == 'SELECT o.id FROM "raw"."orders" AS o WHERE o.amount > 0'
    assert sqlglot.parse_one(sql, read="postgres") is not None


def state(**changes: object) -> ModelState:
    base = ModelState(
        model="marts.daily",
        sql_hash="",
        materialized="table",
        version="r1",
        run_id="r1",
        inputs={"raw.orders": "load-1"},
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def decision(
    m: SqlModel,
    recorded: ModelState | None,
    versions: dict[str, str | None],
    exists: bool = True,
    full_refresh: bool = False,
) -> Decision:
    graph = build_graph({"orders": PipelineConfig(source="o.csv", table="raw.orders")}, [m])
    return decide(m, recorded, exists, versions, graph, full_refresh=full_refresh)


def test_plan_decisions() -> None:
    m = model("marts.daily", "select * from raw.orders", materialized="table")
    current = state(sql_hash=m.sql_hash)
    same = {"raw.orders": "load-1"}
    assert decision(m, None, same).reason == "new"
    assert decision(m, current, same).run is False
    assert decision(m, current, {"raw.orders": "load-2"}).reason == "new data in raw.orders"
    assert decision(m, state(sql_hash="old"), same).reason == "changed SQL"
    assert decision(m, current, same, exists=False).mode == "table"
    assert decision(m, current, same, full_refresh=True).reason == "forced (--full-refresh)"
    moved = decision(m, state(sql_hash=m.sql_hash, materialized="view"), same)
    assert moved.reason == "materialization changed from view to table"
    # A view is rebuilt only for its SQL: its data is its inputs'.
    v = model("marts.daily", "select * from raw.orders")
    assert (
        decision(v, state(sql_hash=v.sql_hash, materialized="view"), {"raw.orders": "x"}).run
        is False
    )


def test_untracked_sources_always_count_as_new_data() -> None:
    m = model("marts.daily", "select * from ext.fx", materialized="table")
    result = decision(m, state(sql_hash=m.sql_hash, inputs={"ext.fx": None}), {})
    assert result.run and "does not track" in result.reason


def test_view_versions_follow_sql_and_inputs() -> None:
    a = view_version("h1", {"raw.orders": "1"})
    assert a == view_version("h1", {"raw.orders": "1"})
    assert a != view_version("h1", {"raw.orders": "2"}) != view_version("h2", {"raw.orders": "1"})


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2026, 1, 2), 42, 1.5, "2026-01-02", None],
)
def test_watermarks_keep_their_type(value: object) -> None:
    assert decode_value(encode_value(value)) == value


def test_lookback_lower_bounds() -> None:
    m = model(
        "marts.daily",
        "select 1 as d",
        materialized="incremental",
        incremental={"strategy": "delete_insert", "time_column": "d", "lookback": "2d"},
    )
    assert lower_bound(dt.date(2026, 1, 10), "2d", m) == dt.date(2026, 1, 8)
    assert lower_bound(dt.datetime(2026, 1, 10, 12), "6h", m) == dt.datetime(2026, 1, 10, 6)
    assert lower_bound(100, 5, m) == 95
    assert lower_bound(None, "2d", m) is None
    with pytest.raises(ConfigError, match="is a duration"):
        lower_bound(100, "2d", m)
