"""Index health on real databases: each kind of finding, and its DDL making it go away."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from headrace.advisor.health import HealthFinding, HealthReport, index_health
from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import ConnectError, TerminalError

# Test-sized indexes are a few MB at most; the defaults (30% and 10 MB) would hide them.
SMALL_BLOAT = {"bloat_min_pct": 50.0, "bloat_min_bytes": 1024 * 1024}


@pytest.fixture
def pg(pg_url: str) -> Iterator[EngineAdapter]:
    engine = create_engine(pg_url)
    try:
        yield engine
    finally:
        engine.close()


def run_sql(engine: EngineAdapter, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            engine.execute(statement)


def found(report: HealthReport, kind: str, index: str | None = None) -> list[HealthFinding]:
    return [f for f in report.findings if f.kind == kind and (index is None or f.index == index)]


def apply(engine: EngineAdapter, finding: HealthFinding) -> None:
    # CONCURRENTLY statements cannot share a transaction: one autocommit statement each.
    for statement in finding.statements:
        engine.execute(statement)


def reset_stats_then_scan(engine: EngineAdapter, table: str, where: str, index: str) -> None:
    """Zero the counters, use ``index`` once, and wait until the scan is visible."""
    engine.execute("SELECT pg_stat_reset()")
    engine.execute("SET enable_seqscan = off")
    engine.fetchall(f"SELECT * FROM {table} WHERE {where}")
    engine.execute("RESET enable_seqscan")
    # PostgreSQL 15 flushes statistics asynchronously; force it, then poll.
    engine.fetchall("SELECT pg_stat_force_next_flush()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = engine.fetchall(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s", [index]
        )
        if rows and rows[0][0]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the scan of {index} never showed up in pg_stat_user_indexes")


def test_missing_fk_index_found_and_fixed(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE SCHEMA app;
        CREATE TABLE app.parent (id int PRIMARY KEY);
        CREATE TABLE app.child (id int PRIMARY KEY, parent_id int REFERENCES app.parent (id));
        CREATE TABLE app.served (id int PRIMARY KEY, parent_id int REFERENCES app.parent (id));
        CREATE INDEX served_parent_idx ON app.served (parent_id, id);
        CREATE TABLE app.pair (a int, b int, PRIMARY KEY (a, b));
        CREATE TABLE app.pair_child (
            id int PRIMARY KEY, b int, a int, FOREIGN KEY (b, a) REFERENCES app.pair (b, a));
        CREATE INDEX pair_child_a_b ON app.pair_child (a, b);
        CREATE TABLE app.partial_child (id int PRIMARY KEY, parent_id int REFERENCES app.parent);
        CREATE INDEX partial_child_idx ON app.partial_child (parent_id) WHERE parent_id > 0
        """,
    )
    report = index_health(pg)
    missing = found(report, "missing_fk_index")
    assert sorted(f.table for f in missing) == ["app.child", "app.partial_child"]
    child = next(f for f in missing if f.table == "app.child")
    assert child.columns == ("parent_id",) and child.index is None
    assert "references app.parent" in child.detail
    assert child.ddl == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "child_parent_id_idx"'
        ' ON "app"."child" ("parent_id");'
    )
    for finding in missing:
        apply(pg, finding)
    assert found(index_health(pg), "missing_fk_index") == []


