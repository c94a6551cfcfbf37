"""Index health: unused, duplicate, invalid and bloated indexes, and foreign keys without
one, each with the DDL that fixes it.

The catalog work is per engine (``health_postgres``, ``health_duckdb``); this module holds
the report model and the engine-neutral rules (which index covers which, how many pages a
btree should need), so both engines judge duplicates the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

Kind = Literal["unused", "duplicate", "invalid", "bloat", "missing_fk_index"]
KINDS: tuple[Kind, ...] = ("invalid", "duplicate", "unused", "missing_fk_index", "bloat")

# Schemas that are never the user's: catalogs and headrace's own state.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "_headrace")

# Flag bloat only when both are exceeded: small indexes are cheap to carry, and the
# estimate is rough (a btree filled by random inserts sits near 70% full, i.e. ~20% "bloat").
DEFAULT_BLOAT_MIN_PCT = 30.0
DEFAULT_BLOAT_MIN_BYTES = 10 * 1024 * 1024
# Scan counts younger than this are thin evidence that an index is unused: monthly jobs
# and rare reports may not have run since the reset.
DEFAULT_THIN_STATS_DAYS = 7.0


@dataclass(frozen=True)
class HealthFinding:
    """One problem with one index (or a missing index), and the statements that fix it."""

    kind: Kind
    table: str  # "schema.table"
    index: str | None  # None for a missing index
    columns: tuple[str, ...]
    detail: str  # human text with the figures behind the verdict
    statements: tuple[str, ...]  # the fix, one statement each, run in order
    size_bytes: int | None = None
    scans: int | None = None

    @property
    def ddl(self) -> str:
        """The fix as a script: one statement per line, each ending in a semicolon."""
        return "\n".join(f"{s};" for s in self.statements)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind,
            "table": self.table,
            "index": self.index,
            "columns": list(self.columns),
            "detail": self.detail,
            "ddl": self.ddl,
            "size_bytes": self.size_bytes,
            "scans": self.scans,
        }


@dataclass
class HealthReport:
    """Findings plus the facts that qualify them (stats age, sizes, what was not checked)."""

    engine: str
    stats_reset: datetime | None = None
    findings: list[HealthFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    index_count: int = 0
    total_index_bytes: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Findings per kind, every kind present."""
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}

    def of_kind(self, kind: Kind) -> list[HealthFinding]:
        """Findings of one kind, in report order."""
        return [f for f in self.findings if f.kind == kind]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "engine": self.engine,
            "stats_reset": self.stats_reset.isoformat() if self.stats_reset else None,
            "index_count": self.index_count,
            "total_index_bytes": self.total_index_bytes,
            "findings": [f.to_json() for f in self.findings],
            "counts": self.counts,
            "notes": list(self.notes),
        }


def index_health(
    engine: EngineAdapter,
    *,
    bloat_min_pct: float = DEFAULT_BLOAT_MIN_PCT,
    bloat_min_bytes: int = DEFAULT_BLOAT_MIN_BYTES,
    thin_stats_days: float = DEFAULT_THIN_STATS_DAYS,
) -> HealthReport:
    """Inspect every index in the user's schemas and report what to drop, rebuild or add."""
    if engine.dialect == "postgres":
        from headrace.advisor.health_postgres import postgres_health

        return postgres_health(
            engine,
            bloat_min_pct=bloat_min_pct,
            bloat_min_bytes=bloat_min_bytes,
            thin_stats_days=thin_stats_days,
        )
    if engine.dialect == "duckdb":
        from headrace.advisor.health_duckdb import duckdb_health

        return duckdb_health(engine)
    raise UsageError(
        f"index health is not available on {engine.name}",
        hint="point --to at a PostgreSQL or DuckDB database",
    )


# -- engine-neutral rules ----------------------------------------------------------------


