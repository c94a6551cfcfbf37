"""SQL model builds: ``headrace run`` against the engine's own path, in the same run.

A SQL model is one ``SELECT`` that headrace builds in the warehouse (see
docs/transforms.md). This script measures what that costs on DuckDB and PostgreSQL, what
an incremental model saves, and how long ``headrace plan`` takes on a large project. It
prints one JSON line.

Method:

- Data: TPC-H ``lineitem`` CSV (SF1 = 6,001,215 rows) from the cache that ``load.py``
  fills (``WORKDIR/sf<SCALE>/lineitem.csv``; made with ``tpchgen-cli`` if missing). One
  project per engine declares a pipeline ``lineitem`` (``source: data/*.csv``,
  ``table: raw.lineitem``, ``incremental: files``) so headrace tracks the table's loads;
  ``headrace run lineitem`` loads it once, untimed. On PostgreSQL (a throwaway cluster from
  ``tests/pg_cluster.py``, fsync off) the table is then ``VACUUM (FREEZE, ANALYZE)``d, and
  every measured run starts after a ``CHECKPOINT``.
- Every measured run is a fresh process timed by wall clock around it, so interpreter
  start-up, imports, connecting and the commit count on every side. Each figure is the
  best of ``--runs`` (default 2).
- 1. Table model: ``models/marts/daily_revenue.sql`` is ``-- materialized: table`` and a
  GROUP BY over ``raw.lineitem`` (ship date, return flag: revenue, line count). headrace is
  ``headrace run marts.daily_revenue --full-refresh --json`` (after one untimed build);
  native is a fresh ``python -c`` that runs the same SELECT with the raw driver: DuckDB
  ``CREATE OR REPLACE TABLE bench.daily_revenue AS ...``; PostgreSQL ``BEGIN; DROP TABLE IF
  EXISTS ...; CREATE TABLE ... AS ...; COMMIT`` through psycopg. Rounds alternate which
  side goes first. Both tables are compared (row count, sums). Each side's in-engine
  time is reported too: the native script's own clock around its statements, and
  headrace's reported build seconds (the SQL, state rows, swap and commit), so the fixed
  cost (start-up, imports, project discovery, run records) can be told apart.
- 2. Incremental model: ``marts.shipped_lines`` is a row-level projection of lineitem with
  a filter, ``-- materialized: incremental`` with ``{strategy: delete_insert,
  time_column: l_shipdate, lookback: 1d}``. After its first full build, each round appends
  one new day (the rows of lineitem's busiest ship date, moved to the day after the
  latest one, order keys shifted) as a new CSV file that ``headrace run lineitem`` loads
  (untimed); then ``headrace run marts.shipped_lines`` (incremental: the plan says "new
  data in raw.lineitem") is timed, its table summarised (row count, key and value sums,
  date range), ``headrace run marts.shipped_lines --full-refresh`` is timed and its table
  summarised again: the two must be equal.
- 3. Plan at scale: a second project (its own warehouse, lineitem at ``--plan-scale``,
  default SF0.01: planning reads the catalog and headrace's state, not the data) with
  ``--plan-models`` models (default 200): 20 staging views over raw.lineitem and 180 marts,
  each aggregating one staging view in a CTE and LEFT JOINing one or two earlier marts
  (chains 9 deep), every third a table. After one ``headrace run`` (everything built),
  ``headrace plan --json`` is timed (every model must say ``skip``), and so is a
  ``headrace run`` with nothing to do. ``headrace plan`` before the first run is timed once.

Targets: table model native/headrace time ratio >= 0.8 on each engine; the incremental
build equals a full rebuild (``values_match``). The incremental speedup and the plan time
(with ms per model) are reported without a target. Nothing is asserted; a failed headrace
run is reported under ``error`` with its stderr tail. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH_DIR = Path(__file__).resolve().parent
RUNS = 2
TARGET_RATIO = 0.8  # native seconds / headrace seconds, table model
BUSY_WARNING = 0.15
PLAN_MODELS = 200
STAGING_MODELS = 20
# Each appended day gets order keys past anything TPC-H makes (SF1000 stays below 6e9).
ORDERKEY_STEP = 10_000_000_000
REL_TOLERANCE = 1e-9  # sums of DOUBLE columns depend on the order of addition


import _shared  # noqa: E402 - the benchmarks folder is on the path when run as a script

if TYPE_CHECKING:
    import load as bench
    from load import Measured
else:
    bench = _shared.load_bench()
    Measured = bench.Measured


def log(message: str) -> None:
    """Progress to stderr, so stdout stays one JSON line."""
    print(f"[models-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the models -----------------------------------------------------------------------------

TABLE_MODEL = "marts.daily_revenue"
TABLE_SELECT = """SELECT l_shipdate AS ship_date, l_returnflag AS return_flag,
       sum(l_extendedprice * (1 - l_discount)) AS revenue, count(*) AS line_count
