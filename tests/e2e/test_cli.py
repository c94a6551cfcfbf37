"""The CLI as a user runs it: real processes, real exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headrace._version import __version__

HEADRACE = [sys.executable, "-m", "headrace"]


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"headrace {__version__}"
    result = run("--help")
    assert result.returncode == 0
    for command in ("ping", "demo"):
        assert command in result.stdout


def test_help_does_not_import_drivers() -> None:
    code = (
        "import sys; sys.argv=['headrace','--help'];"
        "from headrace.cli.app import main\n"
        "try:\n main()\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('duckdb','psycopg','pyarrow','sqlglot','pydantic')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_ping_duckdb(tmp_path: Path) -> None:
    result = run("ping", f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert result.returncode == 0, result.stderr
    assert "duckdb" in result.stdout and "round trip" in result.stdout
    payload = json.loads(run("ping", "--json", "duckdb:///:memory:").stdout)
    assert payload["engine"] == "duckdb" and payload["round_trip_ms"] >= 0


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["ping", "mysql://u@h/db"], 2, "unknown URL scheme 'mysql'"),
        (["ping", "nonsense"], 2, "unknown connection 'nonsense'"),
        (["ping", "duckdb:///no/such/dir/w.duckdb"], 1, "mkdir -p"),
    ],
)
def test_ping_bad_input(args: list[str], code: int, fragment: str, tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == code
    assert fragment in one_error_line(result)


def test_debug_shows_traceback(tmp_path: Path) -> None:
    result = run("--debug", "ping", "mysql://u@h/db", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_unknown_command_is_usage_error() -> None:
    result = run("pingg")
    assert result.returncode == 2
    assert "No such command" in result.stderr


@pytest.mark.postgres
def test_ping_postgres_and_wrong_password(pg_url: str) -> None:
    result = run("ping", pg_url)
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL 1" in result.stdout
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in result.stdout
    wrong = pg_url.replace(password, "NotThePassword")
    result = run("ping", wrong)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "password authentication failed" in line and "NotThePassword" not in line


def test_ping_unreachable_host() -> None:
    from tests.pg_cluster import free_port

    result = run("ping", f"postgresql://u:pw@127.0.0.1:{free_port()}/db")
    assert result.returncode == 1
    assert "is PostgreSQL running" in one_error_line(result)


def test_project_connections_from_headrace_yml(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text(
        "name: shop\nwarehouse: local\nconnections:\n  local: duckdb:///data/w.duckdb\n"
    )
    (tmp_path / "data").mkdir()
    result = run("ping", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "data" / "w.duckdb") in result.stdout
    result = run("ping", "local", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: [unclosed\n", "headrace.yml:2: invalid YAML"),
        ("name: x\nconections: {}\n", "headrace.yml:2: unknown key 'conections'"),
        (
            "connections:\n  db:\n    url: duckdb:///w.duckdb\n    read_only: maybe\n",
            "headrace.yml:4",
        ),
        ("warehouse: postgresql://u:${HR_TEST_MISSING_PW}@h/db\n", "HR_TEST_MISSING_PW"),
    ],
)
def test_bad_config_is_one_line_with_file_and_line(
    text: str, fragment: str, tmp_path: Path
) -> None:
    (tmp_path / "headrace.yml").write_text(text)
    result = run("ping", cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in one_error_line(result)


def test_env_secret_never_printed(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text(
        "warehouse: postgresql://u:${HR_TEST_PW}@127.0.0.1:1/db\n"
    )
    result = run("ping", cwd=tmp_path, env={"HR_TEST_PW": "Sup3rS3cret"})
    assert result.returncode == 1
    assert "Sup3rS3cret" not in result.stderr + result.stdout


def test_demo_command_loads_and_summarises(tmp_path: Path) -> None:
    result = run("demo", "demo", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    for table in ("raw.customers", "raw.products", "raw.orders", "raw.order_lines"):
        assert table in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    assert "see bad rows: cd demo && headrace quarantine list" in result.stdout
    assert (tmp_path / "demo" / "warehouse.duckdb").exists()
    # The demo folder is a project: ping with no URL reaches its warehouse.
    pinged = run("ping", cwd=tmp_path / "demo")
    assert pinged.returncode == 0, pinged.stderr
    assert str(tmp_path / "demo" / "warehouse.duckdb") in pinged.stdout
    # The hint works: the bad rows are in the project's quarantine, by table and reason.
    listed = run("quarantine", "list", "--json", cwd=tmp_path / "demo")
    assert listed.returncode == 0, listed.stderr
    rows = {s["table"]: s["rows"] for s in json.loads(listed.stdout)}
    assert rows == {"raw.customers": 3, "raw.orders": 4, "raw.order_lines": 3}
