SELECT order_id, customer_id, amount, CAST(ordered_at AS DATE) AS order_date
FROM raw.orders
WHERE status = 'paid'
