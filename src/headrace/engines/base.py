"""The engine adapter contract: one class per database, capability flags, error mapping.

All SQL and bulk I/O in headrace goes through an :class:`EngineAdapter`. Adapters import
their driver lazily so ``headrace --help`` stays fast.

Parameters are positional and bound by the driver. Write placeholders the engine's way
(``?`` for DuckDB, ``%s`` for PostgreSQL) or build the statement with sqlglot and
``exp.Placeholder()``, which renders the right one per dialect.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from headrace.engines.sql import quote_table, split_table
from headrace.engines.url import EngineURL
from headrace.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

Params = Sequence[Any] | None

# Default rows per Arrow batch when streaming results: large enough to amortise per-batch
# overhead, small enough that a batch of wide rows stays in the tens of megabytes.
DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the engine reports it."""

    name: str
    data_type: str
    nullable: bool
    ordinal: int


@dataclass(frozen=True)
class IndexInfo:
    """One index (primary key and unique constraints included, flagged as such)."""

    name: str
    schema: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool
    definition: str
    size_bytes: int | None = None


@dataclass(frozen=True)
class TableInfo:
    """A table or view with the engine's cheap statistics (estimates, not counts)."""

    schema: str
    name: str
    kind: str  # "table" | "view"
    row_estimate: int | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class CappedResult:
    """At most ``max_rows`` rows of a query, with column names and engine type names;
    ``more`` says the query had more rows (they were never fetched)."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    more: bool


@dataclass(frozen=True)
class PingResult:
    """What ``headrace ping`` reports."""

    engine: str
    version: str
    connect_ms: float
    round_trip_ms: float
    details: dict[str, Any] = field(default_factory=dict)


class EngineAdapter(ABC):
    """Base class of every engine adapter.

    Subclasses set ``name``, ``dialect`` and the capability flags, and implement the
    abstract methods. A connection opens lazily on first use and is closed by ``close()``
    or by leaving a ``with`` block.
    """

    name: ClassVar[str]
    dialect: ClassVar[str]
    default_schema: ClassVar[str]

    SUPPORTS_TRANSACTIONS: ClassVar[bool] = True
    SUPPORTS_TRANSACTIONAL_DDL: ClassVar[bool] = True
    SUPPORTS_INDEXES: ClassVar[bool] = False
    SUPPORTS_HYPOTHETICAL_INDEXES: ClassVar[bool] = False
    SUPPORTS_CONCURRENT_INDEX_BUILD: ClassVar[bool] = False
    SUPPORTS_NATIVE_FILE_READERS: ClassVar[bool] = False
    SUPPORTS_COPY: ClassVar[bool] = False
    SUPPORTS_READ_ONLY: ClassVar[bool] = True
    SUPPORTS_STATEMENT_TIMEOUT: ClassVar[bool] = True
    SUPPORTS_ADVISORY_LOCKS: ClassVar[bool] = False
    CASE_INSENSITIVE_NAMES: ClassVar[bool] = False

    def __init__(
        self,
        url: EngineURL,
        *,
        read_only: bool = False,
        statement_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.statement_timeout = statement_timeout
        self._tx_depth = 0

    # -- lifecycle -----------------------------------------------------------------------

    @abstractmethod
    def connect(self) -> None:
        """Open the connection now (otherwise it opens on first use)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection; safe to call twice."""

    @abstractmethod
    def cancel(self) -> None:
        """Ask the engine to cancel the statement running on this connection (thread-safe)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements ----------------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return the affected row count (-1 when the engine has none)."""

    @abstractmethod
    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples (for small results)."""

    @abstractmethod
    def fetch_arrow(self, sql: str, params: Params = None) -> pa.Table:
        """Run a query and return the whole result as an Arrow table."""

    @abstractmethod
    def stream_arrow(
        self, sql: str, params: Params = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Run a query and yield its result in record batches of at most ``batch_rows`` rows.

        Memory is bounded by the batch size, not by the result size.
        """

    def fetch_capped(self, sql: str, params: Params = None, *, max_rows: int) -> CappedResult:
        """Run ONE query in an isolated transaction that is always rolled back, fetching at
        most ``max_rows`` rows (the rest is never materialised). The read path of the MCP
        server and the dashboard; engines that cannot isolate it do not offer it."""
        raise NotImplementedError(f"{self.name} has no capped query path")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: commit on success, roll back on any exception.

        No savepoints: a nested ``transaction()`` joins the outer one, so an error anywhere
        rolls back the whole outer block.
        """
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield
            finally:
                self._tx_depth -= 1
            return
        # Open (or re-open a dropped) connection before counting the transaction as open:
        # a lost connection is replaced only while no transaction is open on it.
        self.connect()
        self._tx_depth = 1
        try:
            with self._outer_transaction():
                yield
        finally:
            self._tx_depth = 0

    @abstractmethod
    def _outer_transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT / ROLLBACK in the engine (called for the outermost block)."""

    @property
    def in_transaction(self) -> bool:
        """True inside a ``transaction()`` block."""
        return self._tx_depth > 0

    @abstractmethod
    def bulk_load(
        self,
        table: str | exp.Table,
        batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader | pa.Table,
        *,
        create: bool = False,
    ) -> int:
        """Append Arrow data to ``table`` at the engine's bulk speed; return rows written.

        With ``create=True`` the table is created from the first batch's schema if missing.
        Runs inside the caller's transaction when there is one.
        """

    # -- introspection -------------------------------------------------------------------

    @abstractmethod
    def server_version(self) -> str:
        """The engine's version string."""

    @abstractmethod
    def list_schemas(self) -> list[str]:
        """User-visible schemas (system schemas excluded)."""

    @abstractmethod
    def list_tables(self, schema: str | None = None, *, sizes: bool = True) -> list[TableInfo]:
        """Tables and views, optionally of one schema, with row and size estimates.

        ``sizes=False`` skips the size in bytes, which can cost a metadata walk per table.
        """

    @abstractmethod
    def columns(self, table: str | exp.Table) -> list[ColumnInfo]:
        """Columns in ordinal order; an empty list when the table does not exist."""

    @abstractmethod
    def indexes(self, table: str | exp.Table) -> list[IndexInfo]:
        """Indexes of the table (constraint-backed ones included)."""

    @abstractmethod
    def primary_key(self, table: str | exp.Table) -> list[str]:
        """Primary key columns in key order; empty when there is none."""

    @abstractmethod
    def explain(self, sql: str, params: Params = None, *, analyze: bool = False) -> Any:
        """The engine's plan for ``sql`` as parsed JSON (``analyze`` runs the query)."""

    @abstractmethod
    def classify_error(self, exc: BaseException, sql: str | None = None) -> EngineError:
        """Map a driver exception to :class:`TransientError` or :class:`TerminalError`."""

    # -- helpers built on the primitives -------------------------------------------------

    def quote_table(self, table: str | exp.Table) -> str:
        """Fully quoted table name in this engine's dialect."""
        return quote_table(table, self.dialect)

    def split_table(self, table: str | exp.Table) -> tuple[str, str]:
        """``(schema, table)`` with this engine's default schema filled in."""
        return split_table(table, self.dialect, self.default_schema)

    def table_exists(self, table: str | exp.Table) -> bool:
        """True when a table or view of that name exists."""
        return bool(self.columns(table))

    def table_info(self, table: str | exp.Table, *, sizes: bool = False) -> TableInfo | None:
        """One table's kind and row estimate (its size too with ``sizes``: DuckDB reads
        storage info per table for it), or None when it does not exist."""
        schema, name = self.split_table(table)
        found = self.list_tables(schema, sizes=sizes)
        if self.CASE_INSENSITIVE_NAMES:
            name = name.casefold()
            return next((t for t in found if t.name.casefold() == name), None)
        return next((t for t in found if t.name == name), None)

    def ping(self) -> PingResult:
        """Connect, then time a trivial round trip (median of five)."""
        started = time.perf_counter()
        self.connect()
        connect_ms = (time.perf_counter() - started) * 1000
        version = self.server_version()
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            self.fetchall("SELECT 1")
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        return PingResult(
            engine=self.name,
            version=version,
            connect_ms=round(connect_ms, 3),
            round_trip_ms=round(samples[len(samples) // 2], 3),
            details={"read_only": self.read_only},
        )
