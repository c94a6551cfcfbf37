"""``headrace advise`` on DuckDB: sort orders for zone maps, ART indexes for point lookups.

DuckDB scans columns in row groups and skips a row group when its min/max (zone map)
excludes the filter; a table ordered by the most selective filter columns lets a filter
skip most of them. Its ART indexes pay off only for point lookups on highly distinct
columns. There is no what-if planner to ask, so every proposal is tried for real inside a
transaction that is rolled back, and kept only if it made some query at least
``min_gain`` faster; ``--verify`` measures the kept set together the same way, and
``--apply`` commits it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.advisor.measure import QueryTiming, measure
from headrace.advisor.model import IndexCandidate, TableMeta
from headrace.advisor.report import AdviceReport, AdvisedIndex
from headrace.engines.sql import quote_ident, quote_table
from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.advisor.advise import AdviseOptions
    from headrace.advisor.model import Workload, WorkloadQuery
    from headrace.engines.base import EngineAdapter

METHOD = "measured-in-rolled-back-transaction"
# A column this distinct (share of rows) makes equality a point lookup an ART index serves.
POINT_LOOKUP_DISTINCT = 0.5


@dataclass(frozen=True)
class Proposal:
    """A sort order or an ART index for one table, and the queries it is for."""

    kind: str  # sort_order | index
    candidate: IndexCandidate
    queries: tuple[int, ...]

    def statements(self, engine: EngineAdapter) -> list[str]:
        """The SQL that makes it so."""
        if self.kind == "index":
            return [self.candidate.ddl("duckdb")]
        return sort_order_statements(engine, self.candidate.table, self.candidate.columns)


def advise_duckdb(
    engine: EngineAdapter, options: AdviseOptions, base: Path | None = None
) -> AdviceReport:
    """Propose, try each for real, keep what measurably helps."""
    from headrace.advisor.advise import load_workload
    from headrace.advisor.candidates import generate_candidates, query_tables
    from headrace.advisor.catalog import table_metas

    started = time.perf_counter()
    workload = load_workload(engine, options.workload, base)
    if not workload.queries:
        raise UsageError(f"no usable query in the workload ({len(workload.skipped)} skipped)")
    tables_of = [query_tables(q.sql, "duckdb", "main") for q in workload.queries]
    metas = table_metas(engine, set().union(*tables_of))
    candidates = generate_candidates(
        workload, metas, max_width=options.max_width, dialect="duckdb", default_schema="main"
    )
    proposals = propose(workload, candidates, metas)
    repeat = max(3, options.repeat // 2)
    baseline = {
        i: t for i, t in enumerate(measure(engine, workload.queries, repeat=repeat, warmup=1))
    }
    labels = [q.label or q.position for q in workload.queries]
    kept: list[tuple[Proposal, list[int]]] = []
    for proposal in proposals:
        trial = _trial(
            engine, proposal.statements(engine), workload.queries, proposal.queries, repeat
        )
        helped = [
            i
            for i, timing in trial.items()
            if timing.error is None and timing.p50_ms <= baseline[i].p50_ms * (1 - options.min_gain)
        ]
        if helped:
            kept.append((proposal, helped))
    report = AdviceReport(
        engine=engine.name,
        method=METHOD,
        workload=workload,
        recommendations=[
            AdvisedIndex(
                p.candidate,
                ";\n".join(p.statements(engine)),
                _table_bytes(engine, p.candidate.table) if p.kind == "sort_order" else 0,
                [labels[i] for i in helped],
                kind=p.kind,
            )
            for p, helped in kept
        ],
        analysis_seconds=time.perf_counter() - started,
        candidates=len(proposals),
    )
    report.notes.append(
        "DuckDB has no what-if planner: each proposal was built and measured inside a"
        " transaction that was rolled back"
    )
    if options.verify or options.apply:
        statements = [s for p, _ in kept for s in p.statements(engine)]
        report.before = list(baseline.values())
        report.after = _run_with(
            engine, statements, workload.queries, options, commit=options.apply
        )
        report.applied = options.apply
    return report


def propose(
    workload: Workload, candidates: Sequence[IndexCandidate], metas: dict[str, TableMeta]
) -> list[Proposal]:
    """Per table: one sort order (the key of the candidate serving the most weight) and an
    ART index per candidate that leads with a point-lookup column."""
    proposals: list[Proposal] = []
    by_table: dict[str, list[IndexCandidate]] = {}
    for c in candidates:
        if c.where is None and not c.include:
            by_table.setdefault(c.table, []).append(c)
    for table, found in sorted(by_table.items()):
        meta = metas[table]

        def weight(c: IndexCandidate) -> float:
            return sum(workload.queries[i].weight for i in c.queries)

        best = max(found, key=lambda c: (weight(c), -len(c.columns)))
        order = IndexCandidate(table, best.columns[:2], queries=best.queries)
        proposals.append(Proposal("sort_order", order, tuple(sorted(best.queries))))
        rows = max(meta.row_estimate, 1)
        for c in found:
            distinct = meta.n_distinct.get(c.columns[0], 0.0)
            if distinct >= POINT_LOOKUP_DISTINCT * rows:
                proposals.append(Proposal("index", c, tuple(sorted(c.queries))))
    return proposals


def sort_order_statements(engine: EngineAdapter, table: str, columns: Sequence[str]) -> list[str]:
    """Rewrite ``table`` ordered by ``columns``, keeping its constraints and indexes: create
    it again from its own DDL under a new name, fill it in order, swap the names."""
    import sqlglot
    from sqlglot import exp

    schema, name = engine.split_table(table)
    found = engine.fetchall(
        "SELECT sql FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, name],
    )
    if not found:
        raise UsageError(f"no table {table}")
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    scratch = f"__hr_sorted_{name[:30]}_{digest}"
    create = sqlglot.parse_one(str(found[0][0]), read="duckdb")
    target = create.find(exp.Table)
    assert target is not None
    target.set("this", exp.to_identifier(scratch, quoted=True))
    target.set("db", exp.to_identifier(schema, quoted=True))
    new = f"{quote_ident(schema, 'duckdb')}.{quote_ident(scratch, 'duckdb')}"
    old = quote_table(table, "duckdb")
    order = ", ".join(quote_ident(c, "duckdb") for c in columns)
    indexes = engine.fetchall(
        "SELECT sql FROM duckdb_indexes() WHERE schema_name = ? AND table_name = ?"
        " AND sql IS NOT NULL",
        [schema, name],
    )
    return [
        create.sql(dialect="duckdb"),
        f"INSERT INTO {new} SELECT * FROM {old} ORDER BY {order}",
        f"DROP TABLE {old}",
        f"ALTER TABLE {new} RENAME TO {quote_ident(name, 'duckdb')}",
        # After the rename: DuckDB cannot rename a table that has indexes.
        *(str(sql) for (sql,) in indexes),
    ]


def _trial(
    engine: EngineAdapter,
    statements: list[str],
    queries: Sequence[WorkloadQuery],
    which: Sequence[int],
    repeat: int,
) -> dict[int, QueryTiming]:
    chosen = [queries[i] for i in which]

    class _Rollback(Exception):
        pass

    timings: list[QueryTiming] = []
    try:
        with engine.transaction():
            for sql in statements:
                engine.execute(sql)
            timings = measure(engine, chosen, repeat=repeat, warmup=1)
            raise _Rollback
    except _Rollback:
        pass
    return dict(zip(which, timings, strict=True))


def _run_with(
    engine: EngineAdapter,
    statements: list[str],
    queries: Sequence[WorkloadQuery],
    options: AdviseOptions,
    *,
    commit: bool,
) -> list[QueryTiming]:
    timings = _trial(engine, statements, queries, range(len(queries)), options.repeat)
    if commit:
        with engine.transaction():
            for sql in statements:
                engine.execute(sql)
    return [timings[i] for i in range(len(queries))]


def _table_bytes(engine: EngineAdapter, table: str) -> int:
    info = engine.table_info(table, sizes=True)
    return int(info.size_bytes or 0) if info else 0
