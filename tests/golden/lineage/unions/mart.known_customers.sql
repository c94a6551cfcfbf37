-- A UNION (distinct) inside a CTE, renamed on the way out.
WITH ids AS (
    SELECT customer_id AS id FROM raw.customers
    UNION
    SELECT customer_id FROM raw.orders
)
SELECT id AS customer_id
FROM ids
