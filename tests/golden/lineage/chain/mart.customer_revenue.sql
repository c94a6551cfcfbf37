-- Reads staging models through SELECT * (a CTE named like a table it does not shadow) and c.*.
WITH orders AS (
    SELECT * FROM stg.orders
)
SELECT
    c.*,
    SUM(o.amount) AS revenue,
    MIN(o.order_date) AS first_order_date,
    COUNT(o.order_id) AS order_count
FROM stg.customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.customer_id
GROUP BY ALL