def test_duplicate_and_prefix_covered_indexes(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE TABLE events (id int PRIMARY KEY, a int, b int, c text);
        CREATE INDEX events_a ON events (a);
        CREATE INDEX events_a_b ON events (a, b);
        CREATE INDEX events_a_partial ON events (a) WHERE b > 0;
        CREATE INDEX events_a_desc ON events (a DESC);
        CREATE INDEX events_a_hash ON events USING hash (a);
        CREATE INDEX events_b_incl ON events (b) INCLUDE (c);
        CREATE INDEX events_b_a ON events (b, a);
        CREATE TABLE twins (id int PRIMARY KEY, x int);
        CREATE INDEX twins_x_1 ON twins (x);
        CREATE INDEX twins_x_2 ON twins (x);
        CREATE TABLE codes (id int PRIMARY KEY, code text UNIQUE);
        CREATE INDEX codes_code_idx ON codes (code);
        CREATE INDEX codes_lower_idx ON codes (lower(code));
        CREATE UNIQUE INDEX codes_id_code ON codes (id, code);
        CREATE INDEX codes_id_idx ON codes (id)
        """,
    )
    report = index_health(pg)
    dropped = {f.index: f for f in found(report, "duplicate")}
    # Prefix-covered, exact twin (the newer one goes), and a plain copy of a unique key.
    assert set(dropped) == {"events_a", "twins_x_2", "codes_code_idx", "codes_id_idx"}
    assert "leading prefix of public.events_a_b (a, b)" in dropped["events_a"].detail
    assert "same key columns as public.twins_x_1" in dropped["twins_x_2"].detail
    assert "unique public.codes_code_key (code)" in dropped["codes_code_idx"].detail
    assert "primary key public.codes_pkey (id)" in dropped["codes_id_idx"].detail
    assert dropped["twins_x_2"].ddl == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."twins_x_2";'
    assert report.counts["duplicate"] == 4
    for finding in dropped.values():
        apply(pg, finding)
    after = index_health(pg)
    assert found(after, "duplicate") == []
    left = {r[0] for r in pg.fetchall("SELECT indexname FROM pg_indexes WHERE tablename = 'codes'")}
    # Unique and primary indexes are never the ones dropped.
    assert {"codes_pkey", "codes_code_key", "codes_id_code", "codes_lower_idx"} <= left


def test_unused_since_stats_reset(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE lookups (id int PRIMARY KEY, k int, v int, code text UNIQUE,
                              parent_id int REFERENCES parent (id));
        CREATE INDEX lookups_k_idx ON lookups (k);
        CREATE INDEX lookups_v_idx ON lookups (v);
        CREATE INDEX lookups_parent_idx ON lookups (parent_id);
        INSERT INTO parent SELECT g FROM generate_series(1, 10) g;
        INSERT INTO lookups SELECT g, g, g, g::text, 1 + g % 10 FROM generate_series(1, 1000) g;
        CREATE TABLE orders (id int PRIMARY KEY, parent_id int REFERENCES parent (id), a int);
        CREATE INDEX orders_parent ON orders (parent_id);
        CREATE INDEX orders_parent_a ON orders (parent_id, a);
        ANALYZE
        """,
    )
    reset_stats_then_scan(pg, "lookups", "k = 7", "lookups_k_idx")
    report = index_health(pg)
    unused = {f.index: f for f in found(report, "unused")}
    # Used, unique, primary, the only index behind a foreign key, and the index that takes
    # over a duplicate's lookups are all kept.
    assert set(unused) == {"lookups_v_idx"}
    assert [f.index for f in found(report, "duplicate")] == ["orders_parent"]
    finding = unused["lookups_v_idx"]
    assert finding.scans == 0 and finding.size_bytes and finding.size_bytes > 0
    assert report.stats_reset is not None
    assert "since stats reset at" in finding.detail
    assert any("thin evidence" in note for note in report.notes)
    apply(pg, finding)
    assert found(index_health(pg), "unused") == []


def test_invalid_index_from_failed_concurrent_build(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE TABLE tags (id int PRIMARY KEY, tag text);
        INSERT INTO tags VALUES (1, 'a'), (2, 'a'), (3, 'b')
        """,
    )
    with pytest.raises(TerminalError):
        pg.execute("CREATE UNIQUE INDEX CONCURRENTLY tags_tag_key ON tags (tag)")
    report = index_health(pg)
    (finding,) = found(report, "invalid")
    assert (finding.table, finding.index, finding.columns) == (
        "public.tags",
        "tags_tag_key",
        ("tag",),
    )
    assert "duplicate keys" in finding.detail
    assert finding.statements == (
        'DROP INDEX CONCURRENTLY IF EXISTS "public"."tags_tag_key"',
        "CREATE UNIQUE INDEX CONCURRENTLY tags_tag_key ON public.tags USING btree (tag)",
    )
    # An invalid index is never also called unused or duplicate: one fix per index.
    assert [f.kind for f in report.findings if f.index == "tags_tag_key"] == ["invalid"]
    pg.execute("DELETE FROM tags WHERE id = 2")
    apply(pg, finding)
    assert found(index_health(pg), "invalid") == []
    valid = pg.fetchall(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'tags_tag_key'::regclass"
    )
    assert valid == [(True,)]


def test_invalid_index_with_a_valid_twin_is_only_dropped(pg: EngineAdapter) -> None:
    run_sql(
        pg, "CREATE TABLE tags (id int PRIMARY KEY, tag text); INSERT INTO tags VALUES (1, 'a')"
    )
    # The first build fails on a duplicate; the retry, after the cleanup, succeeds.
    pg.execute("INSERT INTO tags VALUES (2, 'a')")
    with pytest.raises(TerminalError):
        pg.execute("CREATE UNIQUE INDEX CONCURRENTLY tags_tag_key ON tags (tag)")
    pg.execute("DELETE FROM tags WHERE id = 2")
    pg.execute("CREATE UNIQUE INDEX CONCURRENTLY tags_tag_key2 ON tags (tag)")
    (finding,) = index_health(pg).findings
    assert (finding.kind, finding.index) == ("invalid", "tags_tag_key")
    assert "public.tags_tag_key2 (tag) already serves" in finding.detail
    assert finding.statements == ('DROP INDEX CONCURRENTLY IF EXISTS "public"."tags_tag_key"',)
    apply(pg, finding)
    assert index_health(pg).findings == []


def test_bloated_index_rebuilt(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE TABLE bloated (id int PRIMARY KEY, pad int);
        INSERT INTO bloated SELECT g, g FROM generate_series(1, 200000) g;
        CREATE TABLE tidy (id int PRIMARY KEY);
        INSERT INTO tidy SELECT g FROM generate_series(1, 200000) g;
        DELETE FROM bloated WHERE id % 20 <> 0
        """,
    )
    # VACUUM keeps the emptied pages in the file and brings reltuples up to date.
    pg.execute("VACUUM ANALYZE bloated")
    pg.execute("VACUUM ANALYZE tidy")
    report = index_health(pg, **SMALL_BLOAT)
    (finding,) = found(report, "bloat")
    assert finding.index == "bloated_pkey"
    assert finding.ddl == 'REINDEX INDEX CONCURRENTLY "public"."bloated_pkey";'
    assert "wasted" in finding.detail and "10,000 entries" in finding.detail
    assert found(index_health(pg), "bloat") == []  # the 10 MB default hides ~4 MB of waste
    before = finding.size_bytes or 0
    apply(pg, finding)
    assert found(index_health(pg, **SMALL_BLOAT), "bloat") == []
    size = pg.fetchall("SELECT pg_relation_size('bloated_pkey')")[0][0]
    assert size < before / 5


