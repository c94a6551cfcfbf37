"""DuckDB adapter: the embedded default warehouse.

Transactions: one connection, one transaction at a time. ``transaction()`` issues
``BEGIN``/``COMMIT``/``ROLLBACK``; a nested ``transaction()`` joins the outer one (no
savepoints), so an error anywhere rolls back the whole outer block. DDL is transactional.

Read-only sessions open the file with ``read_only=True``, disable external access (no
file, network or ATTACH) and lock the configuration so SQL cannot switch either back.

Statement timeout: DuckDB has no server-side timeout, so a timer calls
``connection.interrupt()`` and the interrupted statement raises :class:`QueryTimeoutError`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from headrace.engines.arrow import as_reader
from headrace.engines.base import (
    DEFAULT_BATCH_ROWS,
    CappedResult,
    ColumnInfo,
    EngineAdapter,
    IndexInfo,
    Params,
    TableInfo,
)
from headrace.engines.sql import quote_ident
from headrace.engines.url import EngineURL
from headrace.errors import (
    ConnectError,
    EngineError,
    QueryTimeoutError,
    TerminalError,
    TransientError,
    UsageError,
    first_line,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from sqlglot import exp

MEMORY = ":memory:"

# Catalog filter for one table; lower() because DuckDB matches names regardless of case.
_OF_TABLE = (
    " WHERE database_name = current_database()"
    " AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)"
)


class DuckDBAdapter(EngineAdapter):
    """Adapter for ``duckdb:///path.duckdb`` and ``duckdb:///:memory:``."""

    name = "duckdb"
    dialect = "duckdb"
    default_schema = "main"

    SUPPORTS_INDEXES = True  # ART indexes: used for point lookups and constraints
    SUPPORTS_NATIVE_FILE_READERS = True
    SUPPORTS_STATEMENT_TIMEOUT = True
    CASE_INSENSITIVE_NAMES = True  # even quoted identifiers match regardless of case

    # Driver exception class names that are worth a retry.
    _TRANSIENT: ClassVar[tuple[str, ...]] = ("TransactionException", "ConnectionException")

    def __init__(
        self,
        url: EngineURL,
        *,
        read_only: bool = False,
        statement_timeout: float | None = None,
    ) -> None:
        super().__init__(url, read_only=read_only, statement_timeout=statement_timeout)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._timed_out = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def is_memory(self) -> bool:
        """True for an in-memory database."""
        return self.url.path in ("", MEMORY)

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        """The live driver connection (opened on first use)."""
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn

    def connect(self) -> None:
        """Open the database file (or memory); clear errors for missing paths and locks."""
        if self._conn is not None:
            return
        import duckdb

        path = MEMORY if self.is_memory else self.url.path
        config: dict[str, Any] = {}
        if self.read_only:
            if self.is_memory:
                raise UsageError(
                    "DuckDB cannot open an in-memory database read-only",
                    hint="point the URL at a database file, e.g. duckdb:///warehouse.duckdb",
                )
            if not Path(path).exists():
                raise ConnectError(
                    f"DuckDB database file {path} does not exist",
                    hint="read-only sessions never create files; check the path or load data first",
                    engine=self.name,
                )
            config = {"enable_external_access": False, "lock_configuration": True}
        elif not self.is_memory:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConnectError(
                    f"directory {parent} for DuckDB database {path} does not exist",
                    hint=f"create it (mkdir -p {parent}) or fix the URL",
                    engine=self.name,
                )
        try:
            conn = duckdb.connect(path, read_only=self.read_only, config=config)
            # Timestamps must not depend on the machine's zone (PostgreSQL sessions use UTC
            # too); SET, because the setting is refused at connect before ICU is loaded.
            if not self.read_only:
                conn.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            raise self._connect_error(exc, path) from exc
        self._conn = conn

    def _connect_error(self, exc: BaseException, path: str) -> EngineError:
        text = first_line(exc)
        if "lock" in text.lower():
            return TransientError(
                f"DuckDB database {path} is locked by another process: {text}",
                hint="wait for the other writer to finish, or open it read-only",
                engine=self.name,
            )
        return ConnectError(f"cannot open DuckDB database {path}: {text}", engine=self.name)

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by DuckDB."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._tx_depth = 0

    def cancel(self) -> None:
        """Interrupt the running statement (safe from another thread)."""
        if self._conn is not None:
            self._conn.interrupt()

    # -- statements ----------------------------------------------------------------------

    @contextmanager
    def _guard(self, sql: str | None) -> Iterator[None]:
        """Apply the statement timeout and translate driver errors."""
        import duckdb

        timer: threading.Timer | None = None
        self._timed_out.clear()
        if self.statement_timeout:
            timer = threading.Timer(self.statement_timeout, self._on_timeout)
            timer.daemon = True
            timer.start()
        try:
            yield
        except duckdb.Error as exc:
            raise self.classify_error(exc, sql) from exc
        finally:
            if timer is not None:
                timer.cancel()

    def _on_timeout(self) -> None:
        self._timed_out.set()
        self.cancel()

    def fetch_capped(self, sql: str, params: Params = None, *, max_rows: int) -> CappedResult:
        """One statement (DuckDB's own parser counts them), at most ``max_rows + 1`` rows
        fetched, interrupted at the statement timeout; on a writable database inside a
        transaction that is rolled back. Callers lend an adapter to one thread at a time
        (the MCP server's session pool)."""
        import duckdb

        from headrace.engines.watchdog import WATCHDOG

        conn = self.conn
        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            conn.interrupt()

        token = WATCHDOG.arm(self.statement_timeout, interrupt) if self.statement_timeout else None
        isolate = not self.read_only and not self.in_transaction
        try:
            if len(conn.extract_statements(sql)) != 1:
                raise TerminalError("exactly one SQL statement per query", engine=self.name)
            if isolate:
                conn.execute("BEGIN TRANSACTION")
            result = conn.execute(sql, params)
            rows = result.fetchmany(max_rows + 1)
            description = result.description or []
            return CappedResult(
                [d[0] for d in description],
                [str(d[1]) for d in description],
                rows[:max_rows],
                len(rows) > max_rows,
            )
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise QueryTimeoutError(
                    f"statement cancelled after the {self.statement_timeout:g}s timeout",
                    engine=self.name,
                    sql=sql,
                ) from exc
            raise self.classify_error(exc, sql) from exc
        finally:
            if token is not None:
                WATCHDOG.disarm(token)
            if isolate:
                with contextlib.suppress(duckdb.Error):
                    conn.execute("ROLLBACK")

    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; DML returns its row count."""
        with self._guard(sql):
            cursor = self.conn.execute(sql, params)
            desc = cursor.description
            if desc and len(desc) == 1 and desc[0][0] == "Count":
                row = cursor.fetchone()
                return int(row[0]) if row else -1
            return -1

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Rows as tuples."""
        with self._guard(sql):
            return self.conn.execute(sql, params).fetchall()

    def fetch_arrow(self, sql: str, params: Params = None) -> pa.Table:
        """Whole result as Arrow (DuckDB produces Arrow natively, no row conversion)."""
        with self._guard(sql):
            return self.conn.sql(sql, params=params).to_arrow_table()

    def stream_arrow(
        self, sql: str, params: Params = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Yield batches from DuckDB's streaming result."""
        with self._guard(sql):
            reader = self.conn.sql(sql, params=params).to_arrow_reader(batch_rows)
        while True:
            with self._guard(sql):
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
            yield batch

    @contextmanager
    def _outer_transaction(self) -> Iterator[None]:
        """BEGIN, then COMMIT, or ROLLBACK on any exception."""
        with self._guard("BEGIN TRANSACTION"):
            self.conn.begin()
        try:
            yield
        except BaseException:
            if self._conn is not None:
                with self._guard("ROLLBACK"):
                    self._conn.rollback()
            raise
        with self._guard("COMMIT"):
            self.conn.commit()

    def bulk_load(
        self,
        table: str | exp.Table,
        batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader | pa.Table,
        *,
        create: bool = False,
    ) -> int:
        """Insert an Arrow stream by column name; DuckDB scans it zero-copy."""
        reader = as_reader(batches)
        if reader is None:
            return 0
        target = self.quote_table(table)
        view = f"_headrace_arrow_{id(reader):x}"
        self.conn.register(view, reader)
        try:
            source = quote_ident(view, self.dialect)
            if create:
                schema, _ = self.split_table(table)
                self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema, self.dialect)}")
                self.execute(f"CREATE TABLE IF NOT EXISTS {target} AS FROM {source} LIMIT 0")
            inserted = self.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source}")
        except BaseException:
            # After a failed statement the transaction is aborted and unregister() fails
            # too; its error would hide the real one (say, the stream's own exception).
            with contextlib.suppress(Exception):
                self.conn.unregister(view)
            raise
        self.conn.unregister(view)
        return inserted

    # -- introspection -------------------------------------------------------------------

    def server_version(self) -> str:
        """DuckDB library version."""
        row = self.fetchall("SELECT version()")
        return str(row[0][0])

    def list_schemas(self) -> list[str]:
        """Schemas of the current database."""
        rows = self.fetchall(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
            " AND schema_name NOT IN ('information_schema', 'pg_catalog') ORDER BY 1"
        )
        return [r[0] for r in rows]

    def list_tables(self, schema: str | None = None, *, sizes: bool = True) -> list[TableInfo]:
        """Tables (with row estimates and persisted size) and views."""
        rows = self.fetchall(
            """
            SELECT schema_name, table_name, 'table', estimated_size FROM duckdb_tables()
              WHERE database_name = current_database() AND NOT internal
                AND (? IS NULL OR lower(schema_name) = lower(?))
            UNION ALL
            SELECT schema_name, view_name, 'view', NULL FROM duckdb_views()
              WHERE database_name = current_database() AND NOT internal
                AND (? IS NULL OR lower(schema_name) = lower(?))
            ORDER BY 1, 2
            """,
            [schema, schema, schema, schema],
        )
        return [
            TableInfo(
                schema=s,
                name=n,
                kind=k,
                row_estimate=int(est) if est is not None else None,
                size_bytes=self._table_bytes(s, n) if k == "table" and sizes else None,
            )
            for s, n, k, est in rows
        ]

    def _table_bytes(self, schema: str, table: str) -> int | None:
        # Persisted blocks times block size; rows not yet checkpointed live in the WAL and
        # are not counted, so report None rather than a misleading zero.
        qualified = f"{quote_ident(schema, self.dialect)}.{quote_ident(table, self.dialect)}"
        blocks = self.fetchall(
            "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE block_id >= 0",
            [qualified],
        )[0][0]
        if not blocks:
            return None
        block_size = self.fetchall(
            "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
        )
        return int(blocks) * int(block_size[0][0]) if block_size else None

    def columns(self, table: str | exp.Table) -> list[ColumnInfo]:
        """Columns of a table or view."""
        schema, name = self.split_table(table)
        rows = self.fetchall(
            "SELECT column_name, data_type, is_nullable, column_index FROM duckdb_columns()"
            + _OF_TABLE
            + " ORDER BY column_index",
            [schema, name],
        )
        return [ColumnInfo(n, t, bool(nullable), int(i)) for n, t, nullable, i in rows]

    def primary_key(self, table: str | exp.Table) -> list[str]:
        """Primary key columns from duckdb_constraints()."""
        schema, name = self.split_table(table)
        rows = self.fetchall(
            "SELECT constraint_column_names FROM duckdb_constraints()"
            + _OF_TABLE
            + " AND constraint_type = 'PRIMARY KEY'",
            [schema, name],
        )
        return list(rows[0][0]) if rows else []

    def indexes(self, table: str | exp.Table) -> list[IndexInfo]:
        """Explicit indexes plus the ART indexes behind PRIMARY KEY / UNIQUE constraints."""
        schema, name = self.split_table(table)
        found: list[IndexInfo] = []
        for cname, ctype, cols in self.fetchall(
            "SELECT constraint_name, constraint_type, constraint_column_names"
            " FROM duckdb_constraints()"
            + _OF_TABLE
            + " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
            [schema, name],
        ):
            found.append(
                IndexInfo(
                    name=cname,
                    schema=schema,
                    table=name,
                    columns=tuple(cols),
                    unique=True,
                    primary=ctype == "PRIMARY KEY",
                    definition=f"{ctype} ({', '.join(cols)})",
                )
            )
        for iname, unique, primary, expressions, sql in self.fetchall(
            "SELECT index_name, is_unique, is_primary, expressions, sql FROM duckdb_indexes()"
            + _OF_TABLE
            + " ORDER BY index_name",
            [schema, name],
        ):
            found.append(
                IndexInfo(
                    name=iname,
                    schema=schema,
                    table=name,
                    columns=_index_columns(expressions),
                    unique=bool(unique),
                    primary=bool(primary),
                    definition=sql or "",
                )
            )
        return found

    def explain(self, sql: str, params: Params = None, *, analyze: bool = False) -> Any:
        """``EXPLAIN (FORMAT JSON)`` parsed; with ``analyze`` the profiled run."""
        options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
        rows = self.fetchall(f"EXPLAIN ({options}) {sql}", params)
        return json.loads(rows[0][1])

    # -- errors --------------------------------------------------------------------------

    def classify_error(self, exc: BaseException, sql: str | None = None) -> EngineError:
        """Transaction conflicts and lost connections retry; everything else is terminal."""
        if isinstance(exc, EngineError):
            return exc
        kind = type(exc).__name__
        text = first_line(exc)
        if kind == "InterruptException":
            if self._timed_out.is_set():
                return QueryTimeoutError(
                    f"statement cancelled after the {self.statement_timeout:g}s timeout",
                    engine=self.name,
                    sql=sql,
                )
            return TerminalError(f"statement interrupted: {text}", engine=self.name, sql=sql)
        if "current transaction is aborted" in text.lower():
            # A consequence of an earlier error, not a conflict: retrying cannot help.
            return TerminalError(text, engine=self.name, sql=sql)
        if kind in self._TRANSIENT or "could not set lock" in text.lower():
            return TransientError(text, engine=self.name, sql=sql)
        if self.read_only and "read-only" in text.lower() or kind == "PermissionException":
            return TerminalError(text, hint="this session is read-only", engine=self.name, sql=sql)
        return TerminalError(text, engine=self.name, sql=sql)


def _index_columns(expressions: Any) -> tuple[str, ...]:
    # duckdb_indexes().expressions is a string like "[a, b]" (or a list on some versions).
    if isinstance(expressions, list):
        return tuple(str(e).strip('"') for e in expressions)
    text = str(expressions or "").strip("[]")
    return tuple(part.strip().strip('"') for part in text.split(",") if part.strip())