FROM raw.lineitem
GROUP BY l_shipdate, l_returnflag"""
TABLE_MODEL_SQL = f"""-- Revenue and line count per ship date and return flag.
-- materialized: table
{TABLE_SELECT}
"""
NATIVE_TABLE = "bench.daily_revenue"
TABLE_SUMMARY = "SELECT count(*), sum(revenue), sum(line_count) FROM {}"

INCREMENTAL_MODEL = "marts.shipped_lines"
INCREMENTAL_MODEL_SQL = """-- Shipped lines with net and gross price, without the ones taken back.
-- materialized: incremental
-- incremental: {strategy: delete_insert, time_column: l_shipdate, lookback: 1d}
SELECT l_orderkey, l_linenumber, l_shipdate, l_returnflag, l_linestatus, l_shipmode,
       l_quantity,
       l_extendedprice * (1 - l_discount) AS net_price,
       l_extendedprice * (1 - l_discount) * (1 + l_tax) AS gross_price
FROM raw.lineitem
WHERE l_shipinstruct <> 'TAKE BACK RETURN'
"""
INCREMENTAL_SUMMARY = (
    "SELECT count(*), sum(l_orderkey * 8 + l_linenumber), sum(l_quantity), sum(net_price),"
    " sum(gross_price), min(l_shipdate), max(l_shipdate) FROM {}"
)

NATIVE_DUCKDB = """
import sys, time, json, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
con.execute(sys.argv[2])
query_s = time.perf_counter() - started
con.close()
print(json.dumps({"query_s": query_s}))
"""

NATIVE_POSTGRES = """
import sys, time, json, psycopg
with psycopg.connect(sys.argv[1]) as con:  # not autocommit: one transaction
    started = time.perf_counter()
    con.execute(sys.argv[2])
    con.execute(sys.argv[3])
    con.commit()
    query_s = time.perf_counter() - started
