-- t.* expands from the catalog; names are case-insensitive, quoted or not (DuckDB).
SELECT O.*, C.NAME AS Customer_Name, C."Country"
FROM RAW.ORDERS AS O
JOIN raw.customers AS c ON c.customer_id = o.customer_id
