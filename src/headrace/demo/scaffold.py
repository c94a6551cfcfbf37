"""The demo project's own files: ``headrace.yml`` and a README that lists the planted rows."""

from __future__ import annotations

from pathlib import Path

from headrace.demo.planted import PLANTED_BAD_ROWS
from headrace.demo.tables import DATA_DIR, DEMO_TABLES, QUARANTINE_TABLE, WAREHOUSE_FILE

CONFIG_FILE = "headrace.yml"
README_FILE = "README.md"
WAREHOUSE_URL = f"duckdb:///{WAREHOUSE_FILE}"

_CONFIG = f"""\
# headrace demo project, written by `headrace demo`.
# DuckDB URLs here are relative to this project directory, not to the working directory.
name: headrace-demo
warehouse: {WAREHOUSE_URL}
connections:
  warehouse: {WAREHOUSE_URL}
"""

_DESCRIPTIONS = {
    "customers.csv": "customer_id, name, email, country, signed_up_at, lifetime_value",
    "products.parquet": "product_id, sku, name, category, price, active",
    "orders.csv": "order_id, customer_id, status, ordered_at, shipped_at (empty until shipped),"
    " amount, note (often empty)",
    "order_lines.ndjson": "order_id, line_no, product_id, quantity, unit_price",
}


def write_project_files(directory: Path) -> list[Path]:
    """Write ``headrace.yml`` and ``README.md`` unless they exist; return the ones written."""
    written = []
    # Never overwrite: the user may have added pipelines, models or checks to the project.
    for name, text in ((CONFIG_FILE, _CONFIG), (README_FILE, readme_text())):
        path = directory / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def readme_text() -> str:
    """The demo README: what each file holds and which rows are broken on purpose."""
    files = "\n".join(
        f"- `{DATA_DIR}/{t.file}` -> `{t.table}`: {_DESCRIPTIONS[t.file]}" for t in DEMO_TABLES
    )
    planted = "\n".join(f"| `{bad.file}` | {bad.line} | {bad.reason} |" for bad in PLANTED_BAD_ROWS)
    return f"""\
# headrace demo

A small, generated e-commerce data set (about 100,000 rows) loaded into the DuckDB
warehouse `{WAREHOUSE_FILE}`. Run `headrace demo` again to regenerate the files and reload
the tables; the same seed gives the same bytes and the same tables.

## Files

{files}

## Bad rows planted on purpose

These rows cannot be loaded as typed. They land in `{QUARANTINE_TABLE}` with their raw
text, line number and reason, instead of being loaded or dropped. Line numbers are
physical lines (in CSV files the header is line 1).

| file | line | why |
| --- | --- | --- |
{planted}

Some rows are well-formed but wrong: about one order line in 500 has a negative
quantity, and some orders and order lines reference the rejected rows above. Loading
accepts them; data-quality checks are there to catch them.

Query the quarantine:

```sql
SELECT table_name, line, reason, raw_text FROM {QUARANTINE_TABLE} ORDER BY 1, 2;
```
"""
