-- SELECT * over JOIN ... USING: the join column appears once and is fed by both sides.
SELECT *
FROM raw.customers
JOIN raw.orders USING (customer_id)
