"""What ``headrace demo`` reports: per-table load counts, the project they went into, and
the data-quality checks run on the loaded tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headrace.quality.run import CheckRun
    from headrace.transform.materialize import ModelBuild


@dataclass(frozen=True)
class TableLoad:
    """The outcome of one demo pipeline: one file into one table, under one run id."""

    table: str
    source: Path
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    seconds: float
    run_id: str


@dataclass(frozen=True)
class DemoResult:
    """What ``headrace demo`` built: where, the warehouse URL, per-table load counts, and
    the run of ``checks/demo.yml`` on the loaded tables."""

    directory: Path
    warehouse_url: str
    tables: list[TableLoad]
    checks: CheckRun
    seconds: float
    models: list[ModelBuild] = field(default_factory=list)
    # (MODEL.COLUMN, text tree of its lineage)
    lineage: tuple[str, list[str]] = ("", [])

    @property
    def rows_read(self) -> int:
        """Rows read over all tables."""
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(t.rows_quarantined for t in self.tables)
