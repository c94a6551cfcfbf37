"""The advisor's vocabulary: workload queries, what the catalog says about tables, and
index candidates. Plain data, shared by workload capture, candidate generation, what-if
costing, selection and verification."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from headrace.engines.sql import quote_ident, quote_table


@dataclass(frozen=True)
class WorkloadQuery:
    """One query of a workload, runnable as is (parameters already filled in)."""

    sql: str
    position: str  # where it came from: "workload.sql:12", "pg_stat_statements #3", ...
    weight: float = 1.0  # relative importance: frequency (x mean time for captured stats)
    label: str = ""  # short name for reports (a leading "-- name:" comment, or the position)


@dataclass(frozen=True)
class Skipped:
    """A workload statement that was left out, and why (never fatal for the rest)."""

    position: str
    reason: str


@dataclass
class Workload:
    """The queries to advise for, plus what was skipped."""

    source: str  # file path, "pg_stat_statements" or "querylog"
    queries: list[WorkloadQuery] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class TableMeta:
    """What candidate generation needs to know about one table."""

    table: str  # "schema.table", lower case
    columns: tuple[str, ...]
    row_estimate: int = 0
    # Existing indexes as key-column tuples (primary key and unique ones included).
    indexes: tuple[tuple[str, ...], ...] = ()
    # Estimated distinct values per column (pg_stats.n_distinct resolved to a count);
    # absent when unknown.
    n_distinct: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexCandidate:
    """A possible index: key columns in order, INCLUDE columns, an optional predicate."""

    table: str  # "schema.table"
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    where: str | None = None  # partial index predicate, PostgreSQL SQL
    # Positions (indexes into Workload.queries) of the queries it was made for.
    queries: frozenset[int] = frozenset()

    @property
    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...], str | None]:
        """Identity, ignoring which queries asked for it."""
        return (self.table, self.columns, self.include, self.where)

    def name(self) -> str:
        """A deterministic index name under PostgreSQL's 63-byte limit."""
        table = self.table.split(".")[-1]
        digest = hashlib.sha256(repr(self.key).encode()).hexdigest()[:8]
        return f"hr_{table[:24]}_{'_'.join(self.columns)[:24]}_{digest}"

    def ddl(self, dialect: str = "postgres", *, concurrently: bool = False) -> str:
        """``CREATE INDEX ...`` for this candidate."""
        cols = ", ".join(quote_ident(c, dialect) for c in self.columns)
        sql = (
            f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}"
            f"{quote_ident(self.name(), dialect)} ON {quote_table(self.table, dialect)} ({cols})"
        )
        if self.include:
            sql += f" INCLUDE ({', '.join(quote_ident(c, dialect) for c in self.include)})"
        if self.where:
            sql += f" WHERE {self.where}"
        return sql

    def covered_by(self, columns: tuple[str, ...]) -> bool:
        """True when an index on ``columns`` serves every lookup this one would (its key
        columns are a prefix of them; INCLUDE and partial candidates are never covered)."""
        return (
            not self.include and self.where is None and columns[: len(self.columns)] == self.columns
        )

    def describe(self) -> str:
        """``schema.table (a, b) INCLUDE (c) WHERE ...`` for reports."""
        text = f"{self.table} ({', '.join(self.columns)})"
        if self.include:
            text += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            text += f" WHERE {self.where}"
        return text
