"""The headrace exception tree.

Every error headrace raises on purpose derives from :class:`HeadraceError` and carries a
one-line, user-facing message plus structured context (file, line, SQL, ...)::

    HeadraceError                 exit code 1 unless stated
    ├── UsageError                exit 2: the command line or a URL is wrong
    │   └── ConfigError           exit 2: headrace.yml is wrong (file and line attached)
    ├── TransformError            a Python transform raised or broke its contract
    │                             (headrace.transform.python; not retried)
    └── EngineError               something went wrong talking to a database
        ├── TransientError        worth retrying: connection lost, deadlock, lock timeout, ...
        └── TerminalError         retrying will not help: syntax, missing table, constraint, ...
            ├── ConnectError      cannot open the connection at all (host, password, path)
            └── QueryTimeoutError the statement ran past its timeout and was cancelled

Front ends (CLI, MCP, web) print ``str(error)`` and never a traceback unless asked.
"""

from __future__ import annotations

from typing import Any


class HeadraceError(Exception):
    """Base class: a one-line message for humans plus structured context for machines."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(HeadraceError):
    """The user asked for something that cannot work as written (bad URL, bad option)."""

    exit_code = 2


class ConfigError(UsageError):
    """headrace.yml (or another config file) is malformed; always names file and line."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}", hint=hint, file=file, line=line)
        self.file = file
        self.line = line


class EngineError(HeadraceError):
    """A database operation failed; ``sql`` (when known) is kept in the context."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        engine: str | None = None,
        sql: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, engine=engine, sql=sql, sqlstate=sqlstate)
        self.engine = engine
        self.sql = sql
        self.sqlstate = sqlstate


class TransientError(EngineError):
    """Retrying the same work later may succeed."""


class TerminalError(EngineError):
    """Retrying the same work will fail the same way; fail fast."""


class ConnectError(TerminalError):
    """The connection could not be opened (unreachable host, bad password, missing path)."""


class QueryTimeoutError(TerminalError):
    """The statement exceeded its timeout and was cancelled by the engine."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (drivers add multi-line context we do not show)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def out_of_memory(exc: BaseException) -> bool:
    """Whether an engine error says it ran out of memory (DuckDB under a memory limit)."""
    return "out of memory" in str(exc).lower()


__all__ = [
    "ConfigError",
    "ConnectError",
    "EngineError",
    "HeadraceError",
    "QueryTimeoutError",
    "TerminalError",
    "TransientError",
    "UsageError",
    "first_line",
    "out_of_memory",
]
