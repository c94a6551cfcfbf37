-- DuckDB's SELECT * EXCLUDE drops columns from the expansion.
SELECT * EXCLUDE (status, ordered_at)
FROM raw.orders
