"""Index advisor: ``headrace advise --verify`` against an expert's indexes, in the same run.

Promise 5 says an index recommendation is verified by running the workload before and
after. This script measures what the recommendations are worth on TPC-H in PostgreSQL
with primary keys only, next to the indexes a DBA would write by hand, and prints one
JSON line.

Method:

- Data: all 8 TPC-H tables as CSV from ``tpchgen-cli csv -s SCALE``, cached in
  ``WORKDIR/tpch-sf<SCALE>/`` (for SF1 an existing ``/tmp/tpch/full-sf1`` with all 8 files
  is used as is). Loaded once per run into a throwaway cluster from ``tests/pg_cluster.py``
  (fsync off, otherwise defaults: ``shared_buffers`` 128 MB) through psycopg
  ``COPY ... FROM STDIN``; INT/BIGINT keys, NUMERIC(15,2) money, DATE dates, TEXT text;
  primary keys only (``partsupp (ps_partkey, ps_suppkey)``, ``lineitem (l_orderkey,
  l_linenumber)``); then ``VACUUM (FREEZE, ANALYZE)`` and ``CREATE EXTENSION hypopg``.
- Workload: ``benchmarks/advisor_workload.sql``: 20 selective application and dashboard
  queries and 3 ``wide_*`` aggregates that no index helps (labels from ``-- name:``).
- headrace: ``headrace advise --to URL --workload FILE --verify --repeat N --json`` in a
  fresh process, timed by wall clock. Its own ``analysis_seconds`` covers reading the
  workload, what-if costing and selection (not the measuring). ``--verify`` measures
  every query (2 warm-up runs, then N timed), builds the recommendations, ANALYZEs,
  measures again, reads each index's scans and drops the indexes.
- Expert: a fixed hand-written index set (``EXPERT_INDEXES``), the obvious indexes a DBA
  would write for the 20 queries. ``headrace bench --repeat N --json`` measures the
  selective and the wide queries (split into two files, so each pooled p95 is over
  exactly that group) with primary keys only, then with the expert's indexes built and
  ANALYZEd; then they are dropped.
- Selective figures: pooled p95 over every sample of the queries an index can help. For
  headrace this is its own ``helped`` group (the queries it recommended an index for); the
  selective queries outside that group are listed. ``p95_after_max_per_query_ms`` is the
  largest per-query p95 over all 20 (an upper bound of any pooled p95). The summed
  median (sum of the 20 per-query p50) compares headrace and the expert directly.
- Wide aggregates: per-query p50 before and after headrace's indexes, and whether the
  plan after uses a new index. "Slower" means the p50 after is more than 10% above every
  primary-key-only p50 of that query in this run (headrace's before, the expert's
  before, and a last run after the expert's indexes are dropped), so a machine that
  gets busier mid-run does not pass for a regression.

Targets (over the queries an index can help): p95 reduction >= 90%, p95 after < 100 ms,
index utilization >= 90%, analysis < 60 s on 2 cores, no recommended index unused, no
wide aggregate slower. Nothing is asserted; a failed headrace run is reported under
``error`` with its stderr tail. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKLOAD = BENCH_DIR / "advisor_workload.sql"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SF1_CACHE = Path("/tmp/tpch/full-sf1")
DATABASE = "tpch"
REPEAT = 10
COPY_CHUNK = 1 << 20
WIDE_PREFIX = "wide_"
BUSY_WARNING = 0.15

TARGET_P95_REDUCTION_PCT = 90.0
TARGET_P95_AFTER_MS = 100.0
TARGET_UTILIZATION_PCT = 90.0
TARGET_ANALYSIS_S = 60.0
NOISE_FLOOR = 0.10  # "slower": 10% above every primary-key-only measurement of the run

KEY, MONEY = "INT", "NUMERIC(15,2)"
# table -> (columns with types, primary key)
TABLES: dict[str, tuple[list[tuple[str, str]], tuple[str, ...]]] = {
    "region": (
        [("r_regionkey", KEY), ("r_name", "TEXT"), ("r_comment", "TEXT")],
        ("r_regionkey",),
    ),
    "nation": (
        [("n_nationkey", KEY), ("n_name", "TEXT"), ("n_regionkey", KEY), ("n_comment", "TEXT")],
        ("n_nationkey",),
    ),
    "supplier": (
        [
            ("s_suppkey", KEY),
            ("s_name", "TEXT"),
            ("s_address", "TEXT"),
            ("s_nationkey", KEY),
            ("s_phone", "TEXT"),
            ("s_acctbal", MONEY),
            ("s_comment", "TEXT"),
        ],
        ("s_suppkey",),
    ),
    "customer": (
        [
            ("c_custkey", KEY),
            ("c_name", "TEXT"),
            ("c_address", "TEXT"),
            ("c_nationkey", KEY),
            ("c_phone", "TEXT"),
            ("c_acctbal", MONEY),
            ("c_mktsegment", "TEXT"),
            ("c_comment", "TEXT"),
        ],
        ("c_custkey",),
    ),
    "part": (
        [
            ("p_partkey", KEY),
            ("p_name", "TEXT"),
            ("p_mfgr", "TEXT"),
            ("p_brand", "TEXT"),
            ("p_type", "TEXT"),
            ("p_size", "INT"),
            ("p_container", "TEXT"),
            ("p_retailprice", MONEY),
            ("p_comment", "TEXT"),
        ],
        ("p_partkey",),
    ),
    "partsupp": (
        [
            ("ps_partkey", KEY),
            ("ps_suppkey", KEY),
            ("ps_availqty", "INT"),
            ("ps_supplycost", MONEY),
            ("ps_comment", "TEXT"),
        ],
        ("ps_partkey", "ps_suppkey"),
    ),
    "orders": (
        [
            ("o_orderkey", "BIGINT"),
            ("o_custkey", KEY),
            ("o_orderstatus", "TEXT"),
            ("o_totalprice", MONEY),
            ("o_orderdate", "DATE"),
            ("o_orderpriority", "TEXT"),
            ("o_clerk", "TEXT"),
            ("o_shippriority", "INT"),
            ("o_comment", "TEXT"),
        ],
        ("o_orderkey",),
    ),
    "lineitem": (
        [
            ("l_orderkey", "BIGINT"),
            ("l_partkey", KEY),
            ("l_suppkey", KEY),
            ("l_linenumber", "INT"),
            ("l_quantity", MONEY),
            ("l_extendedprice", MONEY),
            ("l_discount", MONEY),
            ("l_tax", MONEY),
            ("l_returnflag", "TEXT"),
            ("l_linestatus", "TEXT"),
            ("l_shipdate", "DATE"),
            ("l_commitdate", "DATE"),
            ("l_receiptdate", "DATE"),
            ("l_shipinstruct", "TEXT"),
            ("l_shipmode", "TEXT"),
            ("l_comment", "TEXT"),
        ],
        ("l_orderkey", "l_linenumber"),
    ),
}

# What a DBA writes for the 20 selective queries: one index per access path, shared where
# a composite serves several queries (its leading column answers the single-column ones).
EXPERT_INDEXES: list[tuple[str, tuple[str, ...], str]] = [
    ("orders", ("o_custkey", "o_orderdate"), "orders/line items/totals of a customer"),
    ("orders", ("o_orderdate",), "recent orders, recent urgent orders, orders on a day"),
    ("orders", ("o_clerk",), "open orders of a clerk"),
    ("lineitem", ("l_partkey", "l_shipdate"), "sales and latest shipments of a part"),
    ("lineitem", ("l_suppkey", "l_shipdate"), "a supplier's shipments in a month"),
    ("lineitem", ("l_receiptdate",), "air receipts on a day"),
    ("part", ("p_brand", "p_type", "p_size"), "parts by brand, type and size"),
    ("part", ("p_brand", "p_container"), "parts by brand and container"),
    ("partsupp", ("ps_suppkey",), "parts supplied by a supplier"),
    ("supplier", ("s_nationkey",), "suppliers in a nation"),
    ("customer", ("c_phone",), "customer by phone"),
    ("customer", ("c_nationkey", "c_mktsegment"), "top customers of a segment in a nation"),
]


import _shared  # noqa: E402 - the benchmarks folder is on the path when run as a script

if TYPE_CHECKING:
    import load as bench
    from load import Measured
else:
    bench = _shared.load_bench()
    Measured = bench.Measured


def log(message: str) -> None:
    """Progress to stderr, so stdout stays one JSON line."""
    print(f"[advisor-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quote(name: str) -> str:
    """A PostgreSQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


