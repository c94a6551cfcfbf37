"""The demo README: what each file holds, how it loads, and which rows are broken on purpose."""

from __future__ import annotations

from headrace.demo.checks import CHECKS_FILE, EXPECTED_FAIL, EXPECTED_WARN
from headrace.demo.planted import PLANTED_BAD_ROWS
from headrace.demo.tables import DATA_DIR, DEMO_TABLES, QUARANTINE_TABLE, SCHEMA_DIR, WAREHOUSE_FILE

_DESCRIPTIONS = {
    "customers.csv": "customer_id, name, email, country, signed_up_at, lifetime_value",
    "products.parquet": "product_id, sku, name, category, price, active",
    "orders.csv": "order_id, customer_id, status, ordered_at, shipped_at (empty until shipped),"
    " amount, note (often empty)",
    "order_lines.ndjson": "order_id, line_no, product_id, quantity, unit_price",
}


def readme_text() -> str:
    """The README text; planted rows listed by file, line and reason."""
    files = "\n".join(
        f"- `{DATA_DIR}/{t.file}` -> `{t.table}`: {_DESCRIPTIONS[t.file]}" for t in DEMO_TABLES
    )
    planted = "\n".join(
        f"| `{bad.file}` | {bad.line} | `{bad.code}` | {bad.reason} |" for bad in PLANTED_BAD_ROWS
    )
    return f"""\
# headrace demo

A small, generated e-commerce data set (about 100,000 rows) loaded into the DuckDB
warehouse `{WAREHOUSE_FILE}` by the pipelines in `headrace.yml`, one per table, each with
its declared schema in `{SCHEMA_DIR}/`. Run `headrace demo` again to regenerate the files
and reload the tables (`write: replace`); the same seed gives the same bytes and the same
tables. Inside this folder, `headrace run` reloads the tables from the files as they are.

## Files

{files}

## Bad rows planted on purpose

These rows cannot be loaded as declared. They land in `{QUARANTINE_TABLE}` with their raw
text, position and reason code, instead of being loaded or dropped. Positions are physical
lines: in CSV files the header is line 1 and the quarantine's `line` column holds it; for
NDJSON files the `row_offset` column counts the records from 1.

| file | line | reason | why |
| --- | --- | --- | --- |
{planted}

Some rows are well-formed but wrong: about one order line in 500 has a negative
quantity, and some orders and order lines reference the rejected rows above. Loading
accepts them; data-quality checks are there to catch them.

See the quarantined rows:

```sh
headrace quarantine list
headrace quarantine show RUN_ID
```

or query them:

```sql
SELECT table_name, source, coalesce(line, row_offset) AS position, reason, message, raw
FROM {QUARANTINE_TABLE} ORDER BY 1, 3;
```

## Data-quality checks

`{CHECKS_FILE}` declares checks on the loaded tables; the demo runs them after loading
and `headrace check` runs them again (with samples of failing rows and the SQL that finds
all of them). Most pass. `{EXPECTED_WARN[1]}` on `{EXPECTED_WARN[0]}` warns about the
negative quantities, and `{EXPECTED_FAIL[1]}` fails on the order lines whose order
was quarantined; that check is `severity: non_blocking`, so `headrace check` still exits
0. Results and their history are in `_headrace.check_results`.
"""
