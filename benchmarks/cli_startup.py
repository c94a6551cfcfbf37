"""CLI start-up time: median wall time of ``headrace --help`` over 10 runs.

Target: under 300 ms, which holds only while drivers (duckdb, psycopg, pyarrow, sqlglot,
pydantic) are imported lazily. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10
TARGET_MS = 300.0


def headrace_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m headrace``."""
    script = Path(sys.executable).with_name("headrace")
    if script.exists():
        return [str(script)]
    found = shutil.which("headrace")
    return [found] if found else [sys.executable, "-m", "headrace"]


def main() -> None:
    """Time the runs and print the result."""
    command = [*headrace_command(), "--help"]
    env = {**os.environ, "COLUMNS": "100"}
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm the disk cache
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        samples.append((time.perf_counter() - started) * 1000)
    bare = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(
        json.dumps(
            {
                "benchmark": "cli_startup",
                "command": "headrace --help",
                "runs": RUNS,
                "median_ms": round(median, 1),
                "min_ms": round(min(samples), 1),
                "max_ms": round(max(samples), 1),
                "python_startup_median_ms": round(statistics.median(bare), 1),
                "ratio_to_bare_python": round(median / statistics.median(bare), 2),
                "target_ms": TARGET_MS,
                "meets_target": median < TARGET_MS,
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
