"""Ctrl-C cancels cleanly: the running load rolls back and the run is marked cancelled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from headrace.engines.registry import create_engine


def test_ctrl_c_rolls_back_and_marks_cancelled(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n2\n3\n")
    (tmp_path / "headrace.yml").write_text(
        "warehouse: duckdb:///w.duckdb\npipelines:\n  a: {source: a.csv, table: raw.a}\n"
    )
    env = {**os.environ, "HEADRACE_TEST_PAUSE": "before_commit"}
    process = subprocess.Popen(
        [sys.executable, "-m", "headrace", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    while "headrace-paused:before_commit" not in (line := process.stderr.readline()):
        assert line, "the load ended before reaching the pause point"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    with create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}") as engine:
        assert not engine.table_exists("raw.a")  # everything written was rolled back
        runs = dict(engine.fetchall("SELECT kind, status FROM _headrace.runs"))
        assert runs["run"] == "cancelled"
        assert runs["load"] == "cancelled"
        assert engine.fetchall("SELECT step, status FROM _headrace.steps") == [("a", "cancelled")]
