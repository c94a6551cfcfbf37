"""``headrace demo``: generate a small e-commerce project and load it into DuckDB."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from headrace.demo.generate import GeneratedData, generate_data
from headrace.demo.load import DemoLoadError, TableLoad, load_data
from headrace.demo.planted import PLANTED_BAD_ROWS, BadRow
from headrace.demo.scaffold import write_project_files
from headrace.demo.tables import QUARANTINE_TABLE, WAREHOUSE_FILE
from headrace.engines.registry import create_engine


@dataclass(frozen=True)
class DemoResult:
    """What ``headrace demo`` built: where, the warehouse URL, and per-table load counts."""

    directory: Path
    warehouse_url: str
    tables: list[TableLoad]
    seconds: float

    @property
    def rows_read(self) -> int:
        """Rows read over all tables."""
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(t.rows_quarantined for t in self.tables)


def run_demo(directory: Path, *, seed: int = 7) -> DemoResult:
    """Generate the demo files in ``directory`` (data overwritten) and load the warehouse."""
    started = time.perf_counter()
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    generate_data(directory, seed=seed)
    write_project_files(directory)
    warehouse_url = "duckdb:///" + str(directory / WAREHOUSE_FILE)
    with create_engine(warehouse_url) as engine:
        tables = load_data(engine, directory)
    return DemoResult(
        directory=directory,
        warehouse_url=warehouse_url,
        tables=tables,
        seconds=time.perf_counter() - started,
    )


__all__ = [
    "PLANTED_BAD_ROWS",
    "QUARANTINE_TABLE",
    "BadRow",
    "DemoLoadError",
    "DemoResult",
    "GeneratedData",
    "TableLoad",
    "generate_data",
    "load_data",
    "run_demo",
    "write_project_files",
]
