"""Fault injection (issue 5): kill -9 at chosen and at random points, lock contention,
resume, and dropped network connections. Every scenario ends with the target exactly as
one clean run leaves it: each row once, each file remembered once, bad rows quarantined
once, and the run history agreeing with the data.

Kill points are the test-only pauses of ``headrace.runtime.faults`` (``HEADRACE_TEST_PAUSE``
makes the process print ``headrace-paused:POINT`` and sleep, and the test kills it there)
plus seeded random instants. Kill points here: 12 pause kills of ``headrace load`` (3 points
x clean/bad data x 2 engines), 6 random instants, 4 pause kills of ``headrace run``, 3 first
runs killed in the contention tests, 2 in the resume-after-crash test and 1 in the DuckDB
--wait test: 28 in all.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from headrace.engines.registry import create_engine
from tests.faultproxy import COMMIT_MESSAGE, FaultProxy

HEADRACE = [sys.executable, "-m", "headrace"]
FILES = 3
ROWS_PER_FILE = 3000
PAUSE_POINTS = ["before_commit", "after_commit", "after_file"]
RANDOM_KILL_SEEDS = [11, 22, 33]
MARKER_TIMEOUT_S = 60.0
RETRIES = "runtime: {retries: {max_attempts: 6, initial_delay: 0.1, max_delay: 0.5, jitter: 0.1}}\n"
LOCK_MESSAGE = "another run of"
# The test hooks the children must not inherit from whoever runs pytest.
TEST_HOOKS = ("HEADRACE_TEST_PAUSE", "HEADRACE_TEST_TRANSIENT", "HEADRACE_TEST_SEED")


@dataclass(frozen=True)
class Dataset:
    """A folder of CSV files and what one clean load of it must leave behind."""

    folder: Path
    rows: int  # valid rows, all loaded
    amount_sum: int
    quarantined: int  # one bad row per file in the "bad" set


def _write_dataset(folder: Path, *, bad: bool) -> Dataset:
    folder.mkdir(parents=True)
    amount_sum = 0
    for f in range(FILES):
        with (folder / f"part{f}.csv").open("w") as out:
            out.write("id,kind,amount\n")
            for i in range(ROWS_PER_FILE):
                row_id = f * ROWS_PER_FILE + i
                amount = (row_id * 7) % 1000
                amount_sum += amount
                out.write(f"{row_id},{'abc'[i % 3]},{amount}\n")
                if bad and i == ROWS_PER_FILE // 2:
                    out.write(f"{10**6 + f},x,1,one field too many\n")  # -> quarantine
    return Dataset(folder, FILES * ROWS_PER_FILE, amount_sum, FILES if bad else 0)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """The same three files, clean and with one bad row each (shared by every test)."""
    base = tmp_path_factory.mktemp("fault-data")
    return {
        "clean": _write_dataset(base / "clean", bad=False),
        "bad": _write_dataset(base / "bad", bad=True),
    }


# -- processes ---------------------------------------------------------------------------


def _env(pause: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TEST_HOOKS}
    env.update(COLUMNS="200", NO_COLOR="1")
    if pause is not None:
        env["HEADRACE_TEST_PAUSE"] = pause
    return env


def _spawn(args: list[str], cwd: Path, pause: str | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*HEADRACE, *args],
        cwd=cwd,
        env=_env(pause),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_paused(process: subprocess.Popen[bytes], point: str) -> None:
    """Read the child's stderr until it reports it is paused at ``point``."""
    marker = f"headrace-paused:{point}".encode()
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + MARKER_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                _kill(process)
                pytest.fail(f"no {marker.decode()} within {MARKER_TIMEOUT_S:g} s: {seen!r}")
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                out, err = process.communicate(timeout=30)
                pytest.fail(
                    f"exited {process.returncode} before {marker.decode()}:"
                    f" {(seen + err).decode(errors='replace')} {out.decode(errors='replace')}"
                )
            seen += chunk


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, and reap (the caller checks whether it was still running)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HEADRACE, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def _until_success(args: list[str], cwd: Path, tries: int = 3) -> subprocess.CompletedProcess[str]:
    """Re-run without any fault until it succeeds (a crash must never need more than one)."""
    failures: list[str] = []
    for _ in range(tries):
        result = _run(args, cwd)
        if result.returncode == 0:
            assert not failures, f"re-run needed {len(failures) + 1} tries: {failures}"
            return result
        failures.append(result.stderr.strip() or result.stdout.strip())
    pytest.fail(f"re-run never succeeded: {failures}")