print(json.dumps({"query_s": query_s}))
"""


def project_yaml(url: str) -> str:
    """headrace.yml: the warehouse and the pipeline that loads raw.lineitem file by file."""
    return (
        "# Written by benchmarks/models.py.\n"
        f"warehouse: {url}\n"
        "pipelines:\n"
        "  lineitem: {source: data/*.csv, table: raw.lineitem, incremental: files}\n"
    )


def staging_sql(i: int) -> str:
    """Staging view ``i``: a slice of lineitem with the net price."""
    return (
        f"-- Lines with l_quantity % {STAGING_MODELS} = {i}.\n"
        "-- materialized: view\n"
        "SELECT l_orderkey, l_linenumber, l_shipdate, l_returnflag, l_shipmode, l_quantity,\n"
        "       l_extendedprice * (1 - l_discount) AS net_price\n"
        "FROM raw.lineitem\n"
        f"WHERE l_quantity % {STAGING_MODELS} = {i}\n"
    )


def mart_parents(i: int) -> list[int]:
    """Earlier marts that mart ``i`` joins: a chain 20 apart, plus one more from level 2."""
    if i < STAGING_MODELS:
        return []
    parents = [i - STAGING_MODELS]
    level_start = (i // STAGING_MODELS) * STAGING_MODELS
    if i >= 2 * STAGING_MODELS:
        other = (i * 7) % (level_start - STAGING_MODELS)
        if other not in parents:
            parents.append(other)
    return parents


def mart_sql(i: int) -> str:
    """Mart ``i``: aggregate one staging view in a CTE, LEFT JOIN earlier marts."""
    materialized = "table" if i % 3 == 0 else "view"
    stg = f"staging.stg_{i % STAGING_MODELS:02d}"
    parents = mart_parents(i)
    running = " + ".join(
        ["b.revenue", *(f"coalesce(p{k}.revenue, 0)" for k in range(len(parents)))]
    )
    joins = "".join(
        f"\nLEFT JOIN marts.m_{p:03d} AS p{k} ON p{k}.day = b.day AND p{k}.flag = b.flag"
        for k, p in enumerate(parents)
    )
    return (
        f"-- Level {i // STAGING_MODELS} mart over {stg}.\n"
        f"-- materialized: {materialized}\n"
        f"-- tags: [level_{i // STAGING_MODELS}]\n"
        "WITH base AS (\n"
        "  SELECT l_shipdate AS day, l_returnflag AS flag, sum(net_price) AS revenue,\n"
        "         count(*) AS lines\n"
        f"  FROM {stg}\n"
        "  GROUP BY l_shipdate, l_returnflag\n"
        ")\n"
        f"SELECT b.day, b.flag, b.lines, b.revenue, {running} AS running_revenue\n"
        f"FROM base AS b{joins}\n"
    )


def write_plan_models(models_dir: Path, count: int) -> tuple[int, int]:
    """The large project's models; (staging views, marts)."""
    staging = min(STAGING_MODELS, count)
    (models_dir / "staging").mkdir(parents=True, exist_ok=True)
    (models_dir / "marts").mkdir(parents=True, exist_ok=True)
    for i in range(staging):
        (models_dir / "staging" / f"stg_{i:02d}.sql").write_text(staging_sql(i))
    marts = max(0, count - staging)
    for i in range(marts):
        (models_dir / "marts" / f"m_{i:03d}.sql").write_text(mart_sql(i))
    return staging, marts


# -- warehouses -----------------------------------------------------------------------------