def test_user_schemas_only(pg: EngineAdapter) -> None:
    run_sql(
        pg,
        """
        CREATE SCHEMA _headrace;
        CREATE TABLE _headrace.state (id int PRIMARY KEY, k int);
        CREATE INDEX state_k_1 ON _headrace.state (k);
        CREATE INDEX state_k_2 ON _headrace.state (k)
        """,
    )
    report = index_health(pg)
    assert report.findings == []
    assert report.index_count == 0 and report.total_index_bytes == 0
    assert report.to_json()["counts"] == {
        "invalid": 0,
        "duplicate": 0,
        "unused": 0,
        "missing_fk_index": 0,
        "bloat": 0,
    }


def test_role_without_rights(pg: EngineAdapter, pg_url: str) -> None:
    role = f"r_{uuid.uuid4().hex[:8]}"
    run_sql(
        pg,
        f"""
        CREATE TABLE secret (id int PRIMARY KEY, k int);
        CREATE INDEX secret_k_1 ON secret (k);
        CREATE INDEX secret_k_2 ON secret (k);
        INSERT INTO secret SELECT g, g FROM generate_series(1, 100) g;
        ANALYZE secret;
        CREATE ROLE {role} LOGIN PASSWORD 'pw'
        """,
    )
    database = pg_url.rsplit("/", 1)[1]
    role_url = f"postgresql://{role}:pw@{pg_url.split('@', 1)[1]}"
    try:
        # The catalog is public: duplicates are still found, and the report says which
        # estimates the missing SELECT privilege made impossible.
        with create_engine(role_url, read_only=True) as engine:
            report = index_health(engine, bloat_min_bytes=0)
        assert {f.index for f in found(report, "duplicate")} == {"secret_k_2"}
        assert any("without column statistics" in n and "SELECT" in n for n in report.notes)
        # Without CONNECT there is nothing to inspect: one clear error.
        pg.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
        with pytest.raises(ConnectError) as info:
            with create_engine(role_url) as engine:
                index_health(engine)
        assert "permission denied for database" in str(info.value)
        assert "\n" not in str(info.value)
    finally:
        pg.execute(f"DROP ROLE IF EXISTS {role}")


def test_duckdb_duplicates_and_notes(duckdb_url: str) -> None:
    with create_engine(duckdb_url) as engine:
        run_sql(
            engine,
            """
            CREATE SCHEMA shop;
            CREATE TABLE shop.orders (id INTEGER PRIMARY KEY, customer INTEGER, code VARCHAR UNIQUE,
                                      note VARCHAR);
            CREATE INDEX orders_customer_1 ON shop.orders (customer);
            CREATE INDEX orders_customer_2 ON shop.orders (customer);
            CREATE INDEX orders_customer_note ON shop.orders (customer, note);
            CREATE INDEX orders_code ON shop.orders (code);
            CREATE INDEX orders_lower ON shop.orders (lower(code), note)
            """,
        )
        report = index_health(engine)
        dropped = {f.index: f for f in found(report, "duplicate")}
        # ART indexes serve whole-key lookups only: (customer, note) covers nothing.
        assert set(dropped) == {"orders_customer_2", "orders_code"}
        assert "orders_customer_1" in dropped["orders_customer_2"].detail
        assert "unique shop.orders_code_key" in dropped["orders_code"].detail
        assert dropped["orders_code"].ddl == 'DROP INDEX IF EXISTS "shop"."orders_code";'
        assert any("not tracked by DuckDB" in n for n in report.notes)
        assert report.stats_reset is None and report.total_index_bytes is None
        for finding in dropped.values():
            apply(engine, finding)
        assert index_health(engine).findings == []
