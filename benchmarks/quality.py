"""Check speed: ``headrace check`` against hand-written SQL, in the same run.

Table checks compile to one aggregate ``SELECT`` per table (all checks, one scan) plus one
query for each check that needs its own (uniqueness: a GROUP BY, unless a PRIMARY KEY or
UNIQUE constraint already proves it). This script measures what that design costs against
the SQL an engineer would write by hand, and what it saves against a naive tool that runs
one query per check. It prints one JSON line.

Method:

- Data: TPC-H ``lineitem`` CSV (SF1 = 6,001,215 rows) from the cache that ``load.py``
  fills (``WORKDIR/sf<SCALE>/lineitem.csv``; generated with ``tpchgen-cli`` if missing),
  loaded once with ``headrace load FILE main.lineitem --to duckdb:///FRESH`` and
  ``headrace load FILE public.lineitem --to postgresql://.../FRESH`` (a throwaway cluster
  from ``tests/pg_cluster.py``, fsync off; the table is then ``VACUUM (FREEZE, ANALYZE)``d
  so no measured run pays for setting hint bits).
- 12 checks of mixed kinds that all pass on TPC-H data: row_count, one uniqueness check on
  ``(l_orderkey, l_linenumber)``, 2 not_null, 3 range, 3 accepted_values, 1 length and
  1 completeness.
- Three contenders, each in its own fresh process timed by wall clock around the process
  (interpreter start, imports, connect and, for headrace, storing its results count):
  (a) ``headrace check --to URL --checks FILE --json``;
  (b) hand-written: the raw driver (duckdb / psycopg) runs ONE aggregate SELECT with the
  same predicates (``sum(CASE WHEN bad THEN 1 ELSE 0 END)`` per row check, ``count(*)``,
  ``count(col)``) and ONE ``GROUP BY ... HAVING count(*) > 1`` for uniqueness;
  (c) one query per check: the raw driver runs 12 separate queries, like a naive tool.
- Each contender runs ``--runs`` times (default 2), interleaved with the order rotated per
  round, after one untimed headrace run that warms the page cache; the fastest run counts.
- DuckDB only: the same checks on ``lineitem_pk``, a copy of the table with
  ``PRIMARY KEY (l_orderkey, l_linenumber)`` (``CREATE TABLE`` + ``INSERT ... SELECT``),
  where the constraint proves uniqueness and headrace runs no GROUP BY.

Targets: headrace / hand-written <= 1.0 and headrace / one-query-per-check < 1.0 (time).
Nothing is asserted; a failed headrace run is reported under ``error`` with its stderr
tail. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH_DIR = Path(__file__).resolve().parent
RUNS = 2
TARGET_RATIO = 1.0  # headrace / hand-written
TARGET_RATIO_ONE_PER_CHECK = 1.0  # headrace / one query per check: must be below
BUSY_WARNING = 0.15
UNIQUE_KEY = ("l_orderkey", "l_linenumber")


import _shared  # noqa: E402 - the benchmarks folder is on the path when run as a script

if TYPE_CHECKING:
    import load as bench
    from load import Measured
else:
    bench = _shared.load_bench()
    Measured = bench.Measured


def log(message: str) -> None:
    """Progress to stderr, so stdout stays one JSON line."""
    print(f"[quality-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowCheck:
    """A row-level check: its YAML item and the hand-written SQL for a bad row."""

    column: str
    item: str  # YAML flow item under columns.<column>
    bad: str  # SQL condition, true for a bad row (NULL counts as not bad, as in headrace)


ROW_CHECKS = (
    RowCheck("l_orderkey", "not_null", "l_orderkey IS NULL"),
    RowCheck("l_partkey", "not_null", "l_partkey IS NULL"),
    RowCheck("l_quantity", "{range: {min: 1, max: 50}}", "l_quantity < 1 OR l_quantity > 50"),
    RowCheck("l_discount", "{range: {min: 0, max: 0.1}}", "l_discount < 0 OR l_discount > 0.1"),
    RowCheck("l_tax", "{range: {min: 0, max: 0.08}}", "l_tax < 0 OR l_tax > 0.08"),
    RowCheck("l_returnflag", "{accepted_values: [A, N, R]}", "l_returnflag NOT IN ('A', 'N', 'R')"),
    RowCheck("l_linestatus", "{accepted_values: [O, F]}", "l_linestatus NOT IN ('O', 'F')"),
    RowCheck(
        "l_shipmode",
        "{accepted_values: [AIR, FOB, MAIL, RAIL, REG AIR, SHIP, TRUCK]}",
        "l_shipmode NOT IN ('AIR', 'FOB', 'MAIL', 'RAIL', 'REG AIR', 'SHIP', 'TRUCK')",
    ),
    RowCheck(
        "l_comment",
        "{length: {min: 1, max: 44}}",
        "length(l_comment) < 1 OR length(l_comment) > 44",
    ),
)
COMPLETENESS_COLUMN, COMPLETENESS_MIN_PCT = "l_shipinstruct", 99
# row_count + unique + the row checks + completeness
CHECK_COUNT = 2 + len(ROW_CHECKS) + 1
EXPLICIT_FAIL_IF = "fail_if: invalid_count > 0"


def check_yaml(table: str, explicit_thresholds: bool = False) -> str:
    """The check file. ``explicit_thresholds`` spells out the default ``fail_if`` on every
    counting check (same meaning), for headrace versions that choke on the implicit one."""

    def item(text: str) -> str:
        if not explicit_thresholds:
            return text
        if text.startswith("{"):
            return text[:-1] + f", {EXPLICIT_FAIL_IF}}}"
        return f"{{{text}: null, {EXPLICIT_FAIL_IF}}}"

    key = ", ".join(UNIQUE_KEY)
    unique = f"[{{columns: [{key}], {EXPLICIT_FAIL_IF}}}]" if explicit_thresholds else f"[[{key}]]"
    lines = [
        "checks:",
        f"  - table: {table}",
        "    row_count: {min: 1}",
        f"    unique: {unique}",
        "    columns:",
        *(f"      {c.column}: [{item(c.item)}]" for c in ROW_CHECKS),
        f"      {COMPLETENESS_COLUMN}: [{{completeness: {{min_pct: {COMPLETENESS_MIN_PCT}}}}}]",
    ]
    return "\n".join(lines) + "\n"


def handwritten_queries(table: str, with_unique: bool = True) -> list[str]:
    """ONE aggregate SELECT with every predicate, plus ONE GROUP BY for uniqueness."""
    sums = [f"sum(CASE WHEN {c.bad} THEN 1 ELSE 0 END)" for c in ROW_CHECKS]
    columns = ["count(*)", *sums, f"count({COMPLETENESS_COLUMN})"]
    queries = [f"SELECT {', '.join(columns)} FROM {table}"]
    if with_unique:
        queries.append(duplicates_query(table))
    return queries


def duplicates_query(table: str) -> str:
    """How many keys occur more than once."""
    key = ", ".join(UNIQUE_KEY)
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {key} HAVING count(*) > 1) AS dups"
    )


def one_per_check_queries(table: str) -> list[str]:
    """12 queries, one per check: what a tool that compiles each check alone runs."""
    return [
        f"SELECT count(*) FROM {table}",
        duplicates_query(table),
        *(f"SELECT count(*) FROM {table} WHERE {c.bad}" for c in ROW_CHECKS),
        f"SELECT count({COMPLETENESS_COLUMN}) FROM {table}",
    ]


def handwritten_verdict(results: list[list[Any]], with_unique: bool = True) -> bool:
    """Whether the hand-written queries found every check passing."""
    row = results[0]
    rows, bad, present = row[0], row[1 : 1 + len(ROW_CHECKS)], row[-1]
    ok = rows >= 1 and all(not b for b in bad) and present * 100 >= COMPLETENESS_MIN_PCT * rows
    return ok and (not with_unique or results[1][0] == 0)


def one_per_check_verdict(results: list[list[Any]]) -> bool:
    """Whether the 12 queries found every check passing."""
    counts = [r[0] for r in results]
    rows, dups, bad, present = counts[0], counts[1], counts[2:-1], counts[-1]
    return rows >= 1 and dups == 0 and not any(bad) and present * 100 >= COMPLETENESS_MIN_PCT * rows


# Runs the given queries in order over one connection with the raw driver, in a fresh
# interpreter, so it pays the same start-up costs as the headrace CLI.
RAW_QUERIES = """
import sys, time, json
engine, target, queries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.perf_counter()
if engine == "duckdb":
    import duckdb
    con = duckdb.connect(target)