# -- data -----------------------------------------------------------------------------------


def complete(folder: Path) -> bool:
    """True when ``folder`` holds a non-empty CSV of every TPC-H table."""
    files = [folder / f"{t}.csv" for t in TABLES]
    return all(f.is_file() and f.stat().st_size > 0 for f in files)


def ensure_tpch(workdir: Path, scale: float) -> Path:
    """The folder of all 8 TPC-H CSVs at ``scale`` (generated once if missing)."""
    folder = workdir / f"tpch-sf{bench.scale_name(scale)}"
    if complete(folder):
        return folder
    if scale == 1 and complete(SF1_CACHE):
        return SF1_CACHE
    binary = bench.tool("tpchgen-cli")
    if binary is None:
        raise SystemExit("tpchgen-cli not found: pip install tpchgen-cli")
    log(f"generating all TPC-H tables at SF{bench.scale_name(scale)} ...")
    staging = Path(tempfile.mkdtemp(prefix="gen-", dir=workdir))
    try:
        subprocess.run(
            [binary, "csv", "-s", str(scale), "--output-dir", str(staging)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if not complete(staging):
            raise SystemExit(f"tpchgen-cli did not write all 8 tables into {staging}")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)  # into place only when complete
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


# -- PostgreSQL -----------------------------------------------------------------------------


class Cluster:
    """A throwaway cluster with one database holding TPC-H."""

    def __init__(self, base: Path) -> None:
        import psycopg

        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        from tests.pg_cluster import find_bin_dir, start_cluster

        explicit = os.environ.get("HEADRACE_PG_BIN")
        bin_dir = Path(explicit) if explicit else PG_BIN if PG_BIN.exists() else find_bin_dir()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (set HEADRACE_PG_BIN)")
        self.cluster = start_cluster(base, bin_dir)
        with psycopg.connect(self.cluster.admin_url, autocommit=True) as admin:
            self.version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            admin.execute(f"CREATE DATABASE {quote(DATABASE)}")
        self.url = str(self.cluster.url(DATABASE))

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """One statement in autocommit mode on a fresh connection; its rows, if any."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            cur = con.execute(sql)
            return list(cur.fetchall()) if cur.description else []

    def stop(self) -> None:
        """Stop the server (the data directory is removed by the caller)."""
        self.cluster.stop()


def load_table(url: str, table: str, csv: Path) -> dict[str, Any]:
    """CREATE TABLE, COPY the file's bytes in 1 MiB chunks, add the primary key."""
    import psycopg

    columns, key = TABLES[table]
    with open(csv, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    if header != [c for c, _ in columns]:
        raise RuntimeError(f"{csv}: header {header} does not match the {table} schema")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SET maintenance_work_mem = '256MB'")
        cols = ", ".join(f"{quote(c)} {t} NOT NULL" for c, t in columns)
        con.execute(f"CREATE TABLE {quote(table)} ({cols})")
        with con.cursor() as cur, open(csv, "rb") as f:
            with cur.copy(f"COPY {quote(table)} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while data := f.read(COPY_CHUNK):
                    copy.write(data)
            rows = cur.rowcount
        copied = time.perf_counter()
        pk = ", ".join(quote(c) for c in key)
        con.execute(f"ALTER TABLE {quote(table)} ADD PRIMARY KEY ({pk})")
        con.execute(f"VACUUM (FREEZE, ANALYZE) {quote(table)}")
    done = time.perf_counter()
    log(f"  {table}: {rows} rows, copy {copied - started:.1f} s, then {done - copied:.1f} s")
    return {"rows": rows, "seconds": round(done - started, 2)}


def load_tpch(cluster: Cluster, data: Path) -> dict[str, Any]:
    """All 8 tables: lineitem on one connection, the other 7 on another (2 cores)."""
    started = time.perf_counter()
    others = [t for t in TABLES if t != "lineitem"]

    def rest() -> dict[str, Any]:
        return {t: load_table(cluster.url, t, data / f"{t}.csv") for t in others}

    with ThreadPoolExecutor(max_workers=2) as pool:
        big = pool.submit(load_table, cluster.url, "lineitem", data / "lineitem.csv")
        small = pool.submit(rest)
        tables = {**small.result(), "lineitem": big.result()}
    cluster.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
    hypopg = cluster.execute("SELECT extversion FROM pg_extension WHERE extname = 'hypopg'")
    size = cluster.execute(f"SELECT pg_database_size('{DATABASE}')")[0][0]
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "rows": {t: tables[t]["rows"] for t in TABLES},
        "database_mb": round(int(size) / 1_048_576),
        "hypopg": hypopg[0][0] if hypopg else None,
    }


# -- workload -------------------------------------------------------------------------------


def split_workload(path: Path, into: Path) -> tuple[list[str], list[str], Path, Path]:
    """Labels of the selective and the wide queries, and a workload file of each group."""
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=--\s*name:)", text)
    selective: list[tuple[str, str]] = []
    wide: list[tuple[str, str]] = []
    for part in parts:
        found = re.match(r"--\s*name:\s*(\S+)", part)
        if not found:
            continue  # the file's header comment
        label = found.group(1)
        (wide if label.startswith(WIDE_PREFIX) else selective).append((label, part))
    files = []
    for name, group in (("selective", selective), ("wide", wide)):
        file = into / f"advisor_workload_{name}.sql"
        file.write_text("\n".join(p.strip() for _, p in group) + "\n", encoding="utf-8")
        files.append(file)
    return [x for x, _ in selective], [x for x, _ in wide], files[0], files[1]


# -- running headrace -----------------------------------------------------------------------


def run_headrace(args: Sequence[str], cwd: Path, timeout: float) -> tuple[Measured, Any]:
    """``headrace ARGS`` in a fresh process: the measurement and its JSON (None if none)."""
    m = bench.run_measured([*bench.headrace_command(), *args], cwd=cwd, timeout=timeout)
    log(f"  headrace {args[0]}: {m.seconds:.1f} s, exit {m.returncode}")
    if not m.ok:
        log(f"  failed: {m.error_text()[-600:]}")
    return m, m.last_json()


def bench_workload(url: str, workload: Path, repeat: int, cwd: Path, timeout: float) -> Any:
    """``headrace bench --json`` of one workload file; raises when it fails."""
    m, report = run_headrace(
        ["bench", "--to", url, "--workload", str(workload), "--repeat", str(repeat), "--json"],
        cwd,
        timeout,
    )
    if not m.ok or report is None:
        raise RuntimeError(f"headrace bench failed: {m.error_text()}")
    return report


def scans(cluster: Cluster) -> dict[str, int]:
    """idx_scan per index name."""
    rows = cluster.execute("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes")
    return {str(n): int(s or 0) for n, s in rows}


def scans_after(cluster: Cluster, before: dict[str, int]) -> dict[str, int]:
    """idx_scan once the measuring sessions' statistics have reached the shared view."""
    deadline = time.monotonic() + 5.0
    while True:
        found = scans(cluster)
        if found != before or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def expert_section(
    cluster: Cluster,
    selective: Path,
    wide: Path,
    repeat: int,
    cwd: Path,
    timeout: float,
) -> dict[str, Any]:
    """PK-only measurement, the expert's indexes built and measured, then dropped."""
    log("expert: measuring with primary keys only")
    before = {
        "selective": bench_workload(cluster.url, selective, repeat, cwd, timeout),
        "wide": bench_workload(cluster.url, wide, repeat, cwd, timeout),
    }
    built: list[dict[str, Any]] = []
    try:
        for table, columns, purpose in EXPERT_INDEXES:
            name = f"expert_{table}_{'_'.join(columns)}"
            ddl = (
                f"CREATE INDEX {quote(name)} ON {quote(table)}"
                f" ({', '.join(quote(c) for c in columns)})"
            )
            started = time.perf_counter()
            cluster.execute(ddl)
            seconds = time.perf_counter() - started
            log(f"expert: built {name} in {seconds:.1f} s")
            built.append({"name": name, "ddl": ddl + ";", "for": purpose, "build_s": seconds})
        for table in sorted({t for t, _, _ in EXPERT_INDEXES}):
            cluster.execute(f"ANALYZE {quote(table)}")
        log("expert: measuring with the expert's indexes")
        counted = scans(cluster)
        after = {
            "selective": bench_workload(cluster.url, selective, repeat, cwd, timeout),
            "wide": bench_workload(cluster.url, wide, repeat, cwd, timeout),
        }
        counted_after = scans_after(cluster, counted)
        for index in built:
            size = cluster.execute(f"SELECT pg_relation_size('{index['name']}'::regclass)")
            index["size_mb"] = round(int(size[0][0]) / 1_048_576, 3)
            index["scans"] = counted_after.get(index["name"], 0) - counted.get(index["name"], 0)
            index["build_s"] = round(index["build_s"], 2)
    finally:
        for index in built:
            cluster.execute(f"DROP INDEX IF EXISTS {quote(index['name'])}")
    log("measuring the wide aggregates once more with primary keys only (noise reference)")
    final = bench_workload(cluster.url, wide, repeat, cwd, timeout)
    return {"before": before, "after": after, "indexes": built, "pk_only_final_wide": final}


# -- figures --------------------------------------------------------------------------------


def pct_less(before: float | None, after: float | None) -> float | None:
    """How much ``after`` is below ``before``, in percent."""
    if not before or after is None:
        return None
    return round(100.0 * (before - after) / before, 1)


def per_query(queries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-query timings by label."""
    return {str(q["label"]): q for q in queries}


def summed_p50(rows: dict[str, dict[str, Any]], labels: Sequence[str]) -> float:
    """Sum of the per-query medians over ``labels`` (missing queries count 0)."""
    return round(sum(float(rows.get(x, {}).get("p50_ms", 0.0)) for x in labels), 3)


def wide_figures(
    labels: Sequence[str],
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    reruns: Sequence[dict[str, dict[str, Any]]],
) -> dict[str, Any]:
    """Per wide aggregate: p50 before/after, the other primary-key-only measurements of
    this run, and whether the p50 after is above all of them by more than 10%."""
    rows: dict[str, Any] = {}
    for label in labels:
        b, a = before.get(label, {}), after.get(label, {})
        p50_b, p50_a = float(b.get("p50_ms", 0.0)), float(a.get("p50_ms", 0.0))
        pk_only = [p50_b] + [float(r[label]["p50_ms"]) for r in reruns if label in r]
        new_indexes = [x for x in a.get("indexes", []) if x not in b.get("indexes", [])]
        rows[label] = {
            "p50_before_ms": round(p50_b, 3),
            "p50_after_ms": round(p50_a, 3),
            "p95_before_ms": b.get("p95_ms"),
            "p95_after_ms": a.get("p95_ms"),
            "change_pct": round(100.0 * (p50_a - p50_b) / p50_b, 1) if p50_b else None,
            "pk_only_p50_ms": [round(x, 3) for x in pk_only],
            "pk_only_spread_pct": round(100.0 * (max(pk_only) / min(pk_only) - 1), 1)
            if min(pk_only) > 0
            else None,
            "slower": p50_a > max(pk_only) * (1 + NOISE_FLOOR),
            "plan_uses_new_index": new_indexes,
        }
    return rows


def headrace_figures(
    report: dict[str, Any], selective: Sequence[str], wide: Sequence[str]
) -> dict[str, Any]:
    """The selective and wide figures of one ``advise --verify --json`` report."""
    queries = report.get("queries") or []
    before = per_query(queries)
    after = {label: q.get("after") or {} for label, q in before.items()}
    helped = {x for r in report.get("recommendations", []) for x in r.get("queries_helped", [])}
    group = report.get("helped") or {}
    p95_after_each = {x: float(after.get(x, {}).get("p95_ms", 0.0)) for x in selective}
    sum_before, sum_after = summed_p50(before, selective), summed_p50(after, selective)
    return {
        "helped_queries": group.get("queries"),
        "p95_before_ms": (group.get("before") or {}).get("p95_ms"),
        "p95_after_ms": (group.get("after") or {}).get("p95_ms"),
        "p95_reduction_pct": group.get("p95_reduction_pct"),
        "p95_after_max_per_query_ms": max(p95_after_each.values(), default=None),
        "p95_after_max_query": max(p95_after_each, key=p95_after_each.get, default=None),
        "selective_not_helped": [x for x in selective if x not in helped],
        "selective_without_secondary_index_after": [
            x for x in selective if not after.get(x, {}).get("uses_secondary_index")
        ],
        "summed_p50_before_ms": sum_before,
        "summed_p50_after_ms": sum_after,
        "summed_p50_reduction_pct": pct_less(sum_before, sum_after),
        "per_query": {
            x: {
                "p50_before_ms": before.get(x, {}).get("p50_ms"),
                "p50_after_ms": after.get(x, {}).get("p50_ms"),
                "p95_after_ms": after.get(x, {}).get("p95_ms"),
                "indexes_after": after.get(x, {}).get("indexes"),
            }
            for x in selective
        },
    }


def expert_figures(expert: dict[str, Any], selective: Sequence[str]) -> dict[str, Any]:
    """Selective figures of the expert's indexes (pooled p95 over exactly the 20)."""
    b, a = expert["before"]["selective"], expert["after"]["selective"]
    before, after = per_query(b["queries"]), per_query(a["queries"])
    sum_before, sum_after = summed_p50(before, selective), summed_p50(after, selective)
    secondary = [x for x in selective if after.get(x, {}).get("uses_secondary_index")]
    return {
        "indexes": len(expert["indexes"]),
        "total_size_mb": round(sum(i["size_mb"] for i in expert["indexes"]), 1),
        "build_seconds": round(sum(i["build_s"] for i in expert["indexes"]), 1),
        "p95_before_ms": b["overall"]["p95_ms"],
        "p95_after_ms": a["overall"]["p95_ms"],
        "p95_reduction_pct": pct_less(b["overall"]["p95_ms"], a["overall"]["p95_ms"]),
        "p95_after_max_per_query_ms": max(
            (float(after.get(x, {}).get("p95_ms", 0.0)) for x in selective), default=None
        ),
        "queries_using_secondary_index": len(secondary),
        "summed_p50_before_ms": sum_before,
        "summed_p50_after_ms": sum_after,
        "summed_p50_reduction_pct": pct_less(sum_before, sum_after),
        "unused_indexes": [i["ddl"] for i in expert["indexes"] if i["scans"] == 0],
        "index_list": [
            {k: i[k] for k in ("ddl", "size_mb", "scans", "build_s")} for i in expert["indexes"]
        ],
        "per_query_p50_after_ms": {x: after.get(x, {}).get("p50_ms") for x in selective},
    }


# -- report ---------------------------------------------------------------------------------


def guarded(what: str, notes: list[str], step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    return _shared.guarded(what, notes, step, log)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, load, run headrace and the expert, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale (default 1)")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs per query")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/headrace-bench"))
    parser.add_argument("--workload", type=Path, default=WORKLOAD, help="-- name: labelled SQL")
    parser.add_argument("--skip-expert", action="store_true", help="headrace only")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's data directory")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per process, seconds")
    args = parser.parse_args(argv)

    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runs_dir = workdir / "advisor-runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    runs_dir.mkdir()
    started = time.perf_counter()
    notes = [
        f"every query: 2 untimed warm-up runs, then {args.repeat} timed (wall clock around"
        " execute + fetch in the measuring process)",
        "p95 figures are pooled over every sample of a group; the selective group for"
        " headrace is the queries it recommended an index for (see selective_not_helped)",
        "the expert's figures come from headrace bench on the same cluster, minutes later",
    ]
    cpus = os.cpu_count()
    if cpus != 2:
        notes.append(f"this machine has {cpus} CPUs, not the 2 the targets were set for")
    busy_before = bench.cpu_busy()
    workload = args.workload.resolve()
    selective, wide, selective_file, wide_file = split_workload(workload, runs_dir)
    data = ensure_tpch(workdir, args.scale)
    log(f"data: {data}; {len(selective)} selective and {len(wide)} wide queries")

    base = Path(tempfile.mkdtemp(prefix="pg-advisor-", dir=workdir))
    log(f"starting a throwaway PostgreSQL cluster in {base}")
    cluster = Cluster(base)
    result: dict[str, Any] = {}
    try:
        log(f"loading TPC-H SF{bench.scale_name(args.scale)} (primary keys only)")
        load = load_tpch(cluster, data)
        log(f"loaded in {load['seconds']} s ({load['database_mb']} MB)")

        log("headrace advise --verify ...")
        m, report = run_headrace(
            ["advise", "--to", cluster.url, "--workload", str(workload), "--verify"]
            + ["--repeat", str(args.repeat), "--json"],
            runs_dir,
            args.timeout,
        )
        if not m.ok or report is None:
            result["headrace"] = {"error": m.error_text(), "wall_seconds": round(m.seconds, 1)}
            report = None
        leftovers = cluster.execute(
            "SELECT indexrelname FROM pg_stat_user_indexes WHERE indexrelname NOT LIKE '%_pkey'"
        )
        if leftovers:
            notes.append(f"headrace left indexes behind after --verify: {leftovers}")
        if args.skip_expert:
            expert: dict[str, Any] = {"skipped": True}
        else:
            expert = guarded(
                "expert",
                notes,
                lambda: expert_section(
                    cluster, selective_file, wide_file, args.repeat, runs_dir, args.timeout
                ),
            )
    finally:
        log("stopping the PostgreSQL cluster")
        cluster.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(runs_dir, ignore_errors=True)

    expert_ok = "before" in expert
    if report is not None:
        recs = report.get("recommendations", [])
        hr = headrace_figures(report, selective, wide)
        reruns = (
            [per_query(expert["before"]["wide"]["queries"])]
            + [per_query(expert["pk_only_final_wide"]["queries"])]
            if expert_ok
            else []
        )
        before_q = per_query(report.get("queries") or [])
        after_q = {x: q.get("after") or {} for x, q in before_q.items()}
        wide_rows = wide_figures(wide, before_q, after_q, reruns)
        unused = report.get("unused_recommendations", [])
        result["headrace"] = {
            "wall_seconds": round(m.seconds, 1),
            "analysis_seconds": report.get("analysis_seconds"),
            "method": report.get("method"),
            "candidates": report.get("candidates"),
            "recommendations": len(recs),
            "total_size_mb": report.get("total_size_mb"),
            "recommendation_list": [
                {k: r.get(k) for k in ("ddl", "size_mb", "scans", "queries_helped", "error")}
                for r in recs
            ],
            "index_utilization_pct": report.get("index_utilization_pct"),
            "whole_workload_p95_reduction_pct": report.get("p95_reduction_pct"),
            "selective": hr,
            "unused_recommendations": unused,
            "headrace_notes": report.get("notes", []),
            "skipped": (report.get("workload") or {}).get("skipped", []),
        }
        slower = [x for x, w in wide_rows.items() if w["slower"]]
        result["wide_aggregates"] = {
            "queries": wide_rows,
            "summed_p50_before_ms": round(sum(w["p50_before_ms"] for w in wide_rows.values()), 1),
            "summed_p50_after_ms": round(sum(w["p50_after_ms"] for w in wide_rows.values()), 1),
            "slower_than_pk_only_range": slower,
            "headrace_slower_flag": (report.get("not_helped") or {}).get("slower"),
        }
        p95_after = hr["p95_after_ms"]
        result["targets"] = {
            "p95_reduction_pct_min": TARGET_P95_REDUCTION_PCT,
            "p95_after_ms_max": TARGET_P95_AFTER_MS,
            "index_utilization_pct_min": TARGET_UTILIZATION_PCT,
            "analysis_seconds_max": TARGET_ANALYSIS_S,
        }
        result["targets_met"] = {
            "p95_reduction": (hr["p95_reduction_pct"] or 0) >= TARGET_P95_REDUCTION_PCT,
            "p95_after": p95_after is not None and p95_after < TARGET_P95_AFTER_MS,
            "p95_after_every_query": (hr["p95_after_max_per_query_ms"] or 0) < TARGET_P95_AFTER_MS,
            "index_utilization": (report.get("index_utilization_pct") or 0)
            >= TARGET_UTILIZATION_PCT,
            "analysis_time": (report.get("analysis_seconds") or 1e9) < TARGET_ANALYSIS_S,
            "no_unused_recommendation": not unused,
            "wide_not_slower": not slower,
        }
        if hr["selective_not_helped"]:
            notes.append(
                "selective queries no recommendation names (outside the helped group):"
                f" {', '.join(hr['selective_not_helped'])}; without a secondary index after:"
                f" {', '.join(hr['selective_without_secondary_index_after']) or 'none'}"
            )
    if expert_ok:
        ex = expert_figures(expert, selective)
        result["expert"] = ex
        if report is not None:
            hr_sel = result["headrace"]["selective"]
            result["summed_p50_reduction_pct"] = {
                "headrace": hr_sel["summed_p50_reduction_pct"],
                "expert": ex["summed_p50_reduction_pct"],
                "headrace_after_over_expert_after": round(
                    hr_sel["summed_p50_after_ms"] / ex["summed_p50_after_ms"], 2
                )
                if ex["summed_p50_after_ms"]
                else None,
            }
            result["size_mb"] = {
                "headrace": result["headrace"]["total_size_mb"],
                "expert": ex["total_size_mb"],
            }
    elif not args.skip_expert:
        result["expert"] = expert

    busy_after = bench.cpu_busy()
    busiest = max(x for x in (busy_before, busy_after, 0.0) if x is not None)
    if busiest > BUSY_WARNING:
        notes.append(
            f"other work was using {busiest:.0%} of the CPUs just before or after the run:"
            " figures are noisy; re-run on an idle machine"
        )
    print(
        json.dumps(
            {
                "benchmark": "advisor",
                "workload": str(workload.relative_to(REPO_ROOT))
                if workload.is_relative_to(REPO_ROOT)
                else str(workload),
                "scale": args.scale,
                "repeat": args.repeat,
                "cpu_count": cpus,
                "machine": {**bench.machine(), "postgres": cluster.version},
                "cpu_busy_outside_run": {"before": busy_before, "after": busy_after},
                "load": load,
                "selective_queries": len(selective),
                "wide_queries": len(wide),
                **result,
                "total_seconds": round(time.perf_counter() - started, 1),
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
