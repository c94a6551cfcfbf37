"""headrace indexes health as a user runs it: JSON shape, the text report, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from headrace.engines.registry import create_engine

HEADRACE = [sys.executable, "-m", "headrace"]

SCHEMA = """
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), a int, b int);
CREATE INDEX child_a ON child (a);
CREATE INDEX child_a_b ON child (a, b);
CREATE INDEX child_b ON child (b)
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def shop(pg_url: str) -> str:
    with create_engine(pg_url) as engine:
        for statement in SCHEMA.split(";"):
            engine.execute(statement)
    return pg_url


def test_json_shape(shop: str, tmp_path: Path) -> None:
    result = run("indexes", "health", "--to", shop, "--json", cwd=tmp_path)
    # Findings are the report, not a failure.
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) >= {"engine", "stats_reset", "findings", "counts", "notes"}
    assert payload["engine"] == "postgres"
    assert payload["counts"] == {
        "invalid": 0,
        "duplicate": 1,
        "unused": 1,
        "missing_fk_index": 1,
        "bloat": 0,
    }
    for finding in payload["findings"]:
        assert set(finding) == {
            "kind",
            "table",
            "index",
            "columns",
            "detail",
            "ddl",
            "size_bytes",
            "scans",
        }
    by_kind = {f["kind"]: f for f in payload["findings"]}
    assert by_kind["duplicate"]["index"] == "child_a"
    assert by_kind["duplicate"]["ddl"] == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."child_a";'
    assert by_kind["unused"]["index"] == "child_b" and by_kind["unused"]["scans"] == 0
    fk = by_kind["missing_fk_index"]
    assert (fk["table"], fk["index"], fk["columns"]) == ("public.child", None, ["parent_id"])
    assert fk["ddl"].startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS")


def test_text_report(shop: str, tmp_path: Path) -> None:
    result = run("indexes", "health", "--to", shop, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "duplicate or prefix-covered indexes (drop): 1" in out
    assert "foreign keys without an index (create): 1" in out
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."child_a";' in out
    assert 'ON "public"."child" ("parent_id");' in out
    assert "3 findings: 1 duplicate, 1 unused, 1 missing_fk_index; 5 indexes" in out


def test_duckdb_warehouse_by_default(tmp_path: Path) -> None:
    with create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}") as engine:
        engine.execute("CREATE TABLE t (id INTEGER, k INTEGER)")
        engine.execute("CREATE INDEX t_k_1 ON t (k)")
        engine.execute("CREATE INDEX t_k_2 ON t (k)")
    result = run("indexes", "health", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["engine"] == "duckdb" and payload["stats_reset"] is None
    assert [f["index"] for f in payload["findings"]] == ["t_k_2"]
    assert any("not tracked by DuckDB" in note for note in payload["notes"])
    text = run("indexes", "health", cwd=tmp_path)
    assert text.returncode == 0 and "note: unused indexes" in text.stdout


@pytest.mark.parametrize("target", ["nope", "mysql://u@h/db"])
def test_bad_target_is_usage_error(tmp_path: Path, target: str) -> None:
    result = run("indexes", "health", "--to", target, cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result).startswith("error:")


def test_role_without_connect_fails_clearly(pg_url: str, tmp_path: Path) -> None:
    role = f"r_{uuid.uuid4().hex[:8]}"
    database = pg_url.rsplit("/", 1)[1]
    with create_engine(pg_url) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        admin.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
    try:
        role_url = f"postgresql://{role}:pw@{pg_url.split('@', 1)[1]}"
        result = run("indexes", "health", "--to", role_url, cwd=tmp_path)
        assert result.returncode == 1
        line = one_error_line(result)
        assert "permission denied for database" in line and "pw@" not in line
    finally:
        with create_engine(pg_url) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")