@dataclass(frozen=True)
class IndexFacts:
    """What the duplicate rules need to know about one index."""

    schema: str
    table: str
    name: str
    order: int  # creation order (an OID on PostgreSQL): the older of two twins is kept
    method: str  # "btree", "hash", "gin", "art", ...
    keys: tuple[str, ...]  # key columns or expressions, for display
    # Per key column, everything that changes what the index can answer: column or
    # expression, operator class, sort options, collation.
    key_ids: tuple[str, ...]
    include: tuple[str, ...] = ()
    predicate: str | None = None
    unique: bool = False
    primary: bool = False
    constraint: bool = False  # backs a PRIMARY KEY / UNIQUE / EXCLUDE constraint
    valid: bool = True
    size_bytes: int | None = None
    scans: int | None = None

    @property
    def qualified_table(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"

    @property
    def droppable(self) -> bool:
        """Dropping it removes no constraint (those go through ALTER TABLE, by a human)."""
        return not (self.primary or self.constraint)

    def rank(self) -> tuple[int, int, int]:
        """Which twin to keep: constraint-backed, then unique, then the older one."""
        return (int(self.primary or self.constraint), int(self.unique), -self.order)


def covering_index(
    index: IndexFacts,
    others: Iterable[IndexFacts],
    prefix_methods: frozenset[str],
    *,
    break_ties: bool = True,
) -> tuple[IndexFacts, bool] | None:
    """The index that makes ``index`` redundant, and whether it is an exact twin.

    ``other`` covers ``index`` when both sit on the same table with the same method and
    predicate, ``index``'s key columns are the same as (or, for ``prefix_methods``, a
    leading prefix of) ``other``'s, and ``other`` carries every INCLUDE column too. A
    unique index is only covered by a unique twin: a longer unique key enforces less.
    Twins are broken by :meth:`IndexFacts.rank`, so exactly one of them is dropped;
    ``break_ties=False`` skips that, for an index that goes anyway (an invalid one).
    """
    if not index.valid or not index.droppable:
        return None
    best: tuple[IndexFacts, bool] | None = None
    for other in others:
        if other is index or other.name == index.name or not other.valid:
            continue
        if (other.schema, other.table, other.method, other.predicate) != (
            index.schema,
            index.table,
            index.method,
            index.predicate,
        ):
            continue
        width = len(index.key_ids)
        exact = other.key_ids == index.key_ids
        prefix = index.method in prefix_methods and other.key_ids[:width] == index.key_ids
        if not (exact or prefix):
            continue
        if not set(index.include) <= set(other.keys) | set(other.include):
            continue
        if index.unique and not (other.unique and exact):
            continue
        twins = exact and set(other.include) <= set(index.include)
        if break_ties and twins and other.rank() < index.rank():
            continue  # a true twin that ranks lower: it is the one to drop
        if best is None or (exact and not best[1]):
            best = (other, exact)
    return best


def leading_columns_cover(index_columns: Sequence[Any], wanted: Sequence[Any]) -> bool:
    """True when the index's first ``len(wanted)`` key columns are ``wanted`` in any order
    (what an equality lookup on those columns needs)."""
    return len(index_columns) >= len(wanted) and set(index_columns[: len(wanted)]) == set(wanted)


def expected_btree_pages(
    tuples: float, data_width: float, has_nulls: bool, fillfactor: int, block_size: int
) -> int:
    """Pages a freshly built btree of ``tuples`` entries needs (leaf level plus metapage).

    Leaf tuples are an 8-byte header (16 with a null bitmap) plus the data, MAXALIGNed to
    8 bytes, plus a 4-byte line pointer; a page loses 24 bytes of header and 16 of btree
    special space, and a build fills it to ``fillfactor`` percent. Inner pages (about 1%
    of a btree) are ignored; deduplication (PostgreSQL 13+) can leave an index smaller than
    this, which reads as no bloat rather than as a false alarm.
    """
    header = 16 if has_nulls else 8
    tuple_bytes = math.ceil((header + data_width) / 8) * 8 + 4
    usable = (block_size - 24 - 16) * fillfactor / 100
    per_page = max(1, math.floor(usable / tuple_bytes))
    return 1 + math.ceil(max(tuples, 0) / per_page)


def human_bytes(size: float | None) -> str:
    """``12.3 MB`` style sizes (binary units, one decimal)."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
