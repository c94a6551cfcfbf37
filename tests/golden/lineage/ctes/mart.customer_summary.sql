-- A CTE reading a CTE, a WITH nested inside a CTE, an aggregate, and a derived table.
WITH paid AS (
    SELECT order_id, customer_id, amount
    FROM raw.orders
    WHERE status = 'paid'
),
refunded AS (
    WITH per_order AS (
        SELECT order_id, SUM(amount) AS refunded
        FROM raw.refunds
        GROUP BY order_id
    )
    SELECT p.customer_id, SUM(r.refunded) AS refunded
    FROM per_order AS r
    JOIN paid AS p ON p.order_id = r.order_id
    GROUP BY p.customer_id
),
totals AS (
    SELECT customer_id, COUNT(order_id) AS orders, SUM(amount) AS gross
    FROM paid
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    c.name,
    t.orders,
    t.gross,
    t.gross - COALESCE(r.refunded, 0) AS net,
    COALESCE(big.is_big, FALSE) AS is_big
FROM raw.customers AS c
JOIN totals AS t ON t.customer_id = c.customer_id
LEFT JOIN refunded AS r ON r.customer_id = c.customer_id
LEFT JOIN (
    SELECT customer_id, MAX(amount) > 1000 AS is_big
    FROM paid
    GROUP BY customer_id
) AS big ON big.customer_id = c.customer_id
