-- UNION ALL of three branches: the first branch names the columns, every branch feeds them.
SELECT order_id, amount, ordered_at AS happened_at, 'sale' AS kind
FROM raw.orders
UNION ALL
SELECT order_id, -amount, refunded_at, 'refund'
FROM raw.refunds
UNION ALL
SELECT order_id, quantity * unit_price, NULL, 'line'
FROM raw.order_items
