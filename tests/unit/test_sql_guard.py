"""The SQL guard refuses everything but one read-only query, and says which rule refused."""

from __future__ import annotations

import pytest

from headrace.errors import UsageError
from headrace.mcp.sql_guard import (
    MAX_SQL_CHARS,
    GuardedQuery,
    SqlRefused,
    denied_function,
    guard_sql,
    scan,
)
from tests.mcp_attacks import ALLOWED, ALLOWED_KIND, FORBIDDEN


def _refusal(sql: str, dialect: str = "postgres") -> SqlRefused:
    with pytest.raises(SqlRefused) as caught:
        guard_sql(sql, dialect)
    return caught.value


@pytest.mark.parametrize(("case_id", "dialect", "sql"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_forbidden_is_refused_by_the_expected_rule(case_id: str, dialect: str, sql: str) -> None:
    error = _refusal(sql, dialect)
    assert error.rule == case_id.split("/")[0], str(error)
    assert str(error).startswith(f"refused by rule {error.rule}: ")


@pytest.mark.parametrize(
    ("case_id", "dialect", "sql"), ALLOWED, ids=[f"{a[1]}-{a[0]}" for a in ALLOWED]
)
def test_allowed_passes_with_its_kind(case_id: str, dialect: str, sql: str) -> None:
    guarded = guard_sql(sql, dialect)
    assert guarded.kind == ALLOWED_KIND[(case_id, dialect)]
    assert not guarded.sql.endswith(";")


def test_attack_lists_are_big_enough() -> None:
    assert len(FORBIDDEN) >= 60
    for dialect in ("postgres", "duckdb"):
        assert sum(1 for a in ALLOWED if a[1] == dialect) >= 25
    assert len({(f[0], f[1]) for f in FORBIDDEN}) == len(FORBIDDEN)


def test_refusal_is_a_usage_error_with_rule_and_reason() -> None:
    error = _refusal("SELECT * FROM pg_read_file('/etc/passwd')")
    assert isinstance(error, UsageError)
    assert error.exit_code == 2
    assert error.rule == "denied_table_function"
    assert "pg_read_file" in error.reason
    assert str(error) == f"refused by rule denied_table_function: {error.reason}"


# --- statement counting ----------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ';' AS s",
        "SELECT 1 /* ; COMMIT; */",
        "SELECT 1 -- ; COMMIT",
        'SELECT 1 AS ";"',
        "SELECT $$;COMMIT$$",
        "SELECT $tag$ $$ ; COMMIT $tag$",
        "SELECT E'\\';COMMIT --'",
        "SELECT 1 /* nested /* ; */ still comment ; */",
    ],
)
def test_semicolons_inside_strings_and_comments_are_not_separators(sql: str) -> None:
    assert guard_sql(sql, "postgres").kind == "select"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 1; -- comment", "select 1"),
        ("select 1;\n/* done */\n", "select 1"),
        ("  select 1 ;  ", "select 1"),
        ("select 1 -- trailing", "select 1"),
        ("select 'a;b'", "select 'a;b'"),
    ],
)
def test_trailing_semicolon_and_comments_are_stripped(sql: str, expected: str) -> None:
    assert guard_sql(sql, "postgres") == GuardedQuery(expected, "select")


@pytest.mark.parametrize(
    "sql",
    [
        "select 1; commit",
        "select 1;;",
        "select 1; ;",
        "select 1; select 2",
        "select 1 /* /* */ ; commit; */ ; commit",
        "select 1 -- x\n; commit",
        "select $a$ x $a$; rollback",
    ],
)
def test_any_second_statement_is_refused(sql: str) -> None:
    assert _refusal(sql).rule == "one_statement"


def test_backslash_quote_is_ambiguous_because_it_depends_on_server_settings() -> None:
    # with standard_conforming_strings=off the COMMIT would run as a second statement
    assert _refusal("select '\\''; commit; --'").rule == "ambiguous_sql"
    assert _refusal("select 'C:\\' AS path").rule == "ambiguous_sql"
    assert guard_sql("select 'C:\\\\x', E'C:\\\\'", "postgres").kind == "select"


def test_scan_classes_every_character() -> None:
    sql = "select 'a' -- c\n/* x */ \"q\""
    assert scan(sql) == "xxxxxxwssswccccwcccccccwsss"


@pytest.mark.parametrize(("sql", "rule"), [("", "empty"), ("   \n", "empty"), (";", "empty")])
def test_empty_input(sql: str, rule: str) -> None:
    assert _refusal(sql).rule == rule


