"""Shared fixtures: engines parametrised over DuckDB (always) and PostgreSQL.

PostgreSQL comes from ``HEADRACE_TEST_PG_URL`` when set, else from a throwaway cluster
started for the session. Without either the postgres tests skip, unless
``HEADRACE_REQUIRE_PG=1`` (set by CI), when they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from tests.pg_cluster import Cluster, find_bin_dir, start_cluster

ENGINES = ["duckdb", "postgres"]


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("HEADRACE_REQUIRE_PG") == "1":
        pytest.fail(f"PostgreSQL required (HEADRACE_REQUIRE_PG=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Superuser URL of a PostgreSQL server to create test databases in."""
    url = os.environ.get("HEADRACE_TEST_PG_URL")
    if url:
        yield url
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _pg_unavailable("no initdb under /usr/lib/postgresql/*/bin and HEADRACE_TEST_PG_URL unset")
    assert bin_dir is not None
    cluster: Cluster | None = None
    # Not under pytest's temp root: pytest resets that to mode 0700 whenever a session
    # starts, which would lock the postgres user out of a running cluster.
    base = Path(tempfile.mkdtemp(prefix="headrace-pg-"))
    try:
        cluster = start_cluster(base, bin_dir)
    except (RuntimeError, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        _pg_unavailable(str(exc))
    assert cluster is not None
    try:
        yield cluster.admin_url
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """URL of a fresh, empty database dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with create_engine(pg_admin_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with create_engine(pg_admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """URL of a fresh DuckDB file."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=ENGINES)
def engine_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL on each engine."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("duckdb_url"))


@pytest.fixture
def engine(engine_url: str) -> Iterator[EngineAdapter]:
    """A connected adapter on a fresh database, closed after the test."""
    adapter = create_engine(engine_url)
    try:
        yield adapter
    finally:
        adapter.close()
