"""The demo's SQL models: staging views over the loaded tables and two marts, one of them
incremental. Written to ``models/`` on every run, like ``headrace.yml``."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = "models"
# The column the demo traces with `headrace lineage` after its run.
LINEAGE_EXAMPLE = "marts.daily_category_revenue.revenue"

MODELS: dict[str, str] = {
    "staging/orders.sql": """\
-- Orders as the marts use them: a calendar day, and returned orders flagged.
-- materialized: view
-- tags: [staging]
SELECT
    order_id,
    customer_id,
    status,
    status = 'returned' AS is_returned,
    CAST(ordered_at AS DATE) AS order_date,
    ordered_at,
    shipped_at,
    amount
FROM raw.orders
""",
    "staging/order_lines.sql": """\
-- One row per order line with its value; negative quantities are corrections and stay.
-- materialized: view
-- tags: [staging]
SELECT
    order_id,
    line_no,
    product_id,
    quantity,
    unit_price,
    quantity * unit_price AS line_total
FROM raw.order_lines
""",
    "marts/daily_category_revenue.sql": """\
-- Revenue per product category and day. Incremental: each run re-takes the last three
-- days (late order lines) and replaces them, so nothing is counted twice.
-- materialized: incremental
-- incremental: {strategy: delete_insert, time_column: order_date, lookback: 3d}
-- tags: [marts]
-- checks:
--   columns: {category: [not_null], revenue: [not_null]}
SELECT
    o.order_date,
    p.category,
    count(DISTINCT o.order_id) AS orders,
    sum(l.quantity) AS units,
    sum(l.line_total) AS revenue
FROM staging.order_lines AS l
JOIN staging.orders AS o ON o.order_id = l.order_id
JOIN raw.products AS p ON p.product_id = l.product_id
WHERE NOT o.is_returned
GROUP BY o.order_date, p.category
""",
    "marts/customer_lifetime_value.sql": """\
-- What each customer has spent on orders they kept, and where that ranks them.
-- materialized: table
-- tags: [marts]
-- indexes: [[customer_id]]
WITH spend AS (
    SELECT
        customer_id,
        count(*) AS orders,
        sum(amount) AS revenue,
        min(ordered_at) AS first_order_at,
        max(ordered_at) AS last_order_at
    FROM staging.orders
    WHERE NOT is_returned
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    c.name,
    c.country,
    coalesce(s.orders, 0) AS orders,
    coalesce(s.revenue, 0) AS lifetime_value,
    s.first_order_at,
    s.last_order_at,
    rank() OVER (ORDER BY coalesce(s.revenue, 0) DESC) AS value_rank
FROM raw.customers AS c
LEFT JOIN spend AS s ON s.customer_id = c.customer_id
""",
}


def write_models(directory: Path) -> list[Path]:
    """Write the demo's model files under ``directory/models``; returns them."""
    written = []
    for relative, sql in MODELS.items():
        path = directory / MODELS_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
        written.append(path)
    return written
