"""What a load is asked to do, and what it reports."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.quality.model import CheckDef
    from headrace.schema import Contract, TableSchema
    from headrace.transform.python import PythonTransform


class WriteMode(StrEnum):
    """How loaded rows meet the rows already in the table."""

    APPEND = "append"
    REPLACE = "replace"
    MERGE = "merge"


@dataclass(frozen=True)
class Incremental:
    """``files`` (skip files already loaded) or ``cursor:COL[:LOOKBACK]`` (a watermark)."""

    kind: str
    column: str | None = None
    lookback: str | None = None

    @classmethod
    def parse(cls, text: str) -> Incremental:
        """Parse the CLI/YAML spelling."""
        if text == "files":
            return cls("files")
        kind, _, rest = text.partition(":")
        if kind == "cursor" and rest:
            column, _, lookback = rest.partition(":")
            return cls("cursor", column, lookback or None)
        raise UsageError(
            f"bad incremental mode {text!r}",
            hint="use files, cursor:COLUMN or cursor:COLUMN:LOOKBACK (e.g. cursor:updated_at:1h)",
        )

    def __str__(self) -> str:
        if self.kind == "files":
            return "files"
        return f"cursor:{self.column}" + (f":{self.lookback}" if self.lookback else "")


@dataclass(frozen=True)
class SqlSource:
    """A table or query on another database, read as a stream of Arrow batches."""

    url: str
    table: str | None = None
    query: str | None = None

    def describe(self) -> str:
        """How the source shows up in run records and quarantine rows (no secrets)."""
        from headrace.engines.url import redact

        what = f"table {self.table}" if self.table else f"query {self.query!r}"
        return f"{redact(self.url)} {what}"


@dataclass
class LoadRequest:
    """One load: a source into one table."""

    source: str | SqlSource
    table: str
    format: str | None = None
    csv_options: dict[str, Any] = field(default_factory=dict)
    schema: TableSchema | None = None
    write: WriteMode = WriteMode.APPEND
    key: tuple[str, ...] = ()
    incremental: Incremental | None = None
    contract: Contract | None = None
    pipeline: str | None = None
    # Row-level quality checks applied while loading (failing rows are quarantined).
    row_checks: list[CheckDef] = field(default_factory=list)
    # Backfill: load only rows with lo <= cursor < hi, once per interval (ISO bounds).
    window: tuple[str, str] | None = None
    # Python functions applied, in order, to each Arrow batch between extract and load.
    transforms: tuple[PythonTransform, ...] = ()


@dataclass
class LoadResult:
    """The outcome reported by ``headrace load --json`` and stored in ``_headrace.runs``."""

    run_id: str
    status: str
    table: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_merged_away: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    columns_added: list[str] = field(default_factory=list)
    columns_discarded: list[str] = field(default_factory=list)
    error: str | None = None
    # How each source was read (format, columns, CSV dialect): quarantine replay rebuilds
    # a file of the quarantined records from it.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def rows_per_second(self) -> float:
        """Throughput over the whole load."""
        return round(self.rows_read / self.seconds, 1) if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields (plus a few extras)."""
        data = asdict(self)
        data.pop("sources")
        data["rows_per_second"] = self.rows_per_second
        data["seconds"] = round(self.seconds, 3)
        return data

    def check_invariant(self) -> None:
        """rows_read = rows_loaded + rows_quarantined + rows_merged_away, or a bug."""
        accounted = self.rows_loaded + self.rows_quarantined + self.rows_merged_away
        if accounted != self.rows_read:
            from headrace.errors import HeadraceError

            raise HeadraceError(
                f"load of {self.table} does not add up: read {self.rows_read}, loaded "
                f"{self.rows_loaded}, quarantined {self.rows_quarantined}, merged away "
                f"{self.rows_merged_away}; nothing was committed",
                hint="this is a bug in headrace; please report it with --debug output",
            )


def new_run_id() -> str:
    """Sortable by time, unique without coordination: ``20261126T041500Z-1a2b3c``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"