class Warehouse:
    """Where one project builds: its URL, a way to query it and the native command."""

    engine = ""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query (the connection is closed again before returning)."""
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        """Run one statement in autocommit mode."""
        raise NotImplementedError

    def before_run(self) -> None:
        """Called before every measured run."""

    def after_load(self) -> None:
        """Called after the initial load."""

    def native_command(self, table: str, select: str) -> list[str]:
        """A fresh-process command that (re)builds ``table`` from ``select`` natively."""
        raise NotImplementedError


class DuckDBWarehouse(Warehouse):
    """A DuckDB file; only one process may open it for writing, so connect per query."""

    engine = "duckdb"

    def __init__(self, path: Path) -> None:
        super().__init__(f"duckdb:///{path}")
        self.path = path

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return list(con.execute(sql).fetchall())
        finally:
            con.close()

    def execute(self, sql: str) -> None:
        import duckdb

        con = duckdb.connect(str(self.path))
        try:
            con.execute(sql)
        finally:
            con.close()

    def native_command(self, table: str, select: str) -> list[str]:
        create = f"CREATE OR REPLACE TABLE {table} AS {select}"
        return [sys.executable, "-c", NATIVE_DUCKDB, str(self.path), create]


class PostgresWarehouse(Warehouse):
    """One database in the throwaway cluster."""

    engine = "postgres"

    def __init__(self, pg: Any, database: str) -> None:
        super().__init__(pg.fresh(database))
        self.pg = pg
        self.database = database

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.pg.query(self.database, sql))

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(sql)

    def before_run(self) -> None:
        # Flush the last run's dirty pages so no run pays for another's checkpoint.
        self.pg.admin.execute("CHECKPOINT")

    def after_load(self) -> None:
        # Set hint bits and the visibility map now, so the first measured scan does not.
        self.execute("VACUUM (FREEZE, ANALYZE) raw.lineitem")
        self.before_run()

    def native_command(self, table: str, select: str) -> list[str]:
        drop = f"DROP TABLE IF EXISTS {table}"
        create = f"CREATE TABLE {table} AS {select}"
        return [sys.executable, "-c", NATIVE_POSTGRES, self.url, drop, create]


# -- running headrace -----------------------------------------------------------------------


class Failed(RuntimeError):
    """A setup step that the measurements depend on did not succeed."""


def headrace(args: Sequence[str], project: Path, timeout: float) -> Measured:
    """One ``headrace ...`` process in the project folder."""
    return bench.run_measured([*bench.headrace_command(), *args], cwd=project, timeout=timeout)


def report_of(m: Measured) -> dict[str, Any]:
    """headrace's JSON report, or a Failed error with the process's output."""
    report = m.last_json()
    if not m.ok or report is None or report.get("status", "succeeded") != "succeeded":
        raise Failed(m.error_text())
    return report


def model_report(m: Measured, name: str) -> dict[str, Any]:
    """The ``model`` part of step ``name`` in a ``headrace run --json`` report."""
    for step in report_of(m).get("steps", []):
        if step.get("name") == name:
            return dict(step.get("model") or {}, step_seconds=step.get("seconds"))
    raise Failed(f"no step {name} in headrace's report: {m.stdout[-500:]}")


def measured_log(what: str, m: Measured) -> Measured:
    """Log one run and pass it through."""
    log(f"  {what}: {m.seconds:.2f} s, exit {m.returncode}")
    if not m.ok:
        log(f"  {what} failed: {m.error_text()[-400:]}")
    return m


def best(seconds: list[float]) -> dict[str, Any]:
    """Best and all wall times."""
    return {"seconds": round(min(seconds), 3), "all_seconds": [round(s, 3) for s in seconds]}


def numbers(row: Sequence[Any]) -> list[Any]:
    """A summary row made comparable: numbers as float (Decimal, int), dates as text."""
    out: list[Any] = []
    for value in row:
        if isinstance(value, bool) or value is None:
            out.append(value)
        elif isinstance(value, int | float) or type(value).__name__ == "Decimal":
            out.append(float(value))
        else:
            out.append(str(value))
    return out


def same(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Equal summaries, sums within a relative tolerance (DOUBLE addition order varies)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=REL_TOLERANCE, abs_tol=1e-6):
                return False
        elif x != y:
            return False
    return True


# -- 1. table model -------------------------------------------------------------------------


def bench_table_model(wh: Warehouse, project: Path, runs: int, timeout: float) -> dict[str, Any]:
    """headrace run --full-refresh of the table model against the native CTAS."""
    log(f"{wh.engine}: table model {TABLE_MODEL}, untimed first build")
    first = measured_log(
        "headrace (first build)", headrace(["run", TABLE_MODEL, "--json"], project, timeout)
    )
    first_model = model_report(first, TABLE_MODEL)
    wh.execute("CREATE SCHEMA IF NOT EXISTS bench")
    native_cmd = wh.native_command(NATIVE_TABLE, TABLE_SELECT)
    hr_seconds: list[float] = []
    native_seconds: list[float] = []
    native_query: list[float] = []
    reported: list[dict[str, Any]] = []
    for i in range(1, runs + 1):
        log(f"{wh.engine}: table model round {i}/{runs}")
        order = ("headrace", "native") if i % 2 else ("native", "headrace")
        for side in order:
            wh.before_run()
            if side == "native":
                m = measured_log(
                    "native", bench.run_measured(native_cmd, cwd=project, timeout=timeout)
                )
                if not m.ok:
                    raise Failed(f"native: {m.error_text()}")
                native_seconds.append(m.seconds)
                native_query.append(float((m.last_json() or {}).get("query_s") or "nan"))
            else:
                m = measured_log(
                    "headrace",
                    headrace(["run", TABLE_MODEL, "--full-refresh", "--json"], project, timeout),
                )
                reported.append(model_report(m, TABLE_MODEL))
                hr_seconds.append(m.seconds)
    hr, native = best(hr_seconds), best(native_seconds)
    ratio = native["seconds"] / hr["seconds"]
    fastest = reported[hr_seconds.index(min(hr_seconds))]
    hr["reported_build_s"] = fastest.get("seconds")
    hr["reported_step_s"] = fastest.get("step_seconds")
    hr["action"] = fastest.get("action")
    hr["rows_written"] = fastest.get("rows_written")
    hr["first_build_s"] = round(first.seconds, 3)
    hr["first_build_reason"] = first_model.get("reason")
    # In-engine time on both sides: the SQL (and for headrace its state rows, swap and
    # commit) without interpreter start-up, imports, project discovery and run records.
    native["query_s"] = round(min(native_query), 3)
    build_s = hr["reported_build_s"]
    build_ratio = native["query_s"] / build_s if build_s else None
    hr_sum = numbers(wh.query(TABLE_SUMMARY.format(TABLE_MODEL))[0])
    native_sum = numbers(wh.query(TABLE_SUMMARY.format(NATIVE_TABLE))[0])
    return {
        "model": TABLE_MODEL,
        "native_s": native["seconds"],
        "headrace_s": hr["seconds"],
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "overhead_s": round(hr["seconds"] - native["seconds"], 3),
        "native_query_s": native["query_s"],
        "headrace_build_s": build_s,
        "build_ratio": round(build_ratio, 3) if build_ratio else None,
        "native": native,
        "headrace": hr,
        "data_check": {
            "columns": ["rows", "sum_revenue", "sum_line_count"],
            "headrace": hr_sum,
            "native": native_sum,
            "values_match": same(hr_sum, native_sum),
        },
    }


# -- 2. incremental model -------------------------------------------------------------------


class NewDays:
    """Files of one new day each: lineitem's busiest ship date moved past the last one."""

    def __init__(self, csv: Path, folder: Path) -> None:
        import duckdb

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        busiest, rows = self.con.execute(
            "SELECT l_shipdate, count(*) FROM read_csv(?) GROUP BY l_shipdate"
            " ORDER BY count(*) DESC, l_shipdate LIMIT 1",
            [str(csv)],
        ).fetchone()  # type: ignore[misc]
        (last,) = self.con.execute("SELECT max(l_shipdate) FROM read_csv(?)", [str(csv)]).fetchone()  # type: ignore[misc]
        self.con.execute(
            "CREATE TABLE template AS SELECT * FROM read_csv(?) WHERE l_shipdate = ?",
            [str(csv), busiest],
        )
        self.busiest, self.rows, self.last = busiest, int(rows), last

    def file(self, n: int) -> tuple[Path, str]:
        """Day ``n`` (1 = the day after the last one) as a CSV file, and its date."""
        path = self.folder / f"newday_{n:03d}.csv"
        shift = (self.last - self.busiest).days + n
        if not path.exists():
            self.con.execute(
                f"COPY (SELECT * REPLACE (l_orderkey + {ORDERKEY_STEP * n} AS l_orderkey,"
                f" l_shipdate + {shift} AS l_shipdate, l_commitdate + {shift} AS l_commitdate,"
                f" l_receiptdate + {shift} AS l_receiptdate) FROM template)"
                f" TO '{path}' (HEADER, DELIMITER ',')"
            )
        (day,) = self.con.execute(f"SELECT CAST(? AS DATE) + {shift}", [self.busiest]).fetchone()  # type: ignore[misc]
        return path, str(day)


