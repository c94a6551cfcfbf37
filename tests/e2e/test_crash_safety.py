"""Kill -9 a load at several instants; a re-run must leave exactly one clean load's rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headrace.engines.registry import create_engine

ROWS = 400_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "events.csv"
    with path.open("w") as out:
        out.write("id,kind,amount,note\n")
        for i in range(ROWS):
            out.write(f"{i},{'abc'[i % 3]},{i % 1000}.25,row number {i} with some padding\n")
    return path


def _load(big_csv: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "headrace",
            "load",
            str(big_csv),
            "raw.events",
            "--to",
            url,
            "--incremental",
            "files",
            "--json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(url: str) -> int:
    with create_engine(url) as engine:
        if not engine.table_exists("raw.events"):
            return 0
        return int(engine.fetchall("SELECT count(*) FROM raw.events")[0][0])


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_kill_at_any_instant_then_rerun_is_exactly_once(
    big_csv: Path, engine_url: str, delay: float
) -> None:
    process = _load(big_csv, engine_url)
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    # Killed before COMMIT: nothing; after it: everything. Never a part.
    assert _count(engine_url) in (0, ROWS)
    rerun = _load(big_csv, engine_url)
    assert rerun.wait(timeout=300) == 0
    assert _count(engine_url) == ROWS
    with create_engine(engine_url) as engine:
        files = engine.fetchall("SELECT count(*) FROM _headrace.ingested_files")
        assert files == [(1,)]
