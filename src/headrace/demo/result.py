"""What ``headrace demo`` reports: per-table load counts and the project they went into."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