def bench_incremental(
    wh: Warehouse, project: Path, new_days: NewDays, runs: int, timeout: float
) -> dict[str, Any]:
    """Incremental build after one new day against --full-refresh; results must match."""
    log(f"{wh.engine}: incremental model {INCREMENTAL_MODEL}, untimed first build")
    wh.before_run()
    first = measured_log(
        "headrace (first build)", headrace(["run", INCREMENTAL_MODEL, "--json"], project, timeout)
    )
    first_model = model_report(first, INCREMENTAL_MODEL)
    rounds: list[dict[str, Any]] = []
    for i in range(1, runs + 1):
        path, day = new_days.file(i)
        log(f"{wh.engine}: incremental round {i}/{runs}: appending {day}")
        target = project / "data" / path.name
        target.unlink(missing_ok=True)
        target.symlink_to(path)
        loaded = report_of(headrace(["run", "lineitem", "--json"], project, timeout))
        rows_loaded = sum(int(s.get("rows_loaded") or 0) for s in loaded.get("steps", []))
        plan = report_of(headrace(["plan", INCREMENTAL_MODEL, "--json"], project, timeout))
        reason = next(
            (s.get("reason") for s in plan.get("steps", []) if s.get("name") == INCREMENTAL_MODEL),
            None,
        )
        wh.before_run()
        inc = measured_log(
            "headrace incremental", headrace(["run", INCREMENTAL_MODEL, "--json"], project, timeout)
        )
        inc_model = model_report(inc, INCREMENTAL_MODEL)
        inc_sum = numbers(wh.query(INCREMENTAL_SUMMARY.format(INCREMENTAL_MODEL))[0])
        wh.before_run()
        full = measured_log(
            "headrace --full-refresh",
            headrace(["run", INCREMENTAL_MODEL, "--full-refresh", "--json"], project, timeout),
        )
        full_model = model_report(full, INCREMENTAL_MODEL)
        full_sum = numbers(wh.query(INCREMENTAL_SUMMARY.format(INCREMENTAL_MODEL))[0])
        rounds.append(
            {
                "day": day,
                "rows_loaded": rows_loaded,
                "plan_reason": reason,
                "incremental_s": round(inc.seconds, 3),
                "incremental_action": inc_model.get("action"),
                "incremental_rows_written": inc_model.get("rows_written"),
                "incremental_rows_deleted": inc_model.get("rows_deleted"),
                "incremental_reported_build_s": inc_model.get("seconds"),
                "full_refresh_s": round(full.seconds, 3),
                "full_refresh_rows_written": full_model.get("rows_written"),
                "full_refresh_reported_build_s": full_model.get("seconds"),
                "summary_incremental": inc_sum,
                "summary_full_refresh": full_sum,
                "values_match": same(inc_sum, full_sum),
            }
        )
    inc_best = min(r["incremental_s"] for r in rounds)
    full_best = min(r["full_refresh_s"] for r in rounds)
    return {
        "model": INCREMENTAL_MODEL,
        "strategy": "delete_insert, lookback 1d",
        "model_rows": rounds[-1]["full_refresh_rows_written"],
        "rows_per_new_day": new_days.rows,
        "incremental_s": inc_best,
        "full_refresh_s": full_best,
        "speedup": round(full_best / inc_best, 2),
        "values_match": all(r["values_match"] for r in rounds),
        "first_build_s": round(first.seconds, 3),
        "first_build_action": first_model.get("action"),
        "summary_columns": [
            "rows",
            "sum_key",
            "sum_quantity",
            "sum_net_price",
            "sum_gross_price",
            "min_shipdate",
            "max_shipdate",
        ],
        "rounds": rounds,
    }