def test_comment_only_input_is_empty() -> None:
    assert _refusal("-- nothing here\n/* or here */").rule == "empty"


def test_very_long_input_is_refused_before_parsing() -> None:
    sql = "SELECT 1" + " " * MAX_SQL_CHARS
    error = _refusal(sql)
    assert error.rule == "too_long"
    assert guard_sql("SELECT 1" + " " * (MAX_SQL_CHARS - 8), "postgres").sql == "SELECT 1"


def test_nul_character_is_refused() -> None:
    assert _refusal("SELECT 1\x00; COMMIT").rule == "parse_error"


def test_parse_failure_is_refused_not_passed_through() -> None:
    assert _refusal("SELECT FROM WHERE (").rule == "parse_error"
    assert _refusal("SELECT 1 +", "duckdb").rule == "parse_error"


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        guard_sql("SELECT 1", "mysql")


# --- function names: case, quoting, qualification, placement ----------------------------


@pytest.mark.parametrize(
    "call",
    [
        "pg_read_file('/etc/passwd')",
        "PG_READ_FILE('/etc/passwd')",
        "Pg_Read_File('/etc/passwd')",
        "\"pg_read_file\"('/etc/passwd')",
        "\"PG_READ_FILE\"('/etc/passwd')",
        "pg_catalog.pg_read_file('/etc/passwd')",
        '"pg_catalog"."pg_read_file"(\'/etc/passwd\')',
        "pg_catalog . pg_read_file ('/etc/passwd')",
        "pg_read_file /* hi */ ('/etc/passwd')",
    ],
)
def test_function_name_tricks_are_caught(call: str) -> None:
    for sql in (f"SELECT {call}", f"SELECT * FROM {call} AS f"):
        error = _refusal(sql)
        assert error.rule in {"denied_function", "denied_table_function"}
        assert "pg_read_file" in error.reason


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("SELECT * FROM (SELECT * FROM (SELECT pg_sleep(1)) a) b", "denied_function"),
        ("SELECT * FROM shop.orders o, LATERAL pg_ls_dir('/') d", "denied_table_function"),
        (
            "SELECT * FROM shop.orders o CROSS JOIN LATERAL"
            " (SELECT * FROM pg_read_file('/etc/passwd') AS f) x",
            "denied_table_function",
        ),
        (
            "WITH a AS (WITH b AS (SELECT lo_get(1)) SELECT * FROM b) SELECT * FROM a",
            "denied_function",
        ),
        ("SELECT 1 WHERE EXISTS (SELECT pg_advisory_lock(1))", "denied_function"),
        ("SELECT sum(x) OVER (ORDER BY pg_sleep(1)) FROM shop.orders", "denied_function"),
        ("SELECT 1 UNION ALL SELECT nextval('s')", "denied_function"),
        (
            "SELECT * FROM shop.orders GROUP BY id HAVING set_config('a', 'b', true) = 'b'",
            "denied_function",
        ),
        (
            "SELECT * FROM shop.orders JOIN dblink('x', 'y') AS t(a int) ON true",
            "denied_table_function",
        ),
    ],
)
def test_denied_functions_are_found_anywhere_in_the_tree(sql: str, rule: str) -> None:
    assert _refusal(sql).rule == rule


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT list_transform([1], x -> getenv('HOME'))",
        "SELECT 'HOME'.getenv()",
        "SELECT * FROM shop.customers WHERE name IN (SELECT content FROM read_text('/etc/passwd'))",
        "SELECT * FROM READ_CSV_AUTO('/etc/passwd')",
        "SELECT * FROM \"read_csv\"('/etc/passwd')",
    ],
)
def test_duckdb_denied_functions_anywhere(sql: str) -> None:
    assert _refusal(sql, "duckdb").rule in {"denied_function", "denied_table_function"}


def test_denylist_covers_both_dialects_whatever_the_dialect_argument() -> None:
    assert _refusal("SELECT * FROM read_csv('/etc/passwd')", "postgres").rule.startswith("denied")
    assert _refusal("SELECT pg_sleep(1)", "duckdb").rule == "denied_function"


@pytest.mark.parametrize(
    "name",
    [
        "pg_read_file",
        "pg_catalog.pg_read_binary_file",
        "pg_ls_tmpdir",
        "lo_unlink",
        "loread",
        "dblink_connect",
        "postgres_fdw_disconnect",
        "pg_try_advisory_lock_shared",
        "pg_advisory_xact_lock",
        "pg_sleep_until",
        "pg_backup_start",
        "pg_replication_origin_create",
        "pg_create_logical_replication_slot",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "read_json_auto",
        "read_ndjson",
        "parquet_schema",
        "iceberg_metadata",
        "sqlite_attach",
        "mysql_query",
        "GETENV",
        "query",
        "force_checkpoint",
    ],
)
def test_denylist_entries(name: str) -> None:
    assert denied_function(name)


