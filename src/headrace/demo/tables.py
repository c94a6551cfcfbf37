"""The demo data set's tables: file, format, typed columns and keys, shared by all demo code.

Types are headrace's logical types (the vocabulary of schema files), so the generator, the
schema files and the README agree on one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["csv", "ndjson", "parquet"]


@dataclass(frozen=True)
class Column:
    """One column: its name in the file and the headrace type it loads as."""

    name: str
    type: str


@dataclass(frozen=True)
class DemoTable:
    """One source file, the warehouse table it loads into, and the pipeline that loads it."""

    pipeline: str
    table: str
    file: str
    format: FileFormat
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    # Foreign keys: a row without them is meaningless, so they are required too.
    references: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.columns]

    @property
    def not_null(self) -> tuple[str, ...]:
        """Key columns: the primary key and the references to other tables."""
        return (*self.primary_key, *self.references)


CUSTOMERS = DemoTable(
    pipeline="customers",
    table="raw.customers",
    file="customers.csv",
    format="csv",
    columns=(
        Column("customer_id", "int64"),
        Column("name", "text"),
        Column("email", "text"),
        Column("country", "text"),
        Column("signed_up_at", "timestamp"),
        Column("lifetime_value", "decimal(12,2)"),
    ),
    primary_key=("customer_id",),
)

PRODUCTS = DemoTable(
    pipeline="products",
    table="raw.products",
    file="products.parquet",
    format="parquet",
    columns=(
        Column("product_id", "int64"),
        Column("sku", "text"),
        Column("name", "text"),
        Column("category", "text"),
        Column("price", "decimal(10,2)"),
        Column("active", "bool"),
    ),
    primary_key=("product_id",),
)

ORDERS = DemoTable(
    pipeline="orders",
    table="raw.orders",
    file="orders.csv",
    format="csv",
    columns=(
        Column("order_id", "int64"),
        Column("customer_id", "int64"),
        Column("status", "text"),
        Column("ordered_at", "timestamp"),
        Column("shipped_at", "timestamp"),
        Column("amount", "decimal(12,2)"),
        Column("note", "text"),
    ),
    primary_key=("order_id",),
    references=("customer_id",),
    depends_on=("customers",),
)

ORDER_LINES = DemoTable(
    pipeline="order_lines",
    table="raw.order_lines",
    file="order_lines.ndjson",
    format="ndjson",
    columns=(
        Column("order_id", "int64"),
        Column("line_no", "int32"),
        Column("product_id", "int64"),
        Column("quantity", "int32"),
        Column("unit_price", "decimal(10,2)"),
    ),
    primary_key=("order_id", "line_no"),
    references=("product_id",),
    depends_on=("orders", "products"),
)

# Parents before children: the order of the pipelines in headrace.yml and of the summary.
DEMO_TABLES: tuple[DemoTable, ...] = (CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES)

QUARANTINE_TABLE = "_headrace.quarantine"
DATA_DIR = "data"
SCHEMA_DIR = "schemas"
WAREHOUSE_FILE = "warehouse.duckdb"
