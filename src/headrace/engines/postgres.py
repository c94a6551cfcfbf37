"""PostgreSQL adapter (psycopg 3): the production warehouse.

Transactions: the connection runs in autocommit mode, so each statement outside
``transaction()`` commits on its own. ``transaction()`` issues ``BEGIN`` (``BEGIN READ
ONLY`` for read-only sessions) and ``COMMIT``/``ROLLBACK``; a nested ``transaction()``
joins the outer one (no savepoints), so an error anywhere rolls back the whole outer
block. DDL is transactional.

Sessions run with ``TimeZone=UTC``, ``application_name=headrace``, and when asked
``default_transaction_read_only=on`` and ``statement_timeout`` set at connection start,
so they hold for every statement, not only for ones headrace wraps.

Bulk load streams Arrow batches as CSV through ``COPY ... FROM STDIN``; results stream
out through a server-side cursor, ``batch_rows`` at a time.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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
from headrace.engines.types import arrow_to_postgres, postgres_oid_to_arrow
from headrace.engines.url import EngineURL, redact
from headrace.errors import (
    ConnectError,
    EngineError,
    QueryTimeoutError,
    TerminalError,
    TransientError,
    first_line,
)

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from sqlglot import exp

# SQLSTATEs worth a retry: the work itself is fine, the moment was not.
TRANSIENT_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "55P03": "lock not available",
    "53300": "too many connections",
    "57P01": "admin shutdown",
    "57P02": "crash shutdown",
    "57P03": "cannot connect now",
    "08000": "connection exception",
    "08003": "connection does not exist",
    "08006": "connection failure",
    "08001": "cannot establish connection",
    "08004": "connection rejected",
}

# Driver messages that mean the connection dropped (no SQLSTATE arrives with these).
_LOST_CONNECTION_HINTS = (
    "server closed the connection",
    "consuming input failed",
    "the connection is closed",
    "connection is lost",
    "terminating connection",
    "ssl syscall error",
)

# Server types psycopg would turn into Python objects we do not want in Arrow: keep text.
_TEXT_TYPES = ("json", "jsonb", "uuid", "interval", "inet", "cidr", "macaddr", "money")

DEFAULT_CONNECT_TIMEOUT_S = 10


class PostgresAdapter(EngineAdapter):
    """Adapter for ``postgresql://user:password@host:port/database?sslmode=...``."""

    name = "postgres"
    dialect = "postgres"
    default_schema = "public"

    SUPPORTS_INDEXES = True
    SUPPORTS_CONCURRENT_INDEX_BUILD = True
    SUPPORTS_COPY = True
    SUPPORTS_ADVISORY_LOCKS = True

    def __init__(
        self,
        url: EngineURL,
        *,
        read_only: bool = False,
        statement_timeout: float | None = None,
    ) -> None:
        super().__init__(url, read_only=read_only, statement_timeout=statement_timeout)
        self._conn: psycopg.Connection[Any] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The live connection; a dropped one is replaced when no transaction is open."""
        if self._conn is not None and self._conn.closed:
            if self._tx_depth:
                raise TransientError(
                    "connection to PostgreSQL lost inside a transaction; it was rolled back",
                    engine=self.name,
                )
            self._conn = None
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn

    def _conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        options = ["-c TimeZone=UTC"]
        if self.read_only:
            options.append("-c default_transaction_read_only=on")
        if self.statement_timeout:
            options.append(f"-c statement_timeout={int(self.statement_timeout * 1000)}")
        params: dict[str, Any] = {
            "host": self.url.host,
            "port": self.url.port,
            "user": self.url.user,
            "password": self.url.password,
            "dbname": self.url.database,
            "application_name": "headrace",
            "connect_timeout": DEFAULT_CONNECT_TIMEOUT_S,
        }
        params.update(self.url.query)
        if "options" in params:
            options.append(str(params.pop("options")))
        params["options"] = " ".join(options)
        return make_conninfo("", **{k: v for k, v in params.items() if v is not None})

    def connect(self) -> None:
        """Open the connection (autocommit, UTC, read-only and timeout as configured)."""
        if self._conn is not None and not self._conn.closed:
            return
        import psycopg
        from psycopg.types.string import TextLoader

        try:
            conn = psycopg.connect(self._conninfo(), autocommit=True)
        except psycopg.Error as exc:
            raise self._connect_error(exc) from None
        for type_name in _TEXT_TYPES:
            conn.adapters.register_loader(type_name, TextLoader)
        conn.read_only = self.read_only or None
        self._conn = conn

    def _connect_error(self, exc: BaseException) -> EngineError:
        text = redact(first_line(exc))
        lowered = text.lower()
        where = f"{self.url.host or 'localhost'}:{self.url.port or 5432}"
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in ("53300", "57P03") or "too many" in lowered or "starting up" in lowered:
            return TransientError(f"PostgreSQL at {where} refused: {text}", engine=self.name)
        if "password authentication failed" in lowered or "no password supplied" in lowered:
            hint = "check the user and password in the URL (or PGPASSWORD)"
        elif "does not exist" in lowered and "database" in lowered:
            hint = f"create the database (createdb {self.url.database}) or fix the URL"
        elif "role" in lowered and "does not exist" in lowered:
            hint = "check the user name in the URL"
        else:
            hint = f"is PostgreSQL running and reachable at {where}?"
        return ConnectError(
            f"cannot connect to PostgreSQL at {where}: {_strip_prefix(text)}",
            hint=hint,
            engine=self.name,
            sqlstate=sqlstate,
        )

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by the server."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._tx_depth = 0

    def cancel(self) -> None:
        """Send a cancel request for the running statement (safe from another thread)."""
        if self._conn is not None and not self._conn.closed:
            self._conn.cancel_safe()

    @property
    def backend_pid(self) -> int:
        """Server process id of this session (for cancelling or terminating it)."""
        return int(self.conn.info.backend_pid)

    # -- statements ----------------------------------------------------------------------

    @contextmanager
    def _guard(self, sql: str | None) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise self.classify_error(exc, sql) from exc

    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return its row count (-1 when there is none)."""
        with self._guard(sql), self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Rows as tuples."""
        with self._guard(sql), self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def fetch_arrow(self, sql: str, params: Params = None) -> pa.Table:
        """Whole result as an Arrow table (built from the streamed batches)."""
        import pyarrow as pa

        with self._guard(sql), self.conn.cursor() as cur:
            cur.execute(sql, params)
            schema = _result_schema(cur)
            rows = cur.fetchall() if cur.description else []
        return pa.Table.from_batches([_rows_to_batch(rows, schema)], schema=schema)

    def stream_arrow(
        self, sql: str, params: Params = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Server-side cursor: only ``batch_rows`` rows are in memory at a time."""
        # Named cursors live inside a transaction; join the caller's or open one.
        with self.transaction():
            cursor = self.conn.cursor(name=f"headrace_{uuid.uuid4().hex[:12]}")
            try:
                with self._guard(sql):
                    cursor.itersize = batch_rows
                    cursor.execute(sql, params)
                    schema = _result_schema(cursor)
                while True:
                    with self._guard(sql):
                        rows = cursor.fetchmany(batch_rows)
                    if not rows:
                        break
                    yield _rows_to_batch(rows, schema)
            finally:
                if not self.conn.closed:
                    with self._guard(None):
                        cursor.close()

    def fetch_capped(self, sql: str, params: Params = None, *, max_rows: int) -> CappedResult:
        """One statement through the extended protocol (a second statement smuggled after
        a ``;`` is a protocol error, never run), inside ``BEGIN [READ ONLY]`` … ``ROLLBACK``,
        rows streamed and the stream abandoned after ``max_rows + 1``."""
        with self._guard(sql), self.conn.transaction(force_rollback=True):
            cur = self.conn.cursor()
            rows: list[tuple[Any, ...]] = []
            # stream() always uses the extended query protocol: one statement per message.
            for row in cur.stream(sql, params, size=min(max_rows + 1, 1000)):
                rows.append(row)
                if len(rows) > max_rows:
                    break
            description = cur.description or []
            types = [self._type_name(d.type_code) for d in description]
            return CappedResult(
                [d.name for d in description], types, rows[:max_rows], len(rows) > max_rows
            )

    def _type_name(self, oid: int) -> str:
        info = self.conn.adapters.types.get(oid)
        return info.name if info is not None else str(oid)

    @contextmanager
    def _outer_transaction(self) -> Iterator[None]:
        """BEGIN (READ ONLY in read-only sessions), then COMMIT or ROLLBACK."""
        conn = self.conn
        with self._guard("BEGIN"), conn.transaction():
            yield

    def bulk_load(
        self,
        table: str | exp.Table,
        batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader | pa.Table,
        *,
        create: bool = False,
    ) -> int:
        """Stream Arrow batches through ``COPY ... FROM STDIN (FORMAT csv)``."""
        import pyarrow.csv as pacsv

        reader = as_reader(batches)
        if reader is None:
            return 0
        target = self.quote_table(table)
        if create:
            self.create_table_from_arrow(table, reader.schema)
        columns = ", ".join(quote_ident(name, self.dialect) for name in reader.schema.names)
        copy_sql = f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)"
        # "needed" quoting writes NULL as an empty field and '' as "", which is exactly
        # how PostgreSQL's CSV format tells them apart.
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")

        def chunks() -> Iterator[bytes]:
            for batch in reader:
                buffer = io.BytesIO()
                pacsv.write_csv(_csv_ready(batch), buffer, options)
                yield buffer.getvalue()

        with self.transaction():
            return self.copy_from(copy_sql, chunks())

    def copy_from(self, copy_sql: str, chunks: Iterable[bytes]) -> int:
        """Run ``COPY ... FROM STDIN`` feeding it ``chunks`` as they come; rows copied.

        Runs inside the caller's transaction when there is one, else on its own.
        """
        with self._guard(copy_sql), self.conn.cursor() as cur:
            with cur.copy(copy_sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)
            return int(cur.rowcount)

    def create_table_from_arrow(self, table: str | exp.Table, schema: pa.Schema) -> None:
        """``CREATE TABLE IF NOT EXISTS`` with columns mapped from an Arrow schema."""
        schema_name, _ = self.split_table(table)
        columns = ", ".join(
            f"{quote_ident(field.name, self.dialect)} {arrow_to_postgres(field.type)}"
            for field in schema
        )
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema_name, self.dialect)}")
        self.execute(f"CREATE TABLE IF NOT EXISTS {self.quote_table(table)} ({columns})")

    # -- introspection -------------------------------------------------------------------

    def server_version(self) -> str:
        """For example ``PostgreSQL 15.18``."""
        return f"PostgreSQL {self.fetchall('SHOW server_version')[0][0]}"

    def list_schemas(self) -> list[str]:
        """Schemas except pg_* and information_schema."""
        rows = self.fetchall(
            "SELECT nspname FROM pg_namespace WHERE left(nspname, 3) <> 'pg_'"
            " AND nspname <> 'information_schema' ORDER BY 1"
        )
        return [r[0] for r in rows]

    def list_tables(self, schema: str | None = None, *, sizes: bool = True) -> list[TableInfo]:
        """Tables, partitioned tables, views and materialised views with estimates."""
        rows = self.fetchall(
            """
            SELECT n.nspname, c.relname,
                   CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END,
                   CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
                   CASE WHEN c.relkind IN ('r', 'p', 'm') AND %s
                        THEN pg_total_relation_size(c.oid) END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm')
              AND left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
              AND (%s::text IS NULL OR n.nspname = %s::text)
            ORDER BY 1, 2
            """,
            [sizes, schema, schema],
        )
        return [TableInfo(s, n, k, est, size) for s, n, k, est, size in rows]

    def _regclass(self, table: str | exp.Table) -> str:
        schema, name = self.split_table(table)
        return f"{quote_ident(schema, self.dialect)}.{quote_ident(name, self.dialect)}"

    def columns(self, table: str | exp.Table) -> list[ColumnInfo]:
        """Columns from pg_attribute with their declared types."""
        rows = self.fetchall(
            "SELECT attname, format_type(atttypid, atttypmod), NOT attnotnull, attnum"
            " FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum",
            [self._regclass(table)],
        )
        return [ColumnInfo(n, t, bool(nullable), int(i)) for n, t, nullable, i in rows]

    def primary_key(self, table: str | exp.Table) -> list[str]:
        """Primary key columns in key order."""
        rows = self.fetchall(
            "SELECT a.attname FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY k.ord",
            [self._regclass(table)],
        )
        return [r[0] for r in rows]

    def indexes(self, table: str | exp.Table) -> list[IndexInfo]:
        """Every index on the table with its definition, key columns and size."""
        schema, name = self.split_table(table)
        rows = self.fetchall(
            """
            SELECT ic.relname, i.indisunique, i.indisprimary,
                   pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid),
                   ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                         FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k)
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indrelid = to_regclass(%s)
            ORDER BY ic.relname
            """,
            [self._regclass(table)],
        )
        return [
            IndexInfo(
                name=iname,
                schema=schema,
                table=name,
                columns=tuple(cols),
                unique=bool(unique),
                primary=bool(primary),
                definition=definition,
                size_bytes=int(size),
            )
            for iname, unique, primary, definition, size, cols in rows
        ]

    def explain(self, sql: str, params: Params = None, *, analyze: bool = False) -> Any:
        """``EXPLAIN (FORMAT JSON)``; with ``analyze`` also BUFFERS and real timings."""
        options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
        raw = self.fetchall(f"EXPLAIN ({options}) {sql}", params)[0][0]
        return json.loads(raw) if isinstance(raw, str) else raw

    # -- errors --------------------------------------------------------------------------

    def classify_error(self, exc: BaseException, sql: str | None = None) -> EngineError:
        """Map by SQLSTATE; lost connections without one are transient too."""
        if isinstance(exc, EngineError):
            return exc
        sqlstate: str | None = getattr(exc, "sqlstate", None)
        text = redact(first_line(exc))
        if sqlstate == "57014":
            if "statement timeout" in text.lower():
                return QueryTimeoutError(
                    f"statement cancelled after the {self.statement_timeout or 0:g}s timeout",
                    engine=self.name,
                    sql=sql,
                    sqlstate=sqlstate,
                )
            return TerminalError(text, engine=self.name, sql=sql, sqlstate=sqlstate)
        if sqlstate in TRANSIENT_SQLSTATES or (sqlstate or "").startswith("08"):
            reason = TRANSIENT_SQLSTATES.get(sqlstate or "", "connection problem")
            return TransientError(f"{reason}: {text}", engine=self.name, sql=sql, sqlstate=sqlstate)
        lowered = text.lower()
        if sqlstate is None and any(h in lowered for h in _LOST_CONNECTION_HINTS):
            return TransientError(
                f"connection lost: {text}", engine=self.name, sql=sql, sqlstate=sqlstate
            )
        hint = None
        if sqlstate == "25006":
            hint = "this session is read-only"
        elif sqlstate == "42501":
            hint = "grant the privilege to this user or connect as another one"
        return TerminalError(text, hint=hint, engine=self.name, sql=sql, sqlstate=sqlstate)