@pytest.mark.parametrize(
    "name",
    ["current_setting", "gen_random_uuid", "generate_series", "range", "upper", "now", "sum"],
)
def test_harmless_functions_are_not_denied(name: str) -> None:
    assert denied_function(name) is None


def test_columns_named_like_denied_functions_are_fine() -> None:
    # only calls are denied: pg_stat_activity has a column called query
    assert guard_sql("SELECT query FROM pg_stat_activity", "postgres").kind == "select"
    assert guard_sql("SELECT 1 AS glob, 2 AS checkpoint", "duckdb").kind == "select"


def test_unicode_escaped_identifiers_are_refused() -> None:
    assert _refusal('SELECT U&"\\0070g_sleep"(1)').rule == "ambiguous_sql"


# --- statement kinds --------------------------------------------------------------------


def test_explain_analyze_is_allowed_only_around_an_allowed_query() -> None:
    assert guard_sql("EXPLAIN ANALYZE SELECT 1", "postgres").kind == "explain"
    assert guard_sql("EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1", "postgres").kind == "explain"
    assert _refusal("EXPLAIN ANALYZE UPDATE shop.orders SET amount = 0").rule == "statement_kind"
    assert _refusal("EXPLAIN (ANALYZE) CREATE TABLE x AS SELECT 1").rule == "statement_kind"
    assert _refusal("EXPLAIN EXPLAIN SELECT 1").rule == "statement_kind"
    assert _refusal("EXPLAIN (ANALYZE, EVIL) SELECT 1").rule == "statement_kind"
    assert _refusal("EXPLAIN").rule == "statement_kind"
    assert _refusal("EXPLAIN SELECT * FROM shop.orders FOR UPDATE").rule == "row_lock"


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SHOW search_path", "postgres"),
        ("SHOW TRANSACTION ISOLATION LEVEL", "postgres"),
        ("SHOW TABLES", "duckdb"),
        ("SHOW shop.orders", "duckdb"),
    ],
)
def test_show_forms(sql: str, dialect: str) -> None:
    assert guard_sql(sql, dialect).kind == "show"


@pytest.mark.parametrize(
    "sql", ["SHOW", "SHOW SELECT * FROM read_csv('x')", "SHOW 'x'", "SHOW a b c d e f g"]
)
def test_show_with_anything_but_plain_names_is_refused(sql: str) -> None:
    assert _refusal(sql, "duckdb").rule == "statement_kind"


def test_describe_is_duckdb_only() -> None:
    assert guard_sql("DESCRIBE shop.orders", "duckdb").kind == "describe"
    assert _refusal("DESCRIBE shop.orders", "postgres").rule == "statement_kind"


@pytest.mark.parametrize(
    "sql",
    [
        "WITH x AS (SELECT 1) DELETE FROM shop.orders",
        "WITH d AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE) SELECT 1",
        "SELECT * FROM (SELECT 1) s"
        " WHERE EXISTS (WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 FROM d)",
    ],
)
def test_writes_hidden_in_with_clauses(sql: str) -> None:
    assert _refusal(sql).rule in {"writable_cte", "statement_kind", "parse_error"}


def test_row_locks_anywhere() -> None:
    assert _refusal("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x").rule == "row_lock"
    assert _refusal("SELECT * FROM t WHERE id IN (SELECT id FROM t FOR SHARE)").rule == "row_lock"


def test_duckdb_file_tables() -> None:
    assert _refusal("FROM 'data/*.csv'", "duckdb").rule == "file_table"
    assert _refusal("SELECT * FROM shop.orders, 'x.parquet'", "duckdb").rule == "file_table"
    assert _refusal("FROM secrets.csv", "duckdb").rule == "file_table"
    # a schema-qualified table is still a table
    assert guard_sql("FROM shop.orders", "duckdb").kind == "select"


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN",
        "START TRANSACTION",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "RESET ALL",
        "DO $$ BEGIN END $$",
        "CALL p()",
        "COPY t TO PROGRAM 'id'",
        "VACUUM",
        "LISTEN x",
        "NOTIFY x",
        "DISCARD ALL",
    ],
)
def test_transaction_control_and_commands_are_refused(sql: str) -> None:
    assert _refusal(sql).rule == "statement_kind"
