"""Identifier handling through sqlglot: quoted always, normalised per dialect."""

from __future__ import annotations

import pytest

from headrace.engines.sql import quote_ident, quote_table, split_table, table_ref
from headrace.errors import UsageError


def test_quote_table_per_dialect() -> None:
    assert quote_table("Sales.Orders", "postgres") == '"sales"."orders"'
    assert quote_table('"Sales".Orders', "postgres") == '"Sales"."orders"'
    assert quote_table("orders", "duckdb") == '"orders"'


def test_split_table_fills_default_schema() -> None:
    assert split_table("orders", "postgres", "public") == ("public", "orders")
    assert split_table("raw.orders", "duckdb", "main") == ("raw", "orders")


def test_quote_ident_escapes_quotes() -> None:
    assert quote_ident('we"ird', "postgres") == '"we""ird"'


@pytest.mark.parametrize("bad", ["", "orders; drop table x", "a b", "select 1"])
def test_bad_table_names_are_rejected(bad: str) -> None:
    with pytest.raises(UsageError):
        table_ref(bad, "postgres")
