"""What-if costing: the planner's estimated cost of a query with a set of indexes.

HypoPG (``hypopg_create_index``) makes an index visible to the planner of this session
without building it, in milliseconds. Without HypoPG, PostgreSQL's transactional DDL
gives the same answer the slow way: ``BEGIN; CREATE INDEX ...; EXPLAIN ...; ROLLBACK`` —
only on tables small enough to index quickly, and the report says which method ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headrace.advisor.analyze import OWN_QUERY_MARK
from headrace.engines.sql import quote_ident
from headrace.errors import EngineError, UsageError

if TYPE_CHECKING:
    from headrace.advisor.model import IndexCandidate
    from headrace.engines.base import EngineAdapter

HYPOPG = "hypopg"
REAL_BUILD = "build-and-rollback"
# Past this size a real build per candidate takes too long for an interactive advisor.
REAL_BUILD_MAX_BYTES = 256 * 1024 * 1024


class WhatIf:
    """Estimated costs of queries under hypothetical index sets, on one connection."""

    def __init__(self, engine: EngineAdapter, *, allow_real_build: bool = True) -> None:
        if engine.dialect != "postgres":
            raise UsageError("what-if costing needs PostgreSQL")
        self.engine = engine
        self.method = HYPOPG if self._hypopg() else REAL_BUILD
        if self.method == REAL_BUILD and not allow_real_build:
            raise UsageError("HypoPG is not available", hint="CREATE EXTENSION hypopg")
        self.notes: list[str] = []
        self._active: dict[tuple[Any, ...], int] = {}  # candidate key -> hypothetical oid
        # Without HypoPG, the chosen set is rebuilt (and rolled back) for every estimate.
        self._chosen: dict[tuple[Any, ...], IndexCandidate] = {}
        self._sizes: dict[tuple[Any, ...], int] = {}
        self.explains = 0

    def _hypopg(self) -> bool:
        installed = self.engine.fetchall("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'")
        if installed:
            return True  # no DDL: a read-only session (the MCP server) can use it as it is
        try:
            self.engine.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        except EngineError:
            return False  # not available, or no right to create extensions
        return True

    # -- hypothetical index sets (HypoPG) ---------------------------------------------

    def add(self, candidate: IndexCandidate) -> None:
        """Make ``candidate`` visible to this session's planner."""
        if self.method != HYPOPG:
            self._chosen[candidate.key] = candidate
            return
        if candidate.key in self._active:
            return
        oid, _ = self.engine.fetchall(
            "SELECT indexrelid, indexname FROM hypopg_create_index(%s)", [candidate.ddl()]
        )[0]
        self._active[candidate.key] = int(oid)

    def remove(self, candidate: IndexCandidate) -> None:
        """Hide ``candidate`` again."""
        self._chosen.pop(candidate.key, None)
        oid = self._active.pop(candidate.key, None)
        if oid is not None:
            self.engine.execute("SELECT hypopg_drop_index(%s)", [oid])

    def used_in(self, plan: Any, candidates: Sequence[IndexCandidate]) -> set[tuple[Any, ...]]:
        """Keys of the ``candidates`` a plan scans (HypoPG names an index ``<oid>btree_...``;
        a real build keeps the candidate's own name)."""
        names: set[str] = set()
        stack = [plan]
        while stack:
            node = stack.pop()
            if node.get("Index Name"):
                names.add(str(node["Index Name"]))
            stack.extend(node.get("Plans", []))
        found = set()
        for c in candidates:
            oid = self._active.get(c.key)
            marker = f"<{oid}>" if oid is not None else None
            if c.name() in names or (marker and any(n.startswith(marker) for n in names)):
                found.add(c.key)
        return found

    def reset(self) -> None:
        """Hide every hypothetical index."""
        if self.method == HYPOPG:
            self.engine.execute("SELECT hypopg_reset()")
        self._active.clear()
        self._chosen.clear()

    def size(self, candidate: IndexCandidate) -> int:
        """Estimated size in bytes of ``candidate`` once built."""
        if candidate.key in self._sizes:
            return self._sizes[candidate.key]
        if self.method == HYPOPG:
            present = candidate.key in self._active
            self.add(candidate)
            size = int(
                self.engine.fetchall(
                    "SELECT hypopg_relation_size(%s)", [self._active[candidate.key]]
                )[0][0]
            )
            if not present:
                self.remove(candidate)
        else:
            size = self._built_many([candidate], lambda: self._index_size(candidate))
        self._sizes[candidate.key] = size
        return size

    # -- costs --------------------------------------------------------------------------

    def cost(self, sql: str, extra: Sequence[IndexCandidate] = ()) -> float:
        """The planner's total cost of ``sql`` with the active set plus ``extra``."""
        if self.method == HYPOPG:
            added = [c for c in extra if c.key not in self._active]
            for candidate in added:
                self.add(candidate)
            try:
                return self._explain_cost(sql)
            finally:
                for candidate in added:
                    self.remove(candidate)
        extra = [*self._chosen.values(), *(c for c in extra if c.key not in self._chosen)]
        if not extra:
            return self._explain_cost(sql)
        return float(self._built_many(extra, lambda: self._explain_cost(sql)))

    def plan(self, sql: str) -> Any:
        """The JSON plan with the active set."""
        if self.method != HYPOPG and self._chosen:
            return self._built_many(list(self._chosen.values()), lambda: self._plan(sql))
        return self._plan(sql)

    def _plan(self, sql: str) -> Any:
        self.explains += 1
        return self.engine.explain(f"{OWN_QUERY_MARK} {sql}")[0]["Plan"]

    def _explain_cost(self, sql: str) -> float:
        cost = float(self._plan(sql)["Total Cost"])
        return float(cost) if math.isfinite(cost) else float("inf")

    # -- the slow way: build for real inside a transaction that rolls back ----------------

    def _built_many(self, candidates: Sequence[IndexCandidate], then: Any) -> Any:
        for candidate in candidates:
            info = self.engine.table_info(candidate.table, sizes=True)
            if info is not None and (info.size_bytes or 0) > REAL_BUILD_MAX_BYTES:
                raise UsageError(
                    f"{candidate.table} is too large to cost indexes by building them"
                    f" ({(info.size_bytes or 0) >> 20} MB)",
                    hint="install HypoPG (CREATE EXTENSION hypopg) for what-if costing",
                )

        class _Rollback(Exception):
            pass

        result: list[Any] = []
        try:
            with self.engine.transaction():
                for candidate in candidates:
                    self.engine.execute(candidate.ddl())
                result.append(then())
                raise _Rollback
        except _Rollback:
            pass
        return result[0]

    def _index_size(self, candidate: IndexCandidate) -> int:
        schema = candidate.table.split(".")[0]
        name = f"{quote_ident(schema, 'postgres')}.{quote_ident(candidate.name(), 'postgres')}"
        return int(self.engine.fetchall("SELECT pg_relation_size(to_regclass(%s))", [name])[0][0])
