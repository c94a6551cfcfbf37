"""Crash safety: SIGKILL a multi-file load at random instants, re-run it, compare.

Promise 1 ("nothing is lost, nothing is doubled") says a crash at any point followed by a
re-run leaves the target exactly as one clean run would. This script tries it many times
and prints one JSON line.

Method:

- Data: ``--files`` small CSV files (default 3 x 1,000 rows, ids unique across files), each
  with one malformed row that must end up in quarantine exactly once.
- Reference: one clean ``headrace load DIR raw.events --to URL --incremental files --json``
  per engine into a fresh target; its row count, ``sum(amount)``, quarantine and
  ingested-file counts are what every trial must end with. The median wall time of three
  clean loads bounds the random kill instants.
- Each trial (engines alternate; DuckDB always, PostgreSQL unless ``--skip-postgres``, on a
  throwaway cluster from ``tests/pg_cluster.py`` shared by all trials) runs the same load
  into a fresh target (a new DuckDB file, a new PostgreSQL database) and kills it with
  SIGKILL: at a seeded random instant in (0.05 s, 1.05 x the clean wall time), or, in a
  quarter of the trials, at one of the test pause points (``HEADRACE_TEST_PAUSE`` =
  before_commit | after_commit | after_file, killed once it reports the pause). Right after
  the kill the target must hold none or all of the load (``kills_before_commit`` /
  ``kills_after_commit``; anything else is ``partial_after_kill``). Then the load re-runs,
  without faults, until it succeeds, and the target is compared with the reference.
- ``lost_rows``: reference ids missing after the re-run, summed over trials;
  ``duplicate_rows``: ``count(*) - count(DISTINCT id)``, summed; ``mismatched_runs``: trials
  whose final target differs from the reference in any way (rows, sum, quarantine,
  ingested files, or the succeeded load runs' rows_loaded not adding up to the rows).
  A random instant that falls after the process already finished is counted in
  ``finished_before_kill`` (the trial still checks the re-run).

Nothing is asserted; the target is 0 lost, 0 duplicated, 0 mismatched, 0 partial. Progress
goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
HEADRACE = [sys.executable, "-m", "headrace"]
PAUSE_POINTS = ("before_commit", "after_commit", "after_file")
PAUSE_SHARE = 0.25  # of trials killed at a pause point rather than a random instant
# Random instants span the clean load's whole wall time and a little beyond, so the commit
# and the work after it (close, report) are in range too; a few land after the exit.
RANDOM_SPAN = 1.05
MARKER_TIMEOUT_S = 60.0
RERUN_TRIES = 3
TEST_HOOKS = ("HEADRACE_TEST_PAUSE", "HEADRACE_TEST_TRANSIENT", "HEADRACE_TEST_SEED")


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[crash] {message}", file=sys.stderr, flush=True)


# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What one clean load leaves in the target."""

    rows: int
    amount_sum: int
    quarantined: int
    files: int


def write_data(folder: Path, files: int, rows_per_file: int) -> Expected:
    """CSV files with unique ids and one malformed (too many fields) row each."""
    folder.mkdir(parents=True, exist_ok=True)
    amount_sum = 0
    for f in range(files):
        with (folder / f"part{f:03d}.csv").open("w") as out:
            out.write("id,kind,amount\n")
            for i in range(rows_per_file):
                row_id = f * rows_per_file + i
                amount = (row_id * 7) % 1000
                amount_sum += amount
                out.write(f"{row_id},{'abc'[i % 3]},{amount}\n")
                if i == rows_per_file // 2:
                    out.write(f"{10**9 + f},x,1,one field too many\n")
    return Expected(files * rows_per_file, amount_sum, files, files)


# -- targets -----------------------------------------------------------------------------


