-- Window functions: PARTITION BY and ORDER BY columns feed the windowed column,
-- also through a named WINDOW; QUALIFY only filters rows.
SELECT
    o.order_id,
    o.customer_id,
    ROW_NUMBER() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at) AS order_seq,
    SUM(o.amount) OVER (
        PARTITION BY o.customer_id
        ORDER BY o.ordered_at
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS running_total,
    LAG(o.amount) OVER w AS previous_amount,
    RANK() OVER (ORDER BY c.signed_up_at) AS signup_rank
FROM raw.orders AS o
JOIN raw.customers AS c ON c.customer_id = o.customer_id
WINDOW w AS (PARTITION BY o.customer_id ORDER BY o.ordered_at)
QUALIFY order_seq <= 10
