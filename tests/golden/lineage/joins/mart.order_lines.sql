-- Four tables joined under aliases (ON and USING); expressions mix columns of several tables.
SELECT
    i.order_id,
    i.line_no,
    o.customer_id,
    UPPER(c.name) AS customer_name,
    p.category,
    i.quantity * i.unit_price AS line_total,
    COALESCE(p.list_price - i.unit_price, 0) AS discount,
    CASE WHEN c.country = 'NL' THEN 'domestic' ELSE 'export' END AS market,
    'v1' AS schema_version
FROM raw.order_items AS i
JOIN raw.orders AS o ON o.order_id = i.order_id
LEFT JOIN raw.customers AS c ON c.customer_id = o.customer_id
LEFT JOIN raw.products AS p USING (product_id)
WHERE o.status <> 'cancelled'
