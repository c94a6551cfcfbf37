"""Soak: many small pipeline runs, a share of them hit by an injected transient fault.

Each run loads a new small CSV file (``--incremental files``) through ``headrace run``
machinery in-process (Project.run_pipelines), with HEADRACE_TEST_TRANSIENT making each
step attempt fail with a TransientError with the given probability. The retry policy
must absorb them: the success rate must stay >= 99.9% and the warehouse must equal the
fault-free reference (every row once). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    """Run the soak and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--rows", type=int, default=20, help="rows per file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ["HEADRACE_TEST_TRANSIENT"] = str(args.fault_rate)
    os.environ["HEADRACE_TEST_SEED"] = str(args.seed)

    from headrace.engines.registry import create_engine
    from headrace.project import Project

    work = Path(tempfile.mkdtemp(prefix="headrace-soak-"))
    try:
        (work / "in").mkdir()
        (work / "headrace.yml").write_text(
            "warehouse: duckdb:///w.duckdb\n"
            "runtime: {retries: {max_attempts: 5, initial_delay: 0, max_delay: 0, jitter: 0}}\n"
            "pipelines:\n"
            "  events: {source: in, table: raw.events, format: csv, incremental: files}\n"
        )
        project = Project.discover(start=work)
        succeeded = retries = faults_seen = 0
        started = time.perf_counter()
        for run in range(args.runs):
            lines = "".join(f"{run * args.rows + i},{run}\n" for i in range(args.rows))
            (work / "in" / f"part-{run:05d}.csv").write_text("id,run\n" + lines)
            outcome = project.run_pipelines([], checks=False)
            step = outcome.steps[0]
            succeeded += outcome.status == "succeeded"
            retries += max(0, step.attempts - 1)
            faults_seen += step.attempts - 1 if step.status == "succeeded" else step.attempts
        seconds = time.perf_counter() - started
        expected = args.runs * args.rows
        with create_engine(f"duckdb:///{work / 'w.duckdb'}") as engine:
            rows, distinct = engine.fetchall("SELECT count(*), count(DISTINCT id) FROM raw.events")[
                0
            ]
        print(
            json.dumps(
                {
                    "benchmark": "soak",
                    "runs": args.runs,
                    "fault_rate": args.fault_rate,
                    "succeeded": succeeded,
                    "success_rate_pct": round(100.0 * succeeded / args.runs, 3),
                    "target_pct": 99.9,
                    "meets_target": 100.0 * succeeded / args.runs >= 99.9,
                    "retries_used": retries,
                    "injected_faults": faults_seen,
                    "rows_expected": expected,
                    "rows_loaded": rows,
                    "duplicate_rows": rows - distinct,
                    "data_equals_reference": rows == expected and distinct == expected,
                    "seconds": round(seconds, 1),
                    "cpu_count": os.cpu_count(),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
