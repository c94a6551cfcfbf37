"""Load throughput: headrace against the engine's own bulk path, in the same run.

Promise 3 ("fast by default") says loading runs at close to the engine's own bulk-load
speed, with memory bounded by batch size rather than input size. This script measures
both halves on TPC-H ``lineitem`` CSV (SF1 = 6,001,215 rows) and prints one JSON line.

Method:

- Data: ``tpchgen-cli csv -s SCALE --tables lineitem`` into ``WORKDIR/sf<SCALE>/``,
  generated once and reused by later runs.
- Every measured load runs in its own fresh process, timed by wall clock around the
  process (so interpreter start, imports, connect and the final commit/checkpoint count on
  both sides). Peak RSS comes from ``os.wait4`` on that one child, which isolates each run
  (``RUSAGE_CHILDREN`` would report the maximum over every child so far).
- DuckDB: native is ``CREATE TABLE lineitem AS SELECT * FROM read_csv(FILE)`` into a fresh
  database file; headrace is ``headrace load FILE main.lineitem --to duckdb:///FRESH
  --json``.
- PostgreSQL: a throwaway cluster from ``tests/pg_cluster.py`` (fsync off). headrace runs
  ``headrace load FILE public.lineitem --to postgresql://.../FRESH --json``; native creates
  a table with the column types headrace created, then streams the file's bytes in 1 MiB
  chunks through psycopg ``COPY lineitem FROM STDIN (FORMAT csv, HEADER true)``. If the
  file does not fit headrace's types, native falls back to the types DuckDB's CSV sniffer
  picks, and a note says so. Every run gets a fresh database.
- Each measurement runs ``--runs`` times (default 2; native and headrace interleaved) and
  the fastest run is kept; peak RSS is the largest over the runs (an upper bound is what
  the promise needs). PostgreSQL gets a ``CHECKPOINT`` before every run.
- Scaling: headrace into DuckDB at the small scale (default SF0.1) against the SF1 runs
  above: peak RSS ratio and time ratio.
- After the last run of each pair, a cheap check compares row counts and
  ``sum(l_extendedprice)`` between the native and headrace tables.
- The share of CPU busy with other work is sampled from ``/proc/stat`` just before and
  after; a busy machine gets a note, since two shared cores make every figure noisy.

Targets: DuckDB ratio >= 0.9, PostgreSQL ratio >= 0.85, SF1 peak RSS <= 1 GiB and <= 1.5x
the small scale's, SF1 time <= 11x the small scale's. Nothing is asserted; failures of a
headrace run are reported in the JSON under ``error``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _shared, however loaded
import _shared  # noqa: E402
from _shared import cpu_busy, machine  # noqa: E402, F401 - other benchmarks use them from here

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 2  # default; --runs changes it
DUCKDB_TARGET_RATIO = 0.9
POSTGRES_TARGET_RATIO = 0.85
RSS_LIMIT_MB = 1024.0
RSS_TARGET_RATIO = 1.5
TIME_TARGET_RATIO = 11.0
COPY_CHUNK = 1 << 20
# A headrace load slower than this is not repeated: noise no longer matters at that point.
SLOW_NO_REPEAT_S = 150.0
# Share of the CPUs used by other work, sampled before and after, above which we warn.
BUSY_WARNING = 0.15

# Run in a fresh interpreter so the native side pays the same start-up costs as headrace.
NATIVE_DUCKDB = """
import sys, time, json, duckdb
started = time.perf_counter()
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE lineitem AS SELECT * FROM read_csv(?)", [sys.argv[2]])
rows = con.execute("SELECT count(*) FROM lineitem").fetchone()[0]
con.close()
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
"""

NATIVE_POSTGRES = """
import sys, time, json, psycopg
url, path, ddl, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with psycopg.connect(url, autocommit=True) as con:
    con.execute(ddl)
    started = time.perf_counter()
    with con.cursor() as cur, open(path, "rb") as f:
        with cur.copy("COPY lineitem FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while data := f.read(chunk):
                copy.write(data)
        rows = cur.rowcount
    copy_seconds = time.perf_counter() - started
print(json.dumps({"rows": rows, "seconds": copy_seconds}))
"""


def log(message: str) -> None:
    """Progress to stderr, so stdout stays one JSON line."""
    print(f"[load-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tool(name: str) -> str | None:
    """A console script next to this interpreter, else on PATH."""
    script = Path(sys.executable).with_name(name)
    return str(script) if script.exists() else shutil.which(name)


def headrace_command() -> list[str]:
    """The installed ``headrace`` script, else ``python -m headrace``."""
    found = tool("headrace")
    return [found] if found else [sys.executable, "-m", "headrace"]


@dataclass
class Measured:
    """One child process: wall time, exit status, output and peak RSS."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    cpu_seconds: float

    @property
    def ok(self) -> bool:
        """Exit status 0."""
        return self.returncode == 0

    def last_json(self) -> dict[str, Any] | None:
        """The last stdout line that parses as a JSON object."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
        return None

    def last_line(self) -> str:
        """The last stderr (else stdout) line that names an error, else the last line."""
        lines = [x.strip() for x in (self.stderr or self.stdout).splitlines() if x.strip()]
        errors = [x for x in lines if "error" in x.lower()]
        return (errors or lines or [f"exit {self.returncode}"])[-1][:300]

    def error_text(self) -> str:
        """Short failure description for the JSON report."""
        text = (self.stderr.strip() or self.stdout.strip())[-1500:]
        return f"exit {self.returncode}: {text}"


def run_measured(cmd: Sequence[str], *, cwd: Path, timeout: float) -> Measured:
    """Run one command; wall time and this child's own peak RSS via ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        if seconds > timeout:
            stderr += f"\n(killed after the {timeout:.0f} s timeout)"
        return Measured(
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=stderr,
            max_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            cpu_seconds=usage.ru_utime + usage.ru_stime,
        )


# -- data -----------------------------------------------------------------------------------


def scale_name(scale: float) -> str:
    """``1`` for 1.0, ``0.1`` for 0.1: the folder suffix."""
    return f"{scale:g}"


def ensure_lineitem(workdir: Path, scale: float) -> tuple[Path, int]:
    """The cached lineitem CSV at this scale and its data row count (generated if missing)."""
    folder = workdir / f"sf{scale_name(scale)}"
    path = folder / "lineitem.csv"
    if not path.exists():
        binary = tool("tpchgen-cli")
        if binary is None:
            raise SystemExit("tpchgen-cli not found: pip install tpchgen-cli")
        log(f"generating lineitem at SF{scale_name(scale)} ...")
        staging = Path(tempfile.mkdtemp(prefix="gen-", dir=workdir))
        try:
            subprocess.run(
                [binary, "csv", "-s", str(scale), "--tables", "lineitem"]
                + ["--output-dir", str(staging)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            folder.mkdir(parents=True, exist_ok=True)
            # Rename into place only when complete, so a killed run never leaves a stub.
            (staging / "lineitem.csv").rename(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    counted = folder / "lineitem.rows"
    stamp = f"{path.stat().st_size} {path.stat().st_mtime_ns}"
    if counted.exists():
        size_mtime, _, cached = counted.read_text().strip().rpartition(" ")
        if size_mtime == stamp:
            return path, int(cached)
    newlines = 0
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            newlines += block.count(b"\n")
    rows = newlines - 1  # header; TPC-H text has no embedded newlines
    counted.write_text(f"{stamp} {rows}\n")
    return path, rows


# -- shared helpers -------------------------------------------------------------------------


def best_of(
    runs: list[Measured], rows: int, parse_headrace: bool
) -> tuple[dict[str, Any], Measured | None]:
    """Summary of the successful runs: the fastest one's figures, worst peak RSS."""
    good = [m for m in runs if m.ok]
    summary: dict[str, Any] = {"runs": len(runs), "successful_runs": len(good)}
    if not good:
        summary["error"] = runs[-1].error_text() if runs else "not run"
        return summary, None
    best = min(good, key=lambda m: m.seconds)
    summary["seconds"] = round(best.seconds, 3)
    summary["all_seconds"] = [round(m.seconds, 3) for m in runs]
    summary["rows_per_s"] = round(rows / best.seconds, 1)
    # CPU of the client process only (a PostgreSQL server's work is not in here).
    summary["client_cpu_seconds"] = round(best.cpu_seconds, 2)
    summary["peak_rss_mb"] = round(max(m.max_rss_mb for m in good), 1)
    if parse_headrace:
        report = best.last_json() or {}
        for key in ("status", "rows_read", "rows_loaded", "rows_quarantined", "seconds"):
            if key in report:
                summary[f"reported_{key}"] = report[key]
        if "rows_per_second" in report:
            summary["reported_rows_per_s"] = report["rows_per_second"]
        for key in ("rows_read", "rows_loaded"):
            if report.get(key) not in (None, rows):
                summary["warning"] = f"{key} {report.get(key)} != {rows} rows in the file"
    return summary, best


def compare(native: dict[str, Any], headrace: dict[str, Any], target: float) -> dict[str, Any]:
    """Flatten native/headrace summaries into the report with the ratio against target."""
    result: dict[str, Any] = {
        "native_rows_per_s": native.get("rows_per_s"),
        "headrace_rows_per_s": headrace.get("rows_per_s"),
        "ratio": None,
        "target_ratio": target,
        "meets_target": False,
    }
    if native.get("rows_per_s") and headrace.get("rows_per_s"):
        ratio = headrace["rows_per_s"] / native["rows_per_s"]
        result["ratio"] = round(ratio, 3)
        result["meets_target"] = ratio >= target
    result["headrace_peak_rss_mb"] = headrace.get("peak_rss_mb")
    result["native"] = native
    result["headrace"] = headrace
    if "error" in headrace:
        result["error"] = headrace["error"]
    return result


def remove(path: Path) -> None:
    """Delete a DuckDB file and its WAL, if present."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


# -- DuckDB ---------------------------------------------------------------------------------


def duckdb_check(native_db: Path, headrace_db: Path) -> dict[str, Any]:
    """Row counts, sum(l_extendedprice) and column types of both tables."""
    import duckdb

    def facts(db: Path, table: str) -> tuple[Any, Any, dict[str, str]]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            count, total = con.execute(
                f"SELECT count(*), sum(l_extendedprice)::DOUBLE FROM {table}"
            ).fetchone()  # type: ignore[misc]
            types = {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()}
            return count, total, types
        finally:
            con.close()

    n_count, n_sum, n_types = facts(native_db, "lineitem")
    h_count, h_sum, h_types = facts(headrace_db, "main.lineitem")
    return {
        "native_rows": n_count,
        "headrace_rows": h_count,
        "native_sum_extendedprice": n_sum,
        "headrace_sum_extendedprice": h_sum,
        "values_match": n_count == h_count and abs((n_sum or 0) - (h_sum or 0)) < 0.01,
        "type_differences": {
            col: {"native": n_types.get(col), "headrace": h_types.get(col)}
            for col in sorted(set(n_types) | set(h_types))
            if n_types.get(col) != h_types.get(col)
        },
    }


def headrace_load(csv: Path, table: str, url: str, cwd: Path, timeout: float) -> Measured:
    """One ``headrace load ... --json`` run as its own process."""
    cmd = [*headrace_command(), "load", str(csv), table, "--to", url, "--json"]
    return run_measured(cmd, cwd=cwd, timeout=timeout)


def logged(what: str, m: Measured) -> Measured:
    """Log one run's figures and pass it through."""
    log(f"  {what}: {m.seconds:.2f} s, peak rss {m.max_rss_mb:.0f} MB, exit {m.returncode}")
    if not m.ok:
        log(f"  {what} failed: {m.error_text()[-400:]}")
    return m


def bench_duckdb(
    csv: Path,
    rows: int,
    runs_dir: Path,
    timeout: float,
    keep: bool,
    notes: list[str],
    runs: int = RUNS,
) -> tuple[dict[str, Any], list[Measured]]:
    """Native read_csv CTAS vs headrace load, ``runs`` rounds, interleaved."""
    native_runs: list[Measured] = []
    hr_runs: list[Measured] = []
    data_check: dict[str, Any] | None = None
    for i in range(1, runs + 1):
        native_db = runs_dir / f"duckdb-native-{i}.duckdb"
        hr_db = runs_dir / f"duckdb-headrace-{i}.duckdb"
        remove(native_db)
        remove(hr_db)
        log(f"duckdb round {i}/{runs}")
        cmd = [sys.executable, "-c", NATIVE_DUCKDB, str(native_db), str(csv)]
        native_runs.append(logged("native", run_measured(cmd, cwd=runs_dir, timeout=timeout)))
        m = headrace_load(csv, "main.lineitem", f"duckdb:///{hr_db}", runs_dir, timeout)
        hr_runs.append(logged("headrace", m))
        last_round = i == runs or m.seconds > SLOW_NO_REPEAT_S
        if last_round and native_runs[-1].ok and m.ok:
            try:
                data_check = duckdb_check(native_db, hr_db)
            except Exception as exc:  # a failed check must not sink the benchmark
                data_check = {"error": f"{type(exc).__name__}: {exc}"}
        if not keep:
            remove(native_db)
            remove(hr_db)
        if last_round:
            if i < runs:
                notes.append(f"duckdb: headrace took {m.seconds:.0f} s; not repeated")
            break
    native, _ = best_of(native_runs, rows, parse_headrace=False)
    headrace, _ = best_of(hr_runs, rows, parse_headrace=True)
    result = compare(native, headrace, DUCKDB_TARGET_RATIO)
    if data_check is not None:
        result["data_check"] = data_check
    return result, hr_runs


# -- PostgreSQL -----------------------------------------------------------------------------

DUCKDB_TO_POSTGRES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BOOLEAN": "boolean",
    "VARCHAR": "text",
}


def quote(name: str) -> str:
    """A PostgreSQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


def sniffed_postgres_columns(csv: Path) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) from DuckDB's own CSV sniffer: the fallback native schema."""
    import duckdb

    con = duckdb.connect()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_csv(?)", [str(csv)]).fetchall()
    finally:
        con.close()
    columns = []
    for name, kind, *_ in described:
        kind = str(kind)
        pg = kind.replace("DECIMAL", "numeric") if kind.startswith("DECIMAL") else None
        columns.append((str(name), pg or DUCKDB_TO_POSTGRES.get(kind, "text")))
    return columns


def create_sql(columns: Sequence[tuple[str, str]]) -> str:
    """``CREATE TABLE lineitem (...)`` for the native run."""
    return "CREATE TABLE lineitem (" + ", ".join(f"{quote(n)} {t}" for n, t in columns) + ")"


class Postgres:
    """A throwaway cluster plus an admin connection for fresh databases."""

    def __init__(self, base: Path) -> None:
        import psycopg

        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        from tests.pg_cluster import find_bin_dir, start_cluster

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (set HEADRACE_PG_BIN)")
        self.cluster = start_cluster(base, bin_dir)
        self.admin = psycopg.connect(self.cluster.admin_url, autocommit=True)
        self.version = str(self.admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]

    def fresh(self, name: str) -> str:
        """Drop and create database ``name``, then checkpoint; its URL."""
        self.drop(name)
        self.admin.execute(f"CREATE DATABASE {quote(name)}")
        # Start every run from a clean checkpoint so one load's dirty pages and WAL are not
        # flushed on the next load's clock.
        self.admin.execute("CHECKPOINT")
        return str(self.cluster.url(name))

    def drop(self, name: str) -> None:
        """Drop database ``name`` if present, kicking out any session."""
        self.admin.execute(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")

    def query(self, database: str, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query in one database."""
        import psycopg

        with psycopg.connect(self.cluster.url(database), autocommit=True) as con:
            return list(con.execute(sql).fetchall())

    def columns(self, database: str, table: str) -> list[tuple[str, str]]:
        """(name, formatted type) of a table's columns, in order."""
        rows = self.query(
            database,
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            f" WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum",
        )
        return [(str(n), str(t)) for n, t in rows]

    def close(self) -> None:
        """Close the admin connection and stop the cluster."""
        try:
            self.admin.close()
        finally:
            self.cluster.stop()


def postgres_check(pg: Postgres, native_db: str, hr_db: str) -> dict[str, Any]:
    """Row counts, sum(l_extendedprice) and column types of both tables."""
    facts = "SELECT count(*), sum(l_extendedprice)::float8 FROM {}"
    n_count, n_sum = pg.query(native_db, facts.format("lineitem"))[0]
    h_count, h_sum = pg.query(hr_db, facts.format("public.lineitem"))[0]
    n_types = dict(pg.columns(native_db, "public.lineitem"))
    h_types = dict(pg.columns(hr_db, "public.lineitem"))
    return {
        "native_rows": n_count,
        "headrace_rows": h_count,
        "native_sum_extendedprice": n_sum,
        "headrace_sum_extendedprice": h_sum,
        "values_match": n_count == h_count and abs((n_sum or 0) - (h_sum or 0)) < 0.01,
        "type_differences": {
            col: {"native": n_types.get(col), "headrace": h_types.get(col)}
            for col in sorted(set(n_types) | set(h_types))
            if n_types.get(col) != h_types.get(col)
        },
    }


def bench_postgres(
    csv: Path,
    rows: int,
    workdir: Path,
    runs_dir: Path,
    timeout: float,
    keep: bool,
    notes: list[str],
    runs: int = RUNS,
) -> dict[str, Any]:
    """headrace load vs native COPY FROM STDIN on a throwaway cluster, ``runs`` rounds."""
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=workdir))
    log(f"starting a throwaway PostgreSQL cluster in {base}")
    pg = Postgres(base)
    native_runs: list[Measured] = []
    hr_runs: list[Measured] = []
    result: dict[str, Any] = {}
    native_columns: list[tuple[str, str]] | None = None
    schema_source = ""
    try:
        for i in range(1, runs + 1):
            log(f"postgres round {i}/{runs}")
            hr_db, native_db = f"bench_headrace_{i}", f"bench_native_{i}"
            # headrace first: the native table copies the column types it creates.
            m = headrace_load(csv, "public.lineitem", pg.fresh(hr_db), runs_dir, timeout)
            hr_runs.append(logged("headrace", m))
            if native_columns is None:
                if m.ok:
                    native_columns, schema_source = pg.columns(hr_db, "public.lineitem"), "headrace"
                else:
                    native_columns, schema_source = sniffed_postgres_columns(csv), "duckdb sniffer"
            native = native_copy(pg, native_db, csv, native_columns, runs_dir, timeout)
            if not native.ok and schema_source == "headrace":
                notes.append(
                    "postgres: native COPY rejected the file with headrace's column types"
                    f" ({native.last_line()}); native used DuckDB-sniffed types"
                )
                native_columns, schema_source = sniffed_postgres_columns(csv), "duckdb sniffer"
                native = native_copy(pg, native_db, csv, native_columns, runs_dir, timeout)
            native_runs.append(native)
            last_round = i == runs or m.seconds > SLOW_NO_REPEAT_S
            if last_round and m.ok and native.ok:
                try:
                    result["data_check"] = postgres_check(pg, native_db, hr_db)
                except Exception as exc:  # a failed check must not sink the benchmark
                    result["data_check"] = {"error": f"{type(exc).__name__}: {exc}"}
            if not keep:
                pg.drop(hr_db)
                pg.drop(native_db)
            if last_round:
                if i < runs:
                    notes.append(f"postgres: headrace took {m.seconds:.0f} s; not repeated")
                break
    finally:
        log("stopping the PostgreSQL cluster")
        pg.close()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    native_summary, _ = best_of(native_runs, rows, parse_headrace=False)
    native_summary["table_types_from"] = schema_source
    headrace_summary, _ = best_of(hr_runs, rows, parse_headrace=True)
    return {
        **compare(native_summary, headrace_summary, POSTGRES_TARGET_RATIO),
        **result,
        "server_version": pg.version,
    }


def native_copy(
    pg: Postgres,
    database: str,
    csv: Path,
    columns: Sequence[tuple[str, str]],
    cwd: Path,
    timeout: float,
) -> Measured:
    """Fresh database, CREATE TABLE, then COPY the file's bytes in 1 MiB chunks."""
    url = pg.fresh(database)
    cmd = [sys.executable, "-c", NATIVE_POSTGRES, url, str(csv), create_sql(columns)]
    return logged("native", run_measured([*cmd, str(COPY_CHUNK)], cwd=cwd, timeout=timeout))


# -- scaling --------------------------------------------------------------------------------


def bench_scaling(
    small_csv: Path,
    small_scale: float,
    large_scale: float,
    small_rows: int,
    sf1_runs: list[Measured],
    sf1_rows: int,
    runs_dir: Path,
    timeout: float,
    keep: bool,
    runs: int = RUNS,
) -> dict[str, Any]:
    """headrace into DuckDB at the small scale; compare RSS and time with the SF1 runs."""
    small_runs = []
    for i in range(1, runs + 1):
        db = runs_dir / f"duckdb-headrace-small-{i}.duckdb"
        remove(db)
        log(f"scaling: headrace -> duckdb at SF{scale_name(small_scale)}, run {i}/{runs}")
        url = f"duckdb:///{db}"
        small_runs.append(
            logged("headrace", headrace_load(small_csv, "main.lineitem", url, runs_dir, timeout))
        )
        if not keep:
            remove(db)
    small, _ = best_of(small_runs, small_rows, parse_headrace=True)
    large, _ = best_of(sf1_runs, sf1_rows, parse_headrace=True)
    result: dict[str, Any] = {
        "sf_small": small_scale,
        "sf_large": large_scale,
        "rows_small": small_rows,
        "rss_small_mb": small.get("peak_rss_mb"),
        "rss_sf1_mb": large.get("peak_rss_mb"),
        "rss_ratio": None,
        "time_small_s": small.get("seconds"),
        "time_sf1_s": large.get("seconds"),
        "time_ratio": None,
        "reported_time_ratio": None,
        "targets": {
            "rss_sf1_mb_max": RSS_LIMIT_MB,
            "rss_ratio_max": RSS_TARGET_RATIO,
            "time_ratio_max": TIME_TARGET_RATIO,
        },
        "meets_targets": False,
    }
    if "error" in small or "error" in large:
        result["error"] = small.get("error") or large.get("error")
        return result
    rss_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    time_ratio = large["seconds"] / small["seconds"]
    result["rss_ratio"] = round(rss_ratio, 3)
    result["time_ratio"] = round(time_ratio, 3)
    if small.get("reported_seconds") and large.get("reported_seconds"):
        # headrace's own clock: without interpreter start-up, which flatters the wall ratio.
        result["reported_time_ratio"] = round(
            large["reported_seconds"] / small["reported_seconds"], 3
        )
    result["meets_targets"] = (
        large["peak_rss_mb"] <= RSS_LIMIT_MB
        and rss_ratio <= RSS_TARGET_RATIO
        and time_ratio <= TIME_TARGET_RATIO
    )
    return result


# -- report ---------------------------------------------------------------------------------


def guarded(what: str, notes: list[str], step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    return _shared.guarded(what, notes, step, log)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the sections, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale (default 1)")
    parser.add_argument("--small-scale", type=float, default=0.1, help="for the scaling check")
    parser.add_argument("--skip-postgres", action="store_true", help="DuckDB and scaling only")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/headrace-bench"))
    parser.add_argument("--keep", action="store_true", help="keep databases and the cluster")
    parser.add_argument("--timeout", type=float, default=600.0, help="per load, seconds")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per measurement (best kept)")
    args = parser.parse_args(argv)

    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runs_dir = workdir / "runs"
    runs_dir.mkdir(exist_ok=True)
    started = time.perf_counter()
    notes = [
        f"each figure is the faster of {args.runs} runs (native and headrace interleaved);"
        " peak RSS is the larger of the runs",
        "wall time around a fresh process: interpreter start-up, imports, connect and"
        " commit count on both sides",
        "the CSV is read from the page cache (warm) on every run",
    ]
    busy_before = cpu_busy()
    csv, rows = ensure_lineitem(workdir, args.scale)
    small_csv, small_rows = ensure_lineitem(workdir, args.small_scale)
    log(
        f"SF{scale_name(args.scale)}: {rows} rows; SF{scale_name(args.small_scale)}:"
        f" {small_rows} rows"
    )

    hr_sf1_runs: list[Measured] = []

    def duckdb_section() -> dict[str, Any]:
        result, runs = bench_duckdb(csv, rows, runs_dir, args.timeout, args.keep, notes, args.runs)
        hr_sf1_runs.extend(runs)
        return result

    duck = guarded("duckdb", notes, duckdb_section)
    if args.skip_postgres:
        pg: dict[str, Any] = {"skipped": True}
    else:
        pg = guarded(
            "postgres",
            notes,
            lambda: bench_postgres(
                csv, rows, workdir, runs_dir, args.timeout, args.keep, notes, args.runs
            ),
        )
    scaling = guarded(
        "scaling",
        notes,
        lambda: bench_scaling(
            small_csv,
            args.small_scale,
            args.scale,
            small_rows,
            hr_sf1_runs,
            rows,
            runs_dir,
            args.timeout,
            args.keep,
            args.runs,
        ),
    )
    if not args.keep:
        shutil.rmtree(runs_dir, ignore_errors=True)
    busy_after = cpu_busy()
    busiest = max(x for x in (busy_before, busy_after, 0.0) if x is not None)
    if busiest > BUSY_WARNING:
        notes.append(
            f"other work was using {busiest:.0%} of the CPUs just before or after the run:"
            " figures are noisy; re-run on an idle machine"
        )
    for section, data in (("duckdb", duck), ("postgres", pg)):
        check = data.get("data_check") or {}
        if check.get("values_match") is False:
            notes.append(f"{section}: headrace's table differs from native (see data_check)")
    print(
        json.dumps(
            {
                "benchmark": "load",
                "table": "tpch lineitem (csv)",
                "scale": args.scale,
                "rows_sf1": rows if args.scale == 1 else None,
                "rows": rows,
                "csv_bytes": csv.stat().st_size,
                "cpu_count": os.cpu_count(),
                "machine": machine(),
                "cpu_busy_outside_run": {"before": busy_before, "after": busy_after},
                "duckdb": duck,
                "postgres": pg,
                "scaling": scaling,
                "total_seconds": round(time.perf_counter() - started, 1),
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