class Target:
    """Fresh databases of one engine, and the figures a trial compares."""

    name = ""

    def fresh(self, label: str) -> str:
        """A URL of a new, empty database."""
        raise NotImplementedError

    def drop(self, label: str) -> None:
        """Throw the database away."""
        raise NotImplementedError

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query (empty when the table does not exist)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release whatever the target holds."""


class DuckDBTarget(Target):
    """A new DuckDB file per trial."""

    name = "duckdb"

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)

    def _path(self, label: str) -> Path:
        return self.base / f"{label}.duckdb"

    def fresh(self, label: str) -> str:
        self.drop(label)
        return f"duckdb:///{self._path(label)}"

    def drop(self, label: str) -> None:
        for path in self.base.glob(f"{label}.duckdb*"):
            path.unlink()
        for path in self.base.glob(f".{label}.duckdb.*.lock"):
            path.unlink()

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        path = url.removeprefix("duckdb:///")
        if not Path(path).exists():
            return []
        con = duckdb.connect(path, read_only=True)
        try:
            return list(con.execute(sql).fetchall())
        except duckdb.CatalogException:
            return []
        finally:
            con.close()


class PostgresTarget(Target):
    """A throwaway cluster (one for all trials), a new database per trial."""

    name = "postgres"

    def __init__(self, base: Path) -> None:
        import psycopg

        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        from tests.pg_cluster import find_bin_dir, start_cluster

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (set HEADRACE_PG_BIN)")
        self.base = base
        self.cluster = start_cluster(base, bin_dir)
        self.admin = psycopg.connect(self.cluster.admin_url, autocommit=True)
        row = self.admin.execute("SHOW server_version").fetchone()
        self.version = str(row[0]) if row else "?"

    def fresh(self, label: str) -> str:
        self.drop(label)
        self.admin.execute(f'CREATE DATABASE "{label}"')
        return str(self.cluster.url(label))

    def drop(self, label: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{label}" WITH (FORCE)')

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(url, autocommit=True) as con:
            try:
                return list(con.execute(sql).fetchall())
            except psycopg.errors.UndefinedTable:
                return []

    def close(self) -> None:
        self.admin.close()
        self.cluster.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# -- one load, one trial -------------------------------------------------------------------


def env(pause: str | None = None) -> dict[str, str]:
    """The environment of a load: no inherited test hooks, and the pause if asked."""
    out = {k: v for k, v in os.environ.items() if k not in TEST_HOOKS}
    if pause:
        out["HEADRACE_TEST_PAUSE"] = pause
    return out


def load_args(data: Path, url: str) -> list[str]:
    """The load under test."""
    return [
        *HEADRACE,
        "load",
        str(data),
        "raw.events",
        "--to",
        url,
        "--incremental",
        "files",
        "--json",
    ]


def clean_load(data: Path, url: str, cwd: Path) -> tuple[bool, float, str]:
    """Run the load without faults: (succeeded, wall seconds, stderr)."""
    started = time.perf_counter()
    result = subprocess.run(
        load_args(data, url), cwd=cwd, env=env(), capture_output=True, text=True, timeout=300
    )
    return result.returncode == 0, time.perf_counter() - started, result.stderr.strip()


def wait_for_marker(process: subprocess.Popen[bytes], point: str) -> bool:
    """Read stderr until the pause marker; False if the process ended or timed out first."""
    assert process.stderr is not None
    marker = f"headrace-paused:{point}".encode()
    seen = b""
    deadline = time.monotonic() + MARKER_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                return False
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                return False
            seen += chunk
    return True


@dataclass
class Tally:
    """Everything counted over the trials."""

    trials: int = 0
    lost_rows: int = 0
    duplicate_rows: int = 0
    mismatched_runs: int = 0
    kills_before_commit: int = 0
    kills_after_commit: int = 0
    partial_after_kill: int = 0
    finished_before_kill: int = 0
    no_pause_marker: int = 0
    rerun_failures: int = 0
    modes: Counter[str] = field(default_factory=Counter)
    per_engine: dict[str, Counter[str]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        """Keep the first few problems for the report."""
        log(text)
        if len(self.examples) < 10:
            self.examples.append(text)


def snapshot(target: Target, url: str) -> dict[str, int]:
    """The figures compared with the reference."""
    data = target.query(url, "SELECT count(*), count(DISTINCT id), sum(amount) FROM raw.events")
    rows, distinct, amount = data[0] if data else (0, 0, 0)
    files = target.query(url, "SELECT count(*) FROM _headrace.ingested_files")
    quarantine = target.query(url, "SELECT count(*), count(DISTINCT raw) FROM _headrace.quarantine")
    history = target.query(
        url,
        "SELECT coalesce(sum(rows_loaded), 0) FROM _headrace.runs"
        " WHERE kind = 'load' AND status = 'succeeded'",
    )
    return {
        "rows": int(rows or 0),
        "distinct": int(distinct or 0),
        "amount": int(amount or 0),
        "files": int(files[0][0]) if files else 0,
        "quarantined": int(quarantine[0][0]) if quarantine else 0,
        "quarantined_distinct": int(quarantine[0][1]) if quarantine else 0,
        "history_rows": int(history[0][0]) if history else 0,
    }


def run_trial(
    index: int,
    target: Target,
    data: Path,
    expected: Expected,
    clean_wall: float,
    rng: random.Random,
    workdir: Path,
    tally: Tally,
) -> None:
    """Kill one load, re-run it, compare with the reference."""
    label = f"crash_{target.name}_{index}"
    url = target.fresh(label)
    engine_tally = tally.per_engine.setdefault(target.name, Counter())
    pause = rng.choice(PAUSE_POINTS) if rng.random() < PAUSE_SHARE else None
    delay = rng.uniform(0.05, RANDOM_SPAN * clean_wall)
    mode = f"pause:{pause}" if pause else "random"
    tally.trials += 1
    tally.modes[mode] += 1
    engine_tally["trials"] += 1
    try:
        process = subprocess.Popen(
            load_args(data, url),
            cwd=workdir,
            env=env(pause),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if pause:
            if not wait_for_marker(process, pause):
                tally.no_pause_marker += 1
                tally.problem(f"trial {index} ({target.name}): no pause marker at {pause}")
        else:
            time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=120)
        if process.returncode != -signal.SIGKILL:
            tally.finished_before_kill += 1
        else:
            engine_tally["kills"] += 1
            after_kill = snapshot(target, url)
            if after_kill["rows"] == 0 and after_kill["files"] == 0:
                tally.kills_before_commit += 1
            elif after_kill["rows"] == expected.rows and after_kill["files"] == expected.files:
                tally.kills_after_commit += 1
            else:
                tally.partial_after_kill += 1
                tally.problem(f"trial {index} ({target.name}, {mode}): partial {after_kill}")
        for attempt in range(RERUN_TRIES):
            ok, _, err = clean_load(data, url, workdir)
            if ok:
                break
            tally.rerun_failures += 1
            tally.problem(f"trial {index} ({target.name}): re-run {attempt + 1} failed: {err}")
        final = snapshot(target, url)
        lost = max(0, expected.rows - final["distinct"])
        doubled = final["rows"] - final["distinct"]
        tally.lost_rows += lost
        tally.duplicate_rows += doubled
        want = {
            "rows": expected.rows,
            "distinct": expected.rows,
            "amount": expected.amount_sum,
            "files": expected.files,
            "quarantined": expected.quarantined,
            "quarantined_distinct": expected.quarantined,
            "history_rows": expected.rows,
        }
        if final != want:
            tally.mismatched_runs += 1
            engine_tally["mismatched"] += 1
            diff = {k: (final[k], v) for k, v in want.items() if final[k] != v}
            tally.problem(f"trial {index} ({target.name}, {mode}): got/want {diff}")
    finally:
        target.drop(label)


def reference(target: Target, data: Path, expected: Expected, workdir: Path) -> dict[str, Any]:
    """Clean loads: check they match the data, and time them for the kill instants."""
    walls = []
    matches = True
    for i in range(3):
        label = f"crash_{target.name}_ref{i}"
        url = target.fresh(label)
        try:
            ok, wall, err = clean_load(data, url, workdir)
            if not ok:
                raise RuntimeError(f"clean {target.name} load failed: {err}")
            walls.append(wall)
            got = snapshot(target, url)
            matches = matches and got["rows"] == got["distinct"] == expected.rows
            matches = matches and got["amount"] == expected.amount_sum
            matches = matches and got["quarantined"] == expected.quarantined
        finally:
            target.drop(label)
    return {"clean_wall_s": round(statistics.median(walls), 3), "matches_data": matches}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the trials, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=200, help="kill-and-re-run trials")
    parser.add_argument("--seed", type=int, default=20240605, help="for instants and modes")
    parser.add_argument("--files", type=int, default=3, help="CSV files per load")
    parser.add_argument("--rows-per-file", type=int, default=1000, help="valid rows per file")
    parser.add_argument("--skip-postgres", action="store_true", help="DuckDB only")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="headrace-crash-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    expected = write_data(data, args.files, args.rows_per_file)
    rng = random.Random(args.seed)
    notes: list[str] = []
    targets: list[Target] = [DuckDBTarget(workdir / "duckdb")]
    postgres_version = None
    if not args.skip_postgres:
        try:
            pg = PostgresTarget(Path(tempfile.mkdtemp(prefix="headrace-crash-pg-")))
            targets.append(pg)
            postgres_version = pg.version
        except (RuntimeError, OSError) as exc:
            notes.append(f"postgres skipped: {exc}"[:500])
            log(notes[-1])
    tally = Tally()
    refs: dict[str, Any] = {}
    try:
        for target in targets:
            refs[target.name] = reference(target, data, expected, workdir)
            log(f"{target.name}: clean load {refs[target.name]}")
        for index in range(args.trials):
            target = targets[index % len(targets)]
            run_trial(
                index,
                target,
                data,
                expected,
                refs[target.name]["clean_wall_s"],
                rng,
                workdir,
                tally,
            )
            if (index + 1) % 10 == 0:
                log(
                    f"{index + 1}/{args.trials} trials, {time.perf_counter() - started:.0f} s;"
                    f" mismatched {tally.mismatched_runs}"
                )
    finally:
        for target in targets:
            target.close()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    kills = tally.kills_before_commit + tally.kills_after_commit + tally.partial_after_kill
    print(
        json.dumps(
            {
                "benchmark": "crash",
                "trials": tally.trials,
                "lost_rows": tally.lost_rows,
                "duplicate_rows": tally.duplicate_rows,
                "mismatched_runs": tally.mismatched_runs,
                "kills_before_commit": tally.kills_before_commit,
                "kills_after_commit": tally.kills_after_commit,
                "partial_after_kill": tally.partial_after_kill,
                "kills": kills,
                "finished_before_kill": tally.finished_before_kill,
                "no_pause_marker": tally.no_pause_marker,
                "rerun_failures": tally.rerun_failures,
                "modes": dict(sorted(tally.modes.items())),
                "engines": [t.name for t in targets],
                "per_engine": {k: dict(v) for k, v in tally.per_engine.items()},
                "reference": refs,
                "files": args.files,
                "rows_per_file": args.rows_per_file,
                "rows_expected": expected.rows,
                "quarantined_expected": expected.quarantined,
                "seed": args.seed,
                "postgres_version": postgres_version,
                "seconds": round(time.perf_counter() - started, 1),
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "meets_target": tally.lost_rows == 0
                and tally.duplicate_rows == 0
                and tally.mismatched_runs == 0
                and tally.partial_after_kill == 0,
                "problems": tally.examples,
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