# -- 3. plan at scale -----------------------------------------------------------------------


def bench_plan(
    wh: Warehouse, project: Path, csv: Path, count: int, runs: int, timeout: float
) -> dict[str, Any]:
    """headrace plan --json on a project of ``count`` models, after a first run."""
    (project / "data").mkdir(parents=True, exist_ok=True)
    (project / "headrace.yml").write_text(project_yaml(wh.url))
    link = project / "data" / "lineitem.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(csv)
    staging, marts = write_plan_models(project / "models", count)
    log(f"{wh.engine}: plan project with {staging + marts} models")
    cold = measured_log(
        "headrace plan (before the first run)", headrace(["plan", "--json"], project, timeout)
    )
    cold_steps = report_of(cold).get("steps", [])
    first = measured_log(
        "headrace run (first, everything)", headrace(["run", "--json"], project, timeout)
    )
    first_report = report_of(first)
    built = sum(1 for s in first_report.get("steps", []) if s.get("kind") == "model")
    plan_seconds: list[float] = []
    noop_seconds: list[float] = []
    actions: dict[str, int] = {}
    for i in range(1, runs + 1):
        log(f"{wh.engine}: plan round {i}/{runs}")
        wh.before_run()
        m = measured_log("headrace plan", headrace(["plan", "--json"], project, timeout))
        steps = report_of(m).get("steps", [])
        actions = {}
        for step in steps:
            if step.get("kind") == "model":
                actions[step.get("action")] = actions.get(step.get("action"), 0) + 1
        plan_seconds.append(m.seconds)
        wh.before_run()
        noop = measured_log(
            "headrace run (nothing to do)", headrace(["run", "--json"], project, timeout)
        )
        report_of(noop)
        noop_seconds.append(noop.seconds)
    plan = best(plan_seconds)
    models = staging + marts
    return {
        "models": models,
        "staging_views": staging,
        "marts": marts,
        "mart_tables": sum(1 for i in range(marts) if i % 3 == 0),
        "plan_s": plan["seconds"],
        "ms_per_model": round(plan["seconds"] * 1000 / models, 2),
        "plan_all_seconds": plan["all_seconds"],
        "plan_model_actions": actions,
        "plan_before_first_run_s": round(cold.seconds, 3),
        "plan_before_first_run_steps": len(cold_steps),
        "first_run_s": round(first.seconds, 3),
        "first_run_models_built": built,
        "noop_run_s": round(min(noop_seconds), 3),
    }