else:
    import psycopg
    con = psycopg.connect(target, autocommit=True)
connected = time.perf_counter()
results, query_s = [], []
for sql in queries:
    t0 = time.perf_counter()
    results.append([float(v) if v is not None and not isinstance(v, int) else v
                    for v in con.execute(sql).fetchone()])
    query_s.append(time.perf_counter() - t0)
con.close()
print(json.dumps({"results": results, "query_s": query_s, "connect_s": connected - started,
                  "seconds": time.perf_counter() - started}))
"""


# Copies main.lineitem into a new file as main.lineitem_pk with a PRIMARY KEY.
PRIMARY_KEY_COPY = """
import sys, duckdb
db, source, key = sys.argv[1:4]
con = duckdb.connect(db)
con.execute("SET enable_progress_bar = false")
con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
columns = con.execute("DESCRIBE src.main.lineitem").fetchall()
body = ", ".join(f'"{name}" {kind}' for name, kind, *_ in columns)
con.execute(f"CREATE TABLE main.lineitem_pk ({body}, PRIMARY KEY ({key}))")
con.execute("INSERT INTO main.lineitem_pk SELECT * FROM src.main.lineitem")
con.execute("DETACH src")
con.execute("CHECKPOINT")
con.close()
"""


# -- measuring ------------------------------------------------------------------------------


def raw_run(engine: str, target: str, queries: list[str], cwd: Path, timeout: float) -> Measured:
    """The raw-driver script over ``queries``, as its own process."""
    cmd = [sys.executable, "-c", RAW_QUERIES, engine, target, json.dumps(queries)]
    return bench.run_measured(cmd, cwd=cwd, timeout=timeout)


def headrace_check(url: str, checks: Path, cwd: Path, timeout: float) -> Measured:
    """One ``headrace check --to URL --checks FILE --json`` run as its own process."""
    cmd = [*bench.headrace_command(), "check", "--to", url, "--checks", str(checks), "--json"]
    return bench.run_measured(cmd, cwd=cwd, timeout=timeout)


def headrace_explain(url: str, checks: Path, cwd: Path) -> str:
    """The SQL headrace would run (``--explain``), or the error."""
    cmd = [*bench.headrace_command(), "check", "--to", url, "--checks", str(checks), "--explain"]
    m = bench.run_measured(cmd, cwd=cwd, timeout=120)
    return m.stdout if m.ok else m.error_text()


def plan_lines(explained: str) -> list[str]:
    """The ``--explain`` output without the SQL: one line per query (or skipped check)."""
    return [
        line.strip()
        for line in explained.splitlines()
        if line.startswith(("--", "main.", "public."))
    ]


def headrace_report(m: Measured) -> dict[str, Any] | None:
    """headrace's JSON, if it printed one (also when a check failed: exit 1)."""
    report = m.last_json()
    return report if report and "run_id" in report else None