def _load_args(data: Dataset, url: str) -> list[str]:
    return ["load", str(data.folder), "raw.events", "--to", url, "--incremental", "files", "--json"]


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- the target --------------------------------------------------------------------------


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with create_engine(url) as engine:
        return engine.fetchall(sql)


def _events_count(url: str) -> int:
    with create_engine(url) as engine:
        if not engine.table_exists("raw.events"):
            return 0
        return int(engine.fetchall("SELECT count(*) FROM raw.events")[0][0])


def _assert_one_clean_load(url: str, data: Dataset) -> None:
    """The target holds exactly what one clean load of ``data`` leaves."""
    with create_engine(url) as engine:
        leftovers = {t.name for t in engine.list_tables("raw", sizes=False)} - {"events"}
        assert not leftovers, f"staging tables left behind: {leftovers}"
        rows, distinct, amount = engine.fetchall(
            "SELECT count(*), count(DISTINCT id), sum(amount) FROM raw.events"
        )[0]
        assert (rows, distinct) == (data.rows, data.rows), "rows lost or doubled"
        assert int(amount) == data.amount_sum
        files = engine.fetchall(
            "SELECT count(*), count(DISTINCT path) FROM _headrace.ingested_files"
            " WHERE table_name = 'raw.events'"
        )[0]
        assert files == (FILES, FILES)
        quarantined = engine.fetchall(
            "SELECT count(*), count(DISTINCT raw) FROM _headrace.quarantine"
            " WHERE table_name = 'raw.events'"
        )[0]
        assert quarantined == (data.quarantined, data.quarantined)
        # The run history agrees with the data: the loads that say they succeeded account
        # for every row exactly once.
        loaded, rejected = engine.fetchall(
            "SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)"
            " FROM _headrace.runs WHERE kind = 'load' AND status = 'succeeded'"
            " AND target_table = 'raw.events'"
        )[0]
        assert (int(loaded), int(rejected)) == (data.rows, data.quarantined)


def _assert_nothing_or_everything(url: str, data: Dataset) -> int:
    """Right after a kill: either no trace of the load or all of it, never a part."""
    count = _events_count(url)
    assert count in (0, data.rows), f"a partial load survived the kill: {count} rows"
    return count


# -- headrace load, killed -----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["clean", "bad"])
@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_load_killed_at_pause_point_then_rerun_is_exactly_once(
    engine_url: str, datasets: dict[str, Dataset], point: str, variant: str, tmp_path: Path
) -> None:
    data = datasets[variant]
    process = _spawn(_load_args(data, engine_url), tmp_path, pause=point)
    _wait_paused(process, point)
    _kill(process)
    assert process.returncode == -signal.SIGKILL
    committed = _assert_nothing_or_everything(engine_url, data)
    assert committed == (data.rows if point == "after_commit" else 0)
    rerun = json.loads(_until_success(_load_args(data, engine_url), tmp_path).stdout)
    assert rerun["status"] == "succeeded"
    # After a committed load the re-run finds every file already loaded.
    assert rerun["files_skipped"] == (FILES if point == "after_commit" else 0)
    _assert_one_clean_load(engine_url, data)


@pytest.mark.parametrize("seed", RANDOM_KILL_SEEDS)
def test_load_killed_at_random_instant_then_rerun_is_exactly_once(
    engine_url: str, datasets: dict[str, Dataset], seed: int, tmp_path: Path
) -> None:
    data = datasets["bad"]
    # A clean load takes ~0.5 s here (start-up, imports, connect, load, commit); the
    # instant falls anywhere in that span.
    delay = random.Random(seed).uniform(0.15, 0.45)
    process = _spawn(_load_args(data, engine_url), tmp_path)
    time.sleep(delay)
    _kill(process)
    assert process.returncode == -signal.SIGKILL, f"finished before the kill at {delay:.3f} s"
    _assert_nothing_or_everything(engine_url, data)
    _until_success(_load_args(data, engine_url), tmp_path)
    _assert_one_clean_load(engine_url, data)


# -- headrace run, killed ------------------------------------------------------------------


def _project(root: Path, warehouse: str, pipelines: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "headrace.yml").write_text(
        f'warehouse: "{warehouse}"\n{RETRIES}{extra}pipelines:\n{pipelines}'
    )
    return root