# -- per engine -----------------------------------------------------------------------------


def setup_project(wh: Warehouse, project: Path, csv: Path, timeout: float) -> dict[str, Any]:
    """The benchmark project: headrace.yml, the two models, raw.lineitem loaded once."""
    shutil.rmtree(project, ignore_errors=True)
    (project / "models" / "marts").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "headrace.yml").write_text(project_yaml(wh.url))
    (project / "models" / "marts" / "daily_revenue.sql").write_text(TABLE_MODEL_SQL)
    (project / "models" / "marts" / "shipped_lines.sql").write_text(INCREMENTAL_MODEL_SQL)
    (project / "data" / "lineitem.csv").symlink_to(csv)
    log(f"{wh.engine}: loading raw.lineitem (untimed)")
    m = measured_log(
        "headrace run lineitem", headrace(["run", "lineitem", "--json"], project, timeout)
    )
    report = report_of(m)
    started = time.perf_counter()
    wh.after_load()
    return {
        "load_s": round(m.seconds, 2),
        "rows_loaded": sum(int(s.get("rows_loaded") or 0) for s in report.get("steps", [])),
        "after_load_s": round(time.perf_counter() - started, 2),
    }


def bench_engine(
    wh: Warehouse,
    plan_wh: Warehouse,
    base: Path,
    csv: Path,
    plan_csv: Path,
    new_days: NewDays,
    args: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    """The three sections on one engine; a failed section is an ``error`` entry."""
    project = base / "project"
    result: dict[str, Any] = {"setup": setup_project(wh, project, csv, args.timeout)}
    result["table_model"] = guarded(
        f"{wh.engine} table model",
        notes,
        lambda: bench_table_model(wh, project, args.runs, args.timeout),
    )
    result["incremental"] = guarded(
        f"{wh.engine} incremental",
        notes,
        lambda: bench_incremental(wh, project, new_days, args.runs, args.timeout),
    )
    result["plan"] = guarded(
        f"{wh.engine} plan",
        notes,
        lambda: bench_plan(
            plan_wh, base / "plan-project", plan_csv, args.plan_models, args.runs, args.timeout
        ),
    )
    return result


def run_duckdb(
    base: Path,
    csv: Path,
    plan_csv: Path,
    new_days: NewDays,
    args: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    """DuckDB: one warehouse file per project."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    wh = DuckDBWarehouse(base / "warehouse.duckdb")
    plan_wh = DuckDBWarehouse(base / "plan.duckdb")
    try:
        return bench_engine(wh, plan_wh, base, csv, plan_csv, new_days, args, notes)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def run_postgres(
    base: Path,
    csv: Path,
    plan_csv: Path,
    new_days: NewDays,
    args: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    """PostgreSQL: a throwaway cluster, one database per project."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster_dir = Path(tempfile.mkdtemp(prefix="pg-models-", dir=args.workdir))
    log(f"starting a throwaway PostgreSQL cluster in {cluster_dir}")
    pg = bench.Postgres(cluster_dir)
    try:
        wh = PostgresWarehouse(pg, "bench_models")
        plan_wh = PostgresWarehouse(pg, "bench_plan")
        result = bench_engine(wh, plan_wh, base, csv, plan_csv, new_days, args, notes)
        settings = pg.query(
            "bench_models",
            "SELECT name, setting FROM pg_settings WHERE name IN"
            " ('max_parallel_workers_per_gather', 'work_mem', 'shared_buffers', 'jit')",
        )
        result["server"] = {"version": pg.version, **{str(n): str(s) for n, s in settings}}
        return result
    finally:
        log("stopping the PostgreSQL cluster")
        pg.close()
        if not args.keep:
            shutil.rmtree(cluster_dir, ignore_errors=True)
            shutil.rmtree(base, ignore_errors=True)


# -- report ---------------------------------------------------------------------------------


def guarded(what: str, notes: list[str], step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    return _shared.guarded(what, notes, step, log)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the sections, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale (default 1)")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per figure (best kept)")
    parser.add_argument(
        "--engines", default="duckdb,postgres", help="comma-separated: duckdb, postgres"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/headrace-bench"))
    parser.add_argument("--plan-models", type=int, default=PLAN_MODELS, help="default 200")
    parser.add_argument(
        "--plan-scale", type=float, default=0.01, help="lineitem scale of the plan project"
    )
    parser.add_argument("--keep", action="store_true", help="keep projects and the cluster")
    parser.add_argument("--timeout", type=float, default=600.0, help="per process, seconds")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - {"duckdb", "postgres"})
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)} (use duckdb, postgres)")
    args.runs = max(1, args.runs)

    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    notes = [
        f"each figure is the best of {args.runs} runs; every run is a fresh process timed by"
        " wall clock (start-up, imports, connect and commit count on every side)",
        "the plan project reads lineitem at the plan scale: planning does not read the data",
    ]
    busy_before = bench.cpu_busy()
    csv, rows = bench.ensure_lineitem(args.workdir, args.scale)
    plan_csv, plan_rows = bench.ensure_lineitem(args.workdir, args.plan_scale)
    log(f"SF{bench.scale_name(args.scale)}: {rows} rows; plan project: {plan_rows} rows")
    work = args.workdir / "models-run"
    shutil.rmtree(work, ignore_errors=True)
    new_days = NewDays(csv, work / "new-days")
    log(f"new day template: rows of {new_days.busiest} ({new_days.rows}), after {new_days.last}")

    results: dict[str, Any] = {}
    runners = {"duckdb": run_duckdb, "postgres": run_postgres}
    for engine in ("duckdb", "postgres"):
        if engine not in engines:
            results[engine] = {"skipped": True}
            continue
        runner = runners[engine]
        results[engine] = guarded(
            engine,
            notes,
            lambda runner=runner, engine=engine: runner(  # type: ignore[misc]
                work / engine, csv, plan_csv, new_days, args, notes
            ),
        )
    new_days.con.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    busy_after = bench.cpu_busy()
    busiest = max(x for x in (busy_before, busy_after, 0.0) if x is not None)
    if busiest > BUSY_WARNING:
        notes.append(
            f"other work was using {busiest:.0%} of the CPUs just before or after the run:"
            " figures are noisy; re-run on an idle machine"
        )
    for engine in ("duckdb", "postgres"):
        data = results[engine]
        if (data.get("table_model") or {}).get("data_check", {}).get("values_match") is False:
            notes.append(f"{engine}: headrace's table differs from the native one")
        if (data.get("incremental") or {}).get("values_match") is False:
            notes.append(f"{engine}: the incremental build differs from a full rebuild")
    print(
        json.dumps(
            {
                "benchmark": "models",
                "table": "tpch lineitem (csv)",
                "scale": args.scale,
                "rows": rows,
                "plan_scale": args.plan_scale,
                "plan_rows": plan_rows,
                "runs": args.runs,
                "cpu_count": os.cpu_count(),
                "machine": bench.machine(),
                "cpu_busy_outside_run": {"before": busy_before, "after": busy_after},
                "targets": {
                    "table_model_ratio_min": TARGET_RATIO,
                    "incremental_values_match": True,
                },
                "duckdb": results["duckdb"],
                "postgres": results["postgres"],
                "total_seconds": round(time.perf_counter() - started, 1),
                "notes": notes,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
