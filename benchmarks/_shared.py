"""Helpers every benchmark script shares: loading ``load.py`` (data cache, process timing,
the PostgreSQL cluster), machine facts, a busy-CPU sample, and error-proof sections."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent


def load_bench() -> Any:
    """``benchmarks/load.py`` as a module, loaded once under a name of its own."""
    name = "headrace_bench_load"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def machine(packages: tuple[str, ...] = ("duckdb",)) -> dict[str, Any]:
    """Where the figures come from: platform, Python, cores, CPU, memory, package versions."""
    from importlib import metadata

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_mb"] = round(int(line.split()[1]) / 1024)
                break
    except OSError:
        pass
    for package in packages:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return info


def cpu_busy(seconds: float = 2.0) -> float | None:
    """Share of all CPUs busy over a short sample (from /proc/stat): is anything else running?"""

    def totals() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    try:
        total0, idle0 = totals()
        time.sleep(seconds)
        total1, idle1 = totals()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total1 - total0
    return round(1 - (idle1 - idle0) / elapsed, 3) if elapsed > 0 else None


def guarded(
    what: str,
    notes: list[str],
    step: Callable[[], dict[str, Any]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Run one section; an unexpected failure becomes an ``error`` entry, not a crash."""
    try:
        return step()
    except Exception as exc:
        log(f"{what} failed: {type(exc).__name__}: {exc}")
        notes.append(f"{what}: could not run ({type(exc).__name__})")
        return {"error": f"{type(exc).__name__}: {str(exc)[-1500:]}"}