def _strip_prefix(text: str) -> str:
    # libpq repeats 'connection to server at "h" (addr), port p failed: '; the host and
    # port are already in our message.
    marker = "failed: "
    return text.split(marker, 1)[1] if marker in text else text


def _result_schema(cursor: Any) -> pa.Schema:
    import pyarrow as pa

    fields = []
    for column in cursor.description or []:
        arrow_type = postgres_oid_to_arrow(column.type_code, column.precision, column.scale)
        fields.append(pa.field(column.name, arrow_type if arrow_type else pa.null()))
    return pa.schema(fields)


def _rows_to_batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    """Transpose driver rows into Arrow columns; null-typed fields are inferred."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    fields = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_null(field.type):
            array = pa.array(list(values))
            fields.append(pa.field(field.name, array.type))
        else:
            array = pa.array(list(values), type=field.type)
            fields.append(field)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Rewrite columns Arrow's CSV writer cannot express the way PostgreSQL reads them."""
    import pyarrow as pa
    import pyarrow.types as t

    arrays = []
    changed = False
    for column in batch.columns:
        kind = column.type
        if t.is_dictionary(kind):
            column = column.dictionary_decode()
            kind = column.type
        if t.is_binary(kind) or t.is_large_binary(kind) or t.is_fixed_size_binary(kind):
            column = pa.array(
                [None if v is None else "\\x" + v.hex() for v in column.to_pylist()], pa.string()
            )
            changed = True
        elif t.is_nested(kind):
            column = pa.array(
                [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()],
                pa.string(),
            )
            changed = True
        elif t.is_duration(kind):
            micros = column.cast(pa.duration("us")).cast(pa.int64()).to_pylist()
            column = pa.array(
                [None if v is None else f"{v} microseconds" for v in micros], pa.string()
            )
            changed = True
        arrays.append(column)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