def logged(what: str, m: Measured) -> Measured:
    """Log one run and pass it through."""
    log(f"  {what}: {m.seconds:.2f} s, exit {m.returncode}")
    if not m.ok and headrace_report(m) is None:
        log(f"  {what} failed: {m.error_text()[-400:]}")
    return m


@dataclass
class Setup:
    """What the contenders run against on one engine."""

    engine: str  # duckdb | postgres
    url: str  # for headrace
    target: str  # for the raw driver: a file path or a libpq URL
    table: str
    rows: int
    cwd: Path
    timeout: float
    with_sql: bool = False  # put the full SQL texts in the report


def probe(setup: Setup, workdir: Path, notes: list[str]) -> tuple[Path | None, dict[str, Any]]:
    """One untimed headrace run (it also warms the cache): the check file to time with.

    If headrace fails on the plain file but runs with explicit thresholds, time that one
    and say so in the notes: the numbers still mean something while the bug is open.
    """
    info: dict[str, Any] = {}
    plain = workdir / f"checks-{setup.engine}-{setup.table.replace('.', '-')}.yml"
    plain.write_text(check_yaml(setup.table))
    info["explain"] = headrace_explain(setup.url, plain, setup.cwd)
    first = logged(
        "headrace (untimed probe)", headrace_check(setup.url, plain, setup.cwd, setup.timeout)
    )
    if headrace_report(first) is not None:
        return plain, info
    info["plain_check_file_error"] = first.error_text()
    explicit = plain.with_suffix(".explicit.yml")
    explicit.write_text(check_yaml(setup.table, explicit_thresholds=True))
    second = logged(
        "headrace, explicit fail_if (probe)",
        headrace_check(setup.url, explicit, setup.cwd, setup.timeout),
    )
    if headrace_report(second) is None:
        info["error"] = first.error_text()
        return None, info
    info["check_file"] = "explicit fail_if on every counting check"
    notes.append(
        f"{setup.engine}: headrace check failed on the plain check file"
        f" ({first.last_line()}); timed with 'fail_if: invalid_count > 0' spelled out on"
        " every counting check, which is the default and means the same"
    )
    return explicit, info


