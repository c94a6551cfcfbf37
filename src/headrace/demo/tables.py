"""The demo data set's tables: file, format and typed columns, shared by generator and loader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["csv", "ndjson", "parquet"]


@dataclass(frozen=True)
class Column:
    """One column: its name in the file and the DuckDB type it loads as."""

    name: str
    type: str


@dataclass(frozen=True)
class DemoTable:
    """One source file and the warehouse table it loads into."""

    table: str
    file: str
    format: FileFormat
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.columns]


CUSTOMERS = DemoTable(
    table="raw.customers",
    file="customers.csv",
    format="csv",
    columns=(
        Column("customer_id", "BIGINT"),
        Column("name", "VARCHAR"),
        Column("email", "VARCHAR"),
        Column("country", "VARCHAR"),
        Column("signed_up_at", "TIMESTAMP"),
        Column("lifetime_value", "DECIMAL(12,2)"),
    ),
)

PRODUCTS = DemoTable(
    table="raw.products",
    file="products.parquet",
    format="parquet",
    columns=(
        Column("product_id", "BIGINT"),
        Column("sku", "VARCHAR"),
        Column("name", "VARCHAR"),
        Column("category", "VARCHAR"),
        Column("price", "DECIMAL(10,2)"),
        Column("active", "BOOLEAN"),
    ),
)

ORDERS = DemoTable(
    table="raw.orders",
    file="orders.csv",
    format="csv",
    columns=(
        Column("order_id", "BIGINT"),
        Column("customer_id", "BIGINT"),
        Column("status", "VARCHAR"),
        Column("ordered_at", "TIMESTAMP"),
        Column("shipped_at", "TIMESTAMP"),
        Column("amount", "DECIMAL(12,2)"),
        Column("note", "VARCHAR"),
    ),
)

ORDER_LINES = DemoTable(
    table="raw.order_lines",
    file="order_lines.ndjson",
    format="ndjson",
    columns=(
        Column("order_id", "BIGINT"),
        Column("line_no", "INTEGER"),
        Column("product_id", "BIGINT"),
        Column("quantity", "INTEGER"),
        Column("unit_price", "DECIMAL(10,2)"),
    ),
)

# Load order: parents before children, so a partial run still leaves referenced rows.
DEMO_TABLES: tuple[DemoTable, ...] = (CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES)

QUARANTINE_TABLE = "raw._quarantine"
DATA_DIR = "data"
WAREHOUSE_FILE = "warehouse.duckdb"
