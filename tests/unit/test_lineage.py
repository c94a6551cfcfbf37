"""Column lineage: golden files per SQL scenario, plus every error a model author can hit.

Golden files live in tests/golden/lineage/<case>/: the models are ``<schema>.<table>.sql``,
the expected output ``expected.json`` (and, for the chain, text and Mermaid renders).
Regenerate with ``HEADRACE_UPDATE_GOLDEN=1 pytest tests/unit/test_lineage.py``, then review
the diff by eye: a golden file is a claim about the SQL, not a snapshot of the code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from headrace.errors import UsageError
from headrace.transform.lineage import ColumnRef, Lineage, LineageError, analyse_models
from headrace.transform.lineage_render import (
    render_json,
    render_mermaid,
    render_text,
    resolve_target,
    source_columns,
    trace,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "lineage"
UPDATE = os.environ.get("HEADRACE_UPDATE_GOLDEN") == "1"
CASES = sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())
CATALOG: dict[str, dict[str, str]] = json.loads((GOLDEN / "catalog.json").read_text())


def _models(case: str) -> list[tuple[str, str]]:
    return [(path.stem, path.read_text()) for path in sorted((GOLDEN / case).glob("*.sql"))]


def _golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
        return
    assert path.exists(), f"{path} is missing: run with HEADRACE_UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text(), f"{path} differs (HEADRACE_UPDATE_GOLDEN=1 rewrites it)"


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_golden_json(case: str) -> None:
    lineage = analyse_models(_models(case), CATALOG)
    actual = {name: render_json(lineage, name) for name in lineage.models}
    _golden(GOLDEN / case / "expected.json", _json(actual))


@pytest.mark.parametrize(
    ("target", "render", "suffix"),
    [
        ("mart.customer_revenue", render_text, "txt"),
        ("mart.customer_revenue", render_mermaid, "mmd"),
        ("mart.country_revenue.revenue", render_text, "txt"),
        ("mart.country_revenue.revenue", render_mermaid, "mmd"),
        ("mart.country_revenue.revenue", render_json, "json"),
    ],
)
def test_golden_chain_renders(target: str, render: Callable[..., object], suffix: str) -> None:
    lineage = analyse_models(_models("chain"), CATALOG)
    output = render(lineage, *resolve_target(lineage, target))
    if suffix == "json":
        text = _json(output)
    else:
        text = "\n".join(output) + "\n" if isinstance(output, list) else str(output)
    _golden(GOLDEN / "chain" / f"{target}.{suffix}", text)


def test_model_order_does_not_matter() -> None:
    forward = analyse_models(_models("chain"), CATALOG)
    backward = analyse_models(list(reversed(_models("chain"))), CATALOG)
    assert forward.models == backward.models


def test_trace_reaches_source_columns_through_models() -> None:
    lineage = analyse_models(_models("chain"), CATALOG)
    node = trace(lineage, "MART.Country_Revenue", "REVENUE")
    assert node.kind == "model"
    assert [child.ref for child in node.children] == [ColumnRef("mart.customer_revenue", "revenue")]
    assert source_columns(node) == [ColumnRef("raw.orders", "amount")]


def test_names_are_case_insensitive() -> None:
    catalog = {"RAW.Orders": {"Order_ID": "BIGINT", "AMOUNT": "DOUBLE"}}
    lineage = analyse_models(
        [("Mart.X", 'SELECT "ORDER_ID", Amount AS Total FROM raw.ORDERS')], catalog
    )
    model = lineage.models["mart.x"]
    assert model.columns == {
        "order_id": [ColumnRef("raw.orders", "order_id")],
        "total": [ColumnRef("raw.orders", "amount")],
    }
    assert model.types == {"order_id": "BIGINT", "total": "DOUBLE"}


def test_a_model_shadows_a_catalog_table_of_the_same_name() -> None:
    # The catalog may hold last run's materialisation of a model with other columns.
    catalog = {**CATALOG, "stg.orders": {"stale": "INTEGER"}}
    models = [
        ("stg.orders", "SELECT order_id FROM raw.orders"),
        ("mart.m", "SELECT * FROM stg.orders"),
    ]
    lineage = analyse_models(models, catalog)
    assert lineage.models["mart.m"].columns == {"order_id": [ColumnRef("stg.orders", "order_id")]}
    assert lineage.kind("stg.orders") == "model"


def test_constants_and_unknown_types() -> None:
    sql = "SELECT 1 AS one, NULL AS nothing, CURRENT_DATE AS today, amount FROM raw.orders"
    model = analyse_models([("mart.c", sql)], CATALOG).models["mart.c"]
    assert model.columns["one"] == model.columns["nothing"] == model.columns["today"] == []
    assert model.types["nothing"] == "unknown"
    assert model.types["amount"] == "DECIMAL(18, 2)"


def test_scalar_subquery_feeds_its_column_and_correlation_is_a_filter() -> None:
    sql = """SELECT o.order_id,
        (SELECT MAX(r.amount) FROM raw.refunds AS r WHERE r.order_id = o.order_id) AS refund
      FROM raw.orders AS o"""
    model = analyse_models([("mart.s", sql)], CATALOG).models["mart.s"]
    assert model.columns["refund"] == [ColumnRef("raw.refunds", "amount")]
    assert model.filters == [
        ColumnRef("raw.orders", "order_id"),
        ColumnRef("raw.refunds", "order_id"),
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("(SELECT order_id FROM raw.orders ORDER BY 1 LIMIT 3)", {"order_id": ["order_id"]}),
        # DuckDB lets a select item use an earlier one's alias.
        ("SELECT amount * 2 AS x, x + 1 AS y FROM raw.orders", {"x": ["amount"], "y": ["amount"]}),
        (
            "SELECT * REPLACE (amount * 2 AS amount) FROM raw.refunds",
            {
                "refund_id": ["refund_id"],
                "order_id": ["order_id"],
                "amount": ["amount"],
                "refunded_at": ["refunded_at"],
            },
        ),
        ("SELECT u.x FROM raw.orders AS o, UNNEST([o.amount]) AS u(x)", {"x": ["amount"]}),
        ("SELECT v.a FROM (VALUES (1), (2)) AS v(a)", {"a": []}),
        ("SELECT DISTINCT status FROM raw.orders ORDER BY status", {"status": ["status"]}),
    ],
)
def test_other_query_shapes(sql: str, expected: dict[str, list[str]]) -> None:
    model = analyse_models([("mart.q", sql)], CATALOG).models["mart.q"]
    assert {n: [r.column for r in refs] for n, refs in model.columns.items()} == expected


def test_mermaid_ids_are_safe_and_labels_readable() -> None:
    lineage = analyse_models(_models("chain"), CATALOG)
    chart = render_mermaid(lineage, "mart.country_revenue", "revenue")
    for node_id in re.findall(r"^\s*(?:subgraph )?(\S+?)\[", chart, flags=re.MULTILINE):
        assert re.fullmatch(r"\w+", node_id), node_id
    assert '["raw.orders"]' in chart and '["amount"]' in chart


def test_source_table_target() -> None:
    lineage = analyse_models(_models("chain"), CATALOG)
    assert resolve_target(lineage, "raw.orders") == ("raw.orders", None)
    report = render_json(lineage, "raw.orders")
    assert report["kind"] == "source" and report["downstream"] == ["stg.orders"]
    assert report["columns"]["amount"]["source_columns"] == ["raw.orders.amount"]


# --- errors: one line naming the model and what is wrong; all usage errors (exit 2) ---


def _error(models: list[tuple[str, str]]) -> LineageError:
    with pytest.raises(LineageError) as caught:
        analyse_models(models, CATALOG)
    assert isinstance(caught.value, UsageError)
    assert "\n" not in str(caught.value)
    return caught.value


def test_unknown_table() -> None:
    error = _error([("mart.bad", "SELECT x FROM raw.nowhere")])
    assert str(error).startswith("model mart.bad: reads unknown table raw.nowhere")
    assert error.context["table"] == "raw.nowhere"


def test_unknown_table_behind_a_star() -> None:
    error = _error([("mart.bad", "WITH t AS (SELECT * FROM raw.nowhere) SELECT * FROM t")])
    assert "unknown table raw.nowhere" in str(error)


def test_unknown_qualified_column() -> None:
    error = _error([("mart.bad", "SELECT o.order_id,\n  o.colour FROM raw.orders AS o")])
    assert str(error).startswith("model mart.bad: column o.colour (line 2) is not in raw.orders")
    assert error.context == {"model": "mart.bad", "table": "raw.orders", "column": "colour"}


def test_unknown_bare_column() -> None:
    error = _error([("mart.bad", "SELECT colour FROM raw.orders")])
    assert str(error) == "model mart.bad: column colour (line 1) is not in raw.orders"


def test_unknown_column_of_an_upstream_model() -> None:
    models = [
        ("stg.o", "SELECT order_id FROM raw.orders"),
        ("mart.bad", "SELECT amount FROM stg.o"),
    ]
    assert "column amount (line 1) is not in stg.o" in str(_error(models))


def test_unknown_column_of_a_cte() -> None:
    error = _error([("mart.bad", "WITH t AS (SELECT order_id FROM raw.orders) SELECT t.x FROM t")])
    assert "model mart.bad: column t.x" in str(error)


def test_ambiguous_column() -> None:
    sql = "SELECT customer_id FROM raw.orders AS o JOIN raw.customers AS c ON c.name = o.status"
    error = _error([("mart.bad", sql)])
    expected = "column customer_id (line 1) is ambiguous: it is in raw.customers, raw.orders"
    assert str(error) == f"model mart.bad: {expected}"


def test_unknown_alias() -> None:
    error = _error([("mart.bad", "SELECT z.order_id FROM raw.orders AS o")])
    assert str(error) == "model mart.bad: column z.order_id (line 1): no table or alias z"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT order_id, order_id FROM raw.orders",
        "SELECT amount AS x, order_id AS X FROM raw.orders",
        "SELECT o.*, c.customer_id FROM raw.orders AS o, raw.customers AS c",
    ],
)
def test_duplicate_output_column(sql: str) -> None:
    error = _error([("mart.dup", sql)])
    assert str(error).startswith("model mart.dup: output column ")
    assert "appears twice" in str(error)


def test_unnamed_expression() -> None:
    error = _error([("mart.bad", "SELECT amount * 2 FROM raw.orders")])
    assert (
        str(error) == "model mart.bad: output column 1 has no name (write amount * 2 AS some_name)"
    )


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT 1 AS a; SELECT 2 AS b", "exactly one SELECT"),
        ("DELETE FROM raw.orders", "exactly one SELECT"),
        ("SELEC amount FROM raw.orders", "does not parse"),
    ],
)
def test_not_one_select(sql: str, problem: str) -> None:
    assert problem in str(_error([("mart.bad", sql)]))


def test_union_by_name_is_refused_not_guessed() -> None:
    sql = "SELECT order_id FROM raw.orders UNION ALL BY NAME SELECT order_id FROM raw.refunds"
    assert "UNION BY NAME" in str(_error([("mart.bad", sql)]))


def test_cycle_and_duplicate_models() -> None:
    cycle = [("mart.a", "SELECT x FROM mart.b"), ("mart.b", "SELECT x FROM mart.a")]
    assert "cycle" in str(_error(cycle))
    twice = [("mart.a", "SELECT 1 AS x"), ("MART.A", "SELECT 2 AS x")]
    assert str(_error(twice)) == "model mart.a: is defined twice"


def test_unknown_targets() -> None:
    lineage: Lineage = analyse_models(_models("chain"), CATALOG)
    with pytest.raises(UsageError, match="unknown model mart.nope"):
        resolve_target(lineage, "mart.nope")
    with pytest.raises(UsageError, match="mart.customer_revenue has no column colour"):
        resolve_target(lineage, "mart.customer_revenue.colour")
    with pytest.raises(UsageError, match="has no column"):
        trace(lineage, "stg.orders", "colour")
    for render in (render_text, render_json, render_mermaid):
        with pytest.raises(UsageError, match="unknown model mart.nope"):
            render(lineage, "mart.nope")
    assert render_text(lineage, "MART.Customer_Revenue", "REVENUE")[0].startswith(
        "mart.customer_revenue.revenue"
    )