def contend(
    setup: Setup,
    contenders: dict[str, Callable[[], Measured]],
    runs: int,
) -> dict[str, list[Measured]]:
    """Every contender ``runs`` times, interleaved, the order rotated each round."""
    names = list(contenders)
    measured: dict[str, list[Measured]] = {name: [] for name in names}
    for i in range(runs):
        log(f"{setup.engine} {setup.table}: round {i + 1}/{runs}")
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            measured[name].append(logged(name, contenders[name]()))
    return measured


def summarise_headrace(runs: list[Measured], rows: int) -> dict[str, Any]:
    """Fastest run that printed its report, with its own breakdown."""
    good = [(m, r) for m in runs if (r := headrace_report(m)) is not None]
    summary: dict[str, Any] = {"runs": len(runs), "successful_runs": len(good)}
    if not good:
        summary["error"] = runs[-1].error_text() if runs else "not run"
        return summary
    best, report = min(good, key=lambda pair: pair[0].seconds)
    tables: list[dict[str, Any]] = report.get("tables") or []
    checks: list[dict[str, Any]] = report.get("checks") or []
    unique: dict[str, Any] = next(
        (c for c in checks if str(c.get("check", "")).startswith("unique")), {}
    )
    summary.update(
        {
            "seconds": round(best.seconds, 3),
            "all_seconds": [round(m.seconds, 3) for m in runs],
            "rows_per_s": round(rows / best.seconds, 1),
            "client_cpu_seconds": round(best.cpu_seconds, 2),
            "peak_rss_mb": round(best.max_rss_mb, 1),
            "status": report.get("status"),
            "checks": len(checks),
            "checks_passed": sum(c.get("status") == "pass" for c in checks),
            "queries": sum(int(t.get("queries") or 0) for t in tables),
            "rows_scanned": sum(int(t.get("rows") or 0) for t in tables),
            # headrace's own clock: from its start of work to the stored results.
            "reported_seconds": report.get("seconds"),
            "scan_s": round(sum(float(t.get("scan_ms") or 0) for t in tables) / 1000, 3),
            "unique_check_s": round(float(unique.get("duration_ms") or 0) / 1000, 3),
            "unique_check_message": unique.get("message"),
            "records_passing_pct": report.get("records_passing_pct"),
        }
    )
    if summary["reported_seconds"] is not None:
        # Interpreter start, imports, connect, compiling and disconnecting.
        summary["outside_reported_s"] = round(best.seconds - float(summary["reported_seconds"]), 3)
    failing = [c.get("check") for c in checks if c.get("status") != "pass"]
    if failing:
        summary["not_passing"] = failing
    return summary


def summarise_raw(
    runs: list[Measured], rows: int, verdict: Callable[[list[list[Any]]], bool]
) -> dict[str, Any]:
    """Fastest successful raw-driver run with its per-query times."""
    good = [(m, r) for m in runs if m.ok and (r := m.last_json()) is not None]
    summary: dict[str, Any] = {"runs": len(runs), "successful_runs": len(good)}
    if not good:
        summary["error"] = runs[-1].error_text() if runs else "not run"
        return summary
    best, report = min(good, key=lambda pair: pair[0].seconds)
    summary.update(
        {
            "seconds": round(best.seconds, 3),
            "all_seconds": [round(m.seconds, 3) for m in runs],
            "rows_per_s": round(rows / best.seconds, 1),
            "queries": len(report["query_s"]),
            "query_s": [round(s, 3) for s in report["query_s"]],
            "connect_s": round(report["connect_s"], 3),
            "peak_rss_mb": round(best.max_rss_mb, 1),
            "all_passed": verdict(report["results"]),
        }
    )
    return summary


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """a.seconds / b.seconds, when both ran."""
    if a.get("seconds") and b.get("seconds"):
        return round(float(a["seconds"]) / float(b["seconds"]), 3)
    return None