def _events_pipeline(data: Dataset, to: str | None = None) -> str:
    target = f', to: "{to}"' if to else ""
    return f'  events: {{source: "{data.folder}", table: raw.events, incremental: files{target}}}\n'


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_run_killed_then_rerun_is_exactly_once_and_recorded(
    engine_url: str, datasets: dict[str, Dataset], point: str, tmp_path: Path
) -> None:
    data = datasets["bad"]
    project = _project(tmp_path / "project", engine_url, _events_pipeline(data))
    process = _spawn(["run", "--json"], project, pause=point)
    _wait_paused(process, point)
    _kill(process)
    assert process.returncode == -signal.SIGKILL
    _assert_nothing_or_everything(engine_url, data)
    rerun = json.loads(_until_success(["run", "--json"], project).stdout)
    assert rerun["status"] == "succeeded"
    _assert_one_clean_load(engine_url, data)
    runs = _rows(
        engine_url,
        "SELECT run_id, status FROM _headrace.runs WHERE kind = 'run' ORDER BY started_at",
    )
    assert len(runs) == 2
    (killed_id, killed_status), (rerun_id, rerun_status) = runs
    assert killed_status != "succeeded"  # it never got to say how it ended
    assert (rerun_id, rerun_status) == (rerun["run_id"], "succeeded")
    steps = dict(_rows(engine_url, "SELECT run_id, status FROM _headrace.steps"))
    assert steps[killed_id] != "succeeded"
    assert steps[rerun_id] == "succeeded"


# -- --resume ------------------------------------------------------------------------------


def _write_ids(path: Path, count: int, start: int = 0) -> None:
    path.write_text("id\n" + "".join(f"{start + i}\n" for i in range(count)))


def test_resume_runs_only_what_failed(engine_url: str, tmp_path: Path) -> None:
    project = _project(
        tmp_path / "project",
        engine_url,
        "  a: {source: a.csv, table: raw.a}\n  b: {source: b.csv, table: raw.b, depends_on: [a]}\n",
    )
    _write_ids(project / "a.csv", 500)  # b.csv is missing: b fails
    first = _run(["run", "--json"], project)
    assert first.returncode == 1, first.stderr
    failed = json.loads(first.stdout)
    steps = {s["name"]: s for s in failed["steps"]}
    assert (steps["a"]["status"], steps["b"]["status"]) == ("succeeded", "failed")
    assert "b.csv" in steps["b"]["error"]
    a_loads = "SELECT run_id FROM _headrace.runs WHERE kind = 'load' AND target_table = 'raw.a'"
    assert _rows(engine_url, a_loads) == [(steps["a"]["load_run_id"],)]

    _write_ids(project / "b.csv", 70)
    second = _run(["run", "--resume", "--json"], project)
    assert second.returncode == 0, second.stderr
    resumed = json.loads(second.stdout)
    assert resumed["resumed_from"] == failed["run_id"]
    steps = {s["name"]: s for s in resumed["steps"]}
    assert steps["a"]["status"] == "succeeded" and steps["a"]["attempts"] == 0
    assert "not repeated" in (steps["a"]["note"] or "")
    assert steps["b"]["status"] == "succeeded" and steps["b"]["attempts"] == 1
    # a was not loaded again: same rows (a plain append would have doubled them), and
    # still exactly one load of raw.a in the history.
    assert _rows(engine_url, "SELECT count(*) FROM raw.a") == [(500,)]
    assert _rows(engine_url, a_loads) == [(failed["steps"][0]["load_run_id"],)]
    assert _rows(engine_url, "SELECT count(*) FROM raw.b") == [(70,)]


def test_resume_after_a_killed_run(engine_url: str, tmp_path: Path) -> None:
    project = _project(
        tmp_path / "project",
        engine_url,
        "  a: {source: a.csv, table: raw.a, incremental: files}\n"
        "  b: {source: b.csv, table: raw.b, depends_on: [a]}\n",
    )
    _write_ids(project / "a.csv", 500)
    _write_ids(project / "b.csv", 70)
    assert _run(["run", "a"], project).returncode == 0
    # a's file is loaded already, so only b reaches after_file: a succeeds, b is killed.
    process = _spawn(["run", "--json"], project, pause="after_file")
    _wait_paused(process, "after_file")
    _kill(process)
    assert process.returncode == -signal.SIGKILL
    (killed_id,) = _rows(
        engine_url,
        "SELECT run_id FROM _headrace.runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1",
    )[0]
    resumed = json.loads(_until_success(["run", "--resume", "--json"], project).stdout)
    assert _rows(engine_url, "SELECT count(*) FROM raw.b") == [(70,)]
    assert resumed["resumed_from"] == killed_id
    assert resumed["steps"][0]["attempts"] == 0


