SELECT customer_id, TRIM(name) AS name, UPPER(country) AS country
FROM raw.customers