def bench_engine(setup: Setup, workdir: Path, runs: int, notes: list[str]) -> dict[str, Any]:
    """headrace vs hand-written vs one query per check on one engine."""
    checks, probe_info = probe(setup, workdir, notes)
    contenders: dict[str, Callable[[], Measured]] = {
        "handwritten": lambda: raw_run(
            setup.engine, setup.target, handwritten_queries(setup.table), setup.cwd, setup.timeout
        ),
        "one_per_check": lambda: raw_run(
            setup.engine, setup.target, one_per_check_queries(setup.table), setup.cwd, setup.timeout
        ),
    }
    if checks is not None:
        contenders = {
            "headrace": lambda: headrace_check(setup.url, checks, setup.cwd, setup.timeout),
            **contenders,
        }
    measured = contend(setup, contenders, runs)
    hr = summarise_headrace(measured.get("headrace", []), setup.rows)
    if checks is None:
        hr["error"] = probe_info.get("error", "headrace check failed")
    hand = summarise_raw(measured["handwritten"], setup.rows, handwritten_verdict)
    naive = summarise_raw(measured["one_per_check"], setup.rows, one_per_check_verdict)
    vs_hand, vs_naive = ratio(hr, hand), ratio(hr, naive)
    result: dict[str, Any] = {
        "table": setup.table,
        "rows": setup.rows,
        "headrace_s": hr.get("seconds"),
        "handwritten_s": hand.get("seconds"),
        "one_per_check_s": naive.get("seconds"),
        "ratio_vs_handwritten": vs_hand,
        "target_ratio": TARGET_RATIO,
        "meets_target": vs_hand is not None and vs_hand <= TARGET_RATIO,
        "ratio_vs_one_per_check": vs_naive,
        "target_ratio_vs_one_per_check": TARGET_RATIO_ONE_PER_CHECK,
        "meets_target_vs_one_per_check": vs_naive is not None
        and vs_naive < TARGET_RATIO_ONE_PER_CHECK,
        "headrace_rows_per_s": hr.get("rows_per_s"),
        "queries": hr.get("queries"),
        "status": hr.get("status"),
        "checks": hr.get("checks"),
        "checks_passed": hr.get("checks_passed"),
        "headrace": hr,
        "handwritten": hand,
        "one_per_check": naive,
        "headrace_plan": plan_lines(probe_info.get("explain", "")),
    }
    for key in ("check_file", "plain_check_file_error"):
        if key in probe_info:
            result[key] = probe_info[key]
    if setup.with_sql:
        result["headrace_sql"] = probe_info.get("explain")
        result["handwritten_sql"] = handwritten_queries(setup.table)
        result["one_per_check_sql"] = one_per_check_queries(setup.table)
    if "error" in hr:
        result["error"] = hr["error"]
    return result


# -- setup ----------------------------------------------------------------------------------


def headrace_load(csv: Path, table: str, url: str, cwd: Path, timeout: float) -> dict[str, Any]:
    """Load the table with headrace (untimed setup); raises with its stderr on failure."""
    log(f"loading {table} with headrace load -> {url.split('@')[-1]}")
    m = bench.headrace_load(csv, table, url, cwd, timeout)
    report = m.last_json() or {}
    if not m.ok or report.get("status") != "succeeded":
        raise RuntimeError(f"headrace load failed: {m.error_text()}")
    return {"load_s": round(m.seconds, 2), "rows_loaded": report.get("rows_loaded")}