# -- two runs of one pipeline at once ----------------------------------------------------------


def _contention_project(engine_url: str, data: Dataset, root: Path) -> Path:
    if engine_url.startswith("duckdb"):
        # Run history in memory, data in the shared file: the second process reaches
        # headrace's run lock (an flock beside the file, taken before DuckDB opens it).
        # With the history in the same file DuckDB's own file lock stops it earlier:
        # see the two tests below.
        return _project(root, "duckdb:///:memory:", _events_pipeline(data, to=engine_url))
    return _project(root, engine_url, _events_pipeline(data))


def test_concurrent_run_is_refused_then_waits_for_the_run_lock(
    engine_url: str, datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    data = datasets["bad"]
    project = _contention_project(engine_url, data, tmp_path / "project")
    first = _spawn(["run", "--json"], project, pause="before_commit")
    try:
        _wait_paused(first, "before_commit")
        refused = _run(["run", "--wait", "0"], project)
        assert refused.returncode == 1
        output = refused.stdout + refused.stderr
        assert "Traceback" not in output
        assert len([line for line in output.splitlines() if LOCK_MESSAGE in line]) == 1, output
        waiting = _spawn(["run", "--json", "--wait", "30"], project)
        time.sleep(1.0)  # long enough to be stuck on the lock
        assert waiting.poll() is None, "the second run did not wait for the first"
    finally:
        _kill(first)
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err.decode()
    payload = json.loads(out)
    assert payload["status"] == "succeeded" and payload["steps"][0]["attempts"] == 1
    _assert_one_clean_load(engine_url, data)


def test_duckdb_second_run_on_shared_file_fails_in_one_line(
    duckdb_url: str, datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    data = datasets["clean"]
    project = _project(tmp_path / "project", duckdb_url, _events_pipeline(data))
    first = _spawn(["run", "--json"], project, pause="before_commit")
    try:
        _wait_paused(first, "before_commit")
        # DuckDB's own file lock stops the second process as it opens the run store (the
        # warehouse), before headrace's run lock is even reached.
        refused = _run(["run", "--json", "--wait", "0"], project)
    finally:
        _kill(first)
    assert refused.returncode == 1
    lines = _error_lines(refused.stderr)
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "locked by another process" in lines[0]
    _until_success(["run", "--json"], project)
    _assert_one_clean_load(duckdb_url, data)


def test_duckdb_second_run_on_shared_file_waits_for_the_first(
    duckdb_url: str, datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    data = datasets["clean"]
    project = _project(tmp_path / "project", duckdb_url, _events_pipeline(data))
    first = _spawn(["run", "--json"], project, pause="before_commit")
    try:
        _wait_paused(first, "before_commit")
        waiting = _spawn(["run", "--json", "--wait", "30"], project)
        time.sleep(1.0)
        still_waiting = waiting.poll() is None
    finally:
        _kill(first)
    out, err = waiting.communicate(timeout=120)
    assert still_waiting, f"gave up at once: {err.decode().strip()}"
    assert waiting.returncode == 0, err.decode()
    _assert_one_clean_load(duckdb_url, data)


# -- dropped connections (PostgreSQL through a proxy) --------------------------------------------


@dataclass(frozen=True)
class ProxyTarget:
    """A fresh database reached both directly and through a fault proxy."""

    direct: str
    proxied: str
    proxy: FaultProxy


@pytest.fixture
def proxied_pg(pg_url: str) -> Iterator[ProxyTarget]:
    """``pg_url`` behind a FaultProxy (PostgreSQL on a loopback address only)."""
    parts = urlsplit(pg_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        proxy = FaultProxy(host, port, seed=5)
    except ValueError as exc:
        pytest.skip(str(exc))
    with proxy:
        yield ProxyTarget(pg_url, proxy.rewrite(pg_url), proxy)


@pytest.fixture(scope="module")
def proxy_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """A CSV big enough that its COPY spans many proxy reads: (path, rows, sum(amount))."""
    path = tmp_path_factory.mktemp("proxy") / "events.csv"
    rows = 20_000
    with path.open("w") as out:
        out.write("id,amount\n")
        out.writelines(f"{i},{i % 97}\n" for i in range(rows))
    return path, rows, sum(i % 97 for i in range(rows))


def _proxy_project(root: Path, warehouse: str, to: str, csv: Path) -> Path:
    return _project(
        root,
        warehouse,
        f'  events: {{source: "{csv}", table: raw.events, incremental: files, to: "{to}"}}\n',
    )


DROPS: dict[str, tuple[Callable[[FaultProxy], None], int]] = {
    # name: (arm the proxy, attempts the step must take)
    "mid_copy_once": (lambda p: p.drop_after_upstream_bytes(60_000), 2),
    "mid_copy_twice": (lambda p: p.drop_after_upstream_bytes(60_000, times=2), 3),
    # The server commits, the reply never arrives: the retry must not load twice.
    "lost_commit_reply": (lambda p: p.drop_on(COMMIT_MESSAGE), 2),
}


@pytest.mark.postgres
@pytest.mark.parametrize("drop", sorted(DROPS))
def test_run_through_dropped_connections_retries_to_the_exact_result(
    proxied_pg: ProxyTarget, proxy_csv: tuple[Path, int, int], drop: str, tmp_path: Path
) -> None:
    csv, rows, amount = proxy_csv
    # The run store talks to PostgreSQL directly (see the xfail test below); the load
    # goes through the proxy.
    project = _proxy_project(tmp_path / "project", proxied_pg.direct, proxied_pg.proxied, csv)
    arm, attempts = DROPS[drop]
    arm(proxied_pg.proxy)
    result = _run(["run", "--json"], project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded"
    assert payload["steps"][0]["attempts"] == attempts
    assert proxied_pg.proxy.drops == attempts - 1
    assert _rows(proxied_pg.direct, "SELECT count(*), sum(amount) FROM raw.events") == [
        (rows, amount)
    ]
    assert _rows(proxied_pg.direct, "SELECT count(*) FROM _headrace.ingested_files") == [(1,)]


@pytest.mark.postgres
def test_run_through_randomly_dropped_connections_is_exact(
    proxied_pg: ProxyTarget, proxy_csv: tuple[Path, int, int], tmp_path: Path
) -> None:
    csv, rows, amount = proxy_csv
    project = _proxy_project(tmp_path / "project", proxied_pg.direct, proxied_pg.proxied, csv)
    proxied_pg.proxy.drop_randomly(2, within=(0.2, 0.9))  # seeded; may hit or miss a load
    result = _run(["run", "--json"], project)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "succeeded"
    # Each drop that finds a load's connection open costs one attempt, no more.
    assert 1 <= payload["steps"][0]["attempts"] <= 1 + proxied_pg.proxy.drops
    assert _rows(proxied_pg.direct, "SELECT count(*), sum(amount) FROM raw.events") == [
        (rows, amount)
    ]


@pytest.mark.postgres
def test_run_with_store_through_dropped_connections_recovers(
    proxied_pg: ProxyTarget, proxy_csv: tuple[Path, int, int], tmp_path: Path
) -> None:
    csv, rows, amount = proxy_csv
    project = _proxy_project(tmp_path / "project", proxied_pg.proxied, proxied_pg.proxied, csv)
    proxied_pg.proxy.drop_after_upstream_bytes(60_000)
    result = _run(["run", "--json"], project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["steps"][0]["attempts"] == 2
    assert _rows(proxied_pg.direct, "SELECT count(*), sum(amount) FROM raw.events") == [
        (rows, amount)
    ]


@pytest.mark.postgres
def test_check_through_dropped_connection_fails_in_one_line(
    proxied_pg: ProxyTarget, proxy_csv: tuple[Path, int, int], tmp_path: Path
) -> None:
    csv, _, _ = proxy_csv
    project = _project(
        tmp_path / "project",
        proxied_pg.direct,
        f'  events: {{source: "{csv}", table: raw.events}}\n',
        extra="checks:\n  - table: raw.events\n    unique: [[id]]\n",
    )
    assert _run(["run", "--json"], project).returncode == 0
    check = ["check", "--to", proxied_pg.proxied]
    # headrace check has no retry: a connection dropped mid-check is a clear failure.
    proxied_pg.proxy.drop_on(b"HAVING count(*) > 1")
    dropped = _run(check, project)
    assert proxied_pg.proxy.drops == 1
    assert dropped.returncode == 1
    lines = _error_lines(dropped.stderr)
    assert len(lines) == 1 and "Traceback" not in dropped.stderr, dropped.stderr
    assert "connection lost" in lines[0]
    again = _run(check, project)  # the proxy accepts new connections: the next try works
    assert again.returncode == 0, again.stderr