def duckdb_section(
    csv: Path, rows: int, runs_dir: Path, args: argparse.Namespace, notes: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """DuckDB, then the PRIMARY KEY variant."""
    db = runs_dir / "quality.duckdb"
    bench.remove(db)
    loaded = headrace_load(csv, "main.lineitem", f"duckdb:///{db}", runs_dir, args.timeout)
    setup = Setup(
        "duckdb",
        f"duckdb:///{db}",
        str(db),
        "main.lineitem",
        rows,
        runs_dir,
        args.timeout,
        args.sql,
    )
    result = {**bench_engine(setup, runs_dir, args.runs, notes), "setup": loaded}
    pk = guarded(
        "duckdb_with_primary_key",
        notes,
        lambda: primary_key_section(db, rows, runs_dir, args, result, notes),
    )
    if not args.keep:
        bench.remove(db)
    return result, pk


def primary_key_section(
    source: Path,
    rows: int,
    runs_dir: Path,
    args: argparse.Namespace,
    without_key: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """The same checks on a copy of lineitem with PRIMARY KEY (l_orderkey, l_linenumber)."""
    db = runs_dir / "quality-pk.duckdb"
    bench.remove(db)
    log("creating main.lineitem_pk with PRIMARY KEY (l_orderkey, l_linenumber)")
    # In a child process: this process must stay small, because a child's ru_maxrss
    # starts from its parent's RSS at fork time.
    cmd = [sys.executable, "-c", PRIMARY_KEY_COPY, str(db), str(source), ", ".join(UNIQUE_KEY)]
    made = bench.run_measured(cmd, cwd=runs_dir, timeout=args.timeout)
    if not made.ok:
        raise RuntimeError(f"creating lineitem_pk failed: {made.error_text()}")
    create_s = round(made.seconds, 2)
    setup = Setup(
        "duckdb", f"duckdb:///{db}", str(db), "main.lineitem_pk", rows, runs_dir, args.timeout
    )
    checks, probe_info = probe(setup, runs_dir, notes)
    contenders: dict[str, Callable[[], Measured]] = {
        # By hand, too, nobody re-proves what the constraint guarantees: the aggregate only.
        "handwritten": lambda: raw_run(
            "duckdb",
            setup.target,
            handwritten_queries(setup.table, with_unique=False),
            runs_dir,
            args.timeout,
        ),
    }
    if checks is not None:
        contenders = {
            "headrace": lambda: headrace_check(setup.url, checks, runs_dir, args.timeout),
            **contenders,
        }
    measured = contend(setup, contenders, args.runs)
    hr = summarise_headrace(measured.get("headrace", []), rows)
    if checks is None:
        hr["error"] = probe_info.get("error", "headrace check failed")
    hand = summarise_raw(
        measured["handwritten"], rows, lambda r: handwritten_verdict(r, with_unique=False)
    )
    vs_hand = ratio(hr, hand)
    no_key_s = without_key.get("headrace_s")
    result: dict[str, Any] = {
        "table": setup.table,
        "headrace_s": hr.get("seconds"),
        "handwritten_s": hand.get("seconds"),
        "handwritten_runs": "the aggregate SELECT only (the constraint proves uniqueness)",
        "ratio_vs_handwritten": vs_hand,
        "target_ratio": TARGET_RATIO,
        "meets_target": vs_hand is not None and vs_hand <= TARGET_RATIO,
        "headrace_rows_per_s": hr.get("rows_per_s"),
        "queries": hr.get("queries"),
        "status": hr.get("status"),
        "unique_check_message": hr.get("unique_check_message"),
        "uniqueness_skipped": hr.get("queries") == 1
        and "PRIMARY KEY" in str(hr.get("unique_check_message") or ""),
        "headrace_s_without_primary_key": no_key_s,
        "speedup_vs_without_primary_key": round(no_key_s / hr["seconds"], 3)
        if no_key_s and hr.get("seconds")
        else None,
        "create_table_s": create_s,
        "headrace": hr,
        "handwritten": hand,
        "headrace_plan": plan_lines(probe_info.get("explain", "")),
    }
    for key in ("check_file", "plain_check_file_error"):
        if key in probe_info:
            result[key] = probe_info[key]
    if "error" in hr:
        result["error"] = hr["error"]
    if not args.keep:
        bench.remove(db)
    return result


def postgres_section(
    csv: Path, rows: int, workdir: Path, runs_dir: Path, args: argparse.Namespace, notes: list[str]
) -> dict[str, Any]:
    """A throwaway cluster, one load, then the three contenders."""
    base = Path(tempfile.mkdtemp(prefix="pg-quality-", dir=workdir))
    log(f"starting a throwaway PostgreSQL cluster in {base}")
    pg = bench.Postgres(base)
    try:
        url = pg.fresh("bench_quality")
        loaded = headrace_load(csv, "public.lineitem", url, runs_dir, args.timeout)
        started = time.perf_counter()
        # Set hint bits and the visibility map now, so the first measured scan does not
        # pay for writing them; then flush, so no run pays for a checkpoint.
        vacuum(url, "VACUUM (FREEZE, ANALYZE) public.lineitem")
        pg.admin.execute("CHECKPOINT")
        loaded["vacuum_s"] = round(time.perf_counter() - started, 2)
        setup = Setup(
            "postgres", url, url, "public.lineitem", rows, runs_dir, args.timeout, args.sql
        )
        result = bench_engine(setup, runs_dir, args.runs, notes)
        settings = pg.query(
            "bench_quality",
            "SELECT name, setting FROM pg_settings WHERE name IN"
            " ('max_parallel_workers_per_gather', 'work_mem', 'shared_buffers', 'jit')",
        )
        result["server"] = {"version": pg.version, **{str(n): str(s) for n, s in settings}}
        result["setup"] = loaded
        return result
    finally:
        log("stopping the PostgreSQL cluster")
        pg.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def vacuum(url: str, sql: str) -> None:
    """Run a statement that returns no rows (VACUUM cannot run inside a transaction)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql)


# -- report ---------------------------------------------------------------------------------


def guarded(what: str, notes: list[str], step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    return _shared.guarded(what, notes, step, log)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the sections, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale (default 1)")
    parser.add_argument("--skip-postgres", action="store_true", help="DuckDB only")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/headrace-bench"))
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per contender (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the cluster")
    parser.add_argument("--timeout", type=float, default=600.0, help="per process, seconds")
    parser.add_argument("--sql", action="store_true", help="include the SQL texts in the JSON")
    args = parser.parse_args(argv)

    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runs_dir = workdir / "quality-runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    runs_dir.mkdir()
    started = time.perf_counter()
    notes = [
        f"each figure is the fastest of {args.runs} runs (contenders interleaved, order rotated"
        " per round), after one untimed headrace run that warms the cache",
        "wall time around a fresh process: interpreter start-up, imports, connect (and for"
        " headrace compiling the checks and storing their results) count",
        f"{CHECK_COUNT} checks: row_count, unique(l_orderkey, l_linenumber), 2 not_null,"
        " 3 range, 3 accepted_values, 1 length, 1 completeness",
        "headrace's one scan also computes records passing all row checks and the"
        " completeness of every column (count(col) for all 16): work the hand-written"
        " query does not do",
    ]
    busy_before = bench.cpu_busy()
    csv, rows = bench.ensure_lineitem(workdir, args.scale)
    log(f"SF{bench.scale_name(args.scale)}: {rows} rows")
    cpus = os.cpu_count()
    if cpus != 2:
        notes.append(f"this machine has {cpus} CPUs, not the 2 the targets were set for")

    sections: dict[str, Any] = {}

    def duck() -> dict[str, Any]:
        result, pk = duckdb_section(csv, rows, runs_dir, args, notes)
        sections["duckdb_with_primary_key"] = pk
        return result

    sections["duckdb"] = guarded("duckdb", notes, duck)
    sections.setdefault("duckdb_with_primary_key", {"error": "duckdb section failed"})
    if args.skip_postgres:
        sections["postgres"] = {"skipped": True}
    else:
        sections["postgres"] = guarded(
            "postgres", notes, lambda: postgres_section(csv, rows, workdir, runs_dir, args, notes)
        )
    if not args.keep:
        shutil.rmtree(runs_dir, ignore_errors=True)
    busy_after = bench.cpu_busy()
    busiest = max(x for x in (busy_before, busy_after, 0.0) if x is not None)
    if busiest > BUSY_WARNING:
        notes.append(
            f"other work was using {busiest:.0%} of the CPUs just before or after the run:"
            " figures are noisy; re-run on an idle machine"
        )
    for name in ("duckdb", "postgres", "duckdb_with_primary_key"):
        data = sections[name]
        if data.get("status") not in (None, "passed"):
            notes.append(f"{name}: headrace status {data.get('status')!r}, expected 'passed'")
        for side in ("handwritten", "one_per_check"):
            if (data.get(side) or {}).get("all_passed") is False:
                notes.append(f"{name}: the {side} queries found a failing check")
    print(
        json.dumps(
            {
                "benchmark": "quality",
                "table": "tpch lineitem",
                "scale": args.scale,
                "rows": rows,
                "checks": CHECK_COUNT,
                "cpu_count": cpus,
                "machine": bench.machine(),
                "cpu_busy_outside_run": {"before": busy_before, "after": busy_after},
                "duckdb": sections["duckdb"],
                "postgres": sections["postgres"],
                "duckdb_with_primary_key": sections["duckdb_with_primary_key"],
                "total_seconds": round(time.perf_counter() - started, 1),
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
