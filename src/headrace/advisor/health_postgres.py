"""Index health on PostgreSQL: read the catalog and the statistics views, judge each index.

Everything here is read-only catalog SQL; the fixes are returned as DDL, never run. Each
index gets at most one "drop or rebuild" verdict, in this order: invalid, duplicate,
unused; bloat is only estimated for indexes that are kept.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headrace.advisor.health import (
    SYSTEM_SCHEMAS,
    HealthFinding,
    HealthReport,
    IndexFacts,
    covering_index,
    expected_btree_pages,
    human_bytes,
    leading_columns_cover,
)
from headrace.engines.sql import quote_ident

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

# User schemas only: the fixed system ones, plus pg_toast, pg_temp_N and friends.
_USER_SCHEMA = "n.nspname <> ALL(%s::text[]) AND n.nspname !~ '^pg_'"

_FACTS_SQL = """
SELECT d.stats_reset, now(), pg_is_in_recovery(),
       current_setting('block_size')::int, current_setting('track_counts')::bool
FROM pg_stat_database d WHERE d.datname = current_database()
"""

_INDEXES_SQL = f"""
SELECT i.indexrelid::bigint, i.indrelid::bigint, n.nspname, t.relname, ic.relname,
       am.amname, t.relkind::text, i.indisunique, i.indisprimary, i.indisvalid,
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
               AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(i.indnkeyatts + 1, i.indnatts) AS k ORDER BY k),
       i.indkey::text, i.indclass::text, i.indoption::text, i.indcollation::text,
       pg_get_expr(i.indpred, i.indrelid, true), pg_get_indexdef(i.indexrelid),
       pg_relation_size(i.indexrelid), s.idx_scan
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE {_USER_SCHEMA}
ORDER BY n.nspname, t.relname, ic.relname
"""

# Foreign keys declared on the table itself (partitions inherit their parent's).
_FOREIGN_KEYS_SQL = f"""
SELECT c.conname, n.nspname, t.relname, t.relkind::text, c.conkey::int[],
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       rn.nspname, rt.relname, t.reltuples::bigint, pg_relation_size(t.oid)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class rt ON rt.oid = c.confrelid
JOIN pg_namespace rn ON rn.oid = rt.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0 AND {_USER_SCHEMA}
ORDER BY n.nspname, t.relname, c.conname
"""

# Per btree index: its pages and tuples as of the last VACUUM/ANALYZE, and the average
# width of its columns from pg_stats (table columns by name; expression columns are
# analysed under the index's own name). pg_stats hides columns this role cannot SELECT.
_BLOAT_SQL = f"""
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey, i.indnatts, n.nspname,
           t.relname AS tblname, ic.relname AS idxname, ic.relpages::bigint AS relpages,
           ic.reltuples::float8 AS reltuples,
           coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(ic.reloptions) AS o
                     WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE am.amname = 'btree' AND ic.relkind = 'i' AND i.indisvalid AND ic.relpages > 0
      AND {_USER_SCHEMA}
), cols AS (
    SELECT idx.indexrelid, s.avg_width, s.null_frac
    FROM idx
    JOIN pg_attribute ia ON ia.attrelid = idx.indexrelid
         AND ia.attnum BETWEEN 1 AND idx.indnatts
    LEFT JOIN pg_attribute ta ON ta.attrelid = idx.indrelid
         AND ta.attnum = idx.indkey[ia.attnum - 1] AND ta.attnum > 0
    LEFT JOIN pg_stats s ON s.schemaname = idx.nspname AND NOT s.inherited
         AND s.tablename = CASE WHEN ta.attname IS NULL THEN idx.idxname ELSE idx.tblname END
         AND s.attname = coalesce(ta.attname, ia.attname)
)
SELECT idx.indexrelid::bigint, idx.relpages, idx.reltuples, idx.fillfactor,
       count(c.avg_width) = count(*), coalesce(sum((1 - c.null_frac) * c.avg_width), 0),
       coalesce(max(c.null_frac), 0) > 0
FROM idx JOIN cols c USING (indexrelid)
GROUP BY idx.indexrelid, idx.relpages, idx.reltuples, idx.fillfactor
"""

_BUILDS_SQL = "SELECT relid::bigint FROM pg_stat_progress_create_index"

# REINDEX CONCURRENTLY leaves these behind when interrupted; the original index survives.
_REINDEX_LEFTOVER = re.compile(r"_cc(new|old)\d*$")
_CREATE_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX ")


@dataclass(frozen=True)
class _PgIndex:
    facts: IndexFacts
    oid: int
    table_oid: int
    table_kind: str  # pg_class.relkind of the table: "r", "p", "m", ...
    attnums: tuple[int, ...]  # key columns' attribute numbers (0 for an expression)
    definition: str


@dataclass(frozen=True)
class _ForeignKey:
    name: str
    schema: str
    table: str
    table_kind: str
    attnums: tuple[int, ...]
    columns: tuple[str, ...]
    referenced: str
    row_estimate: int
    table_bytes: int


def postgres_health(
    engine: EngineAdapter,
    *,
    bloat_min_pct: float,
    bloat_min_bytes: int,
    thin_stats_days: float,
) -> HealthReport:
    """The index health report of the connected PostgreSQL database."""
    stats_reset, now, in_recovery, block_size, track_counts = engine.fetchall(_FACTS_SQL)[0]
    schemas = list(SYSTEM_SCHEMAS)
    indexes = [_pg_index(row) for row in engine.fetchall(_INDEXES_SQL, [schemas])]
    foreign_keys = [_foreign_key(row) for row in engine.fetchall(_FOREIGN_KEYS_SQL, [schemas])]
    building = {row[0] for row in engine.fetchall(_BUILDS_SQL)}
    report = HealthReport(
        engine=engine.name,
        stats_reset=stats_reset,
        index_count=len(indexes),
        total_index_bytes=sum(ix.facts.size_bytes or 0 for ix in indexes),
    )
    verdicts: dict[int, HealthFinding] = {}
    by_table: dict[tuple[str, str], list[IndexFacts]] = defaultdict(list)
    for ix in indexes:
        by_table[(ix.facts.schema, ix.facts.table)].append(ix.facts)

    for ix in indexes:
        if not ix.facts.valid:
            if ix.table_oid in building:
                report.notes.append(
                    f"{_name(ix)} is invalid while an index build is running on "
                    f"{ix.facts.qualified_table}: not reported (it may be that build)"
                )
                continue
            # A retried build often succeeded under another name: then only drop this one.
            twin = covering_index(
                replace(ix.facts, valid=True),
                by_table[(ix.facts.schema, ix.facts.table)],
                _PREFIX,
                break_ties=False,
            )
            verdicts[ix.oid] = _invalid(ix, twin[0] if twin else None)

    # A keeper takes over its duplicate's lookups, so its own scan count says nothing yet.
    keepers: set[tuple[str, str, str]] = set()
    for ix in indexes:
        if ix.oid in verdicts:
            continue
        hit = covering_index(ix.facts, by_table[(ix.facts.schema, ix.facts.table)], _PREFIX)
        if hit is not None:
            verdicts[ix.oid] = _duplicate(ix, *hit, since=_since(stats_reset))
            keepers.add((hit[0].schema, hit[0].table, hit[0].name))

    protected: set[int] = set()
    for fk in foreign_keys:
        covering = [ix for ix in indexes if ix.oid not in verdicts and _serves(ix, fk)]
        if len(covering) == 1:
            # The only index behind a foreign key looks idle until a parent row is
            # deleted; dropping it would just turn it into a missing-index finding.
            protected.add(covering[0].oid)
    protected.update(
        ix.oid for ix in indexes if (ix.facts.schema, ix.facts.table, ix.facts.name) in keepers
    )
    if track_counts:
        since = _since(stats_reset)
        for ix in indexes:
            facts = ix.facts
            if (
                ix.oid in verdicts
                or ix.oid in protected
                or facts.scans != 0
                or facts.unique
                or not facts.droppable
            ):
                continue
            verdicts[ix.oid] = HealthFinding(
                kind="unused",
                table=facts.qualified_table,
                index=facts.name,
                columns=facts.keys,
                detail=f"0 scans since {since}; {human_bytes(facts.size_bytes)} kept up to "
                f"date on every write to {facts.qualified_table}",
                statements=(_drop(ix),),
                size_bytes=facts.size_bytes,
                scans=0,
            )
        _note_stats_age(report, stats_reset, now, thin_stats_days)
    else:
        report.notes.append("track_counts is off: index scans are not counted, unused not judged")
    if in_recovery:
        report.notes.append(
            "this server is a standby: scan counts are its own (an index idle here may serve "
            "the primary or other standbys), and the DDL must run on the primary"
        )

    report.findings.extend(f for f in verdicts.values() if f.kind == "invalid")
    report.findings.extend(f for f in verdicts.values() if f.kind == "duplicate")
    report.findings.extend(f for f in verdicts.values() if f.kind == "unused")
    for fk in foreign_keys:
        if not any(_serves(ix, fk) for ix in indexes):
            report.findings.append(_missing_fk_index(fk))
    kept = {ix.oid: ix for ix in indexes if ix.oid not in verdicts}
    report.findings.extend(
        _bloat(engine, kept, schemas, block_size, bloat_min_pct, bloat_min_bytes, report)
    )
    return report


_PREFIX = frozenset({"btree"})


def _pg_index(row: tuple[Any, ...]) -> _PgIndex:
    (oid, table_oid, schema, table, name, method, table_kind, unique, primary, valid,
     constraint, keys, include, indkey, indclass, indoption, indcollation, predicate,
     definition, size, scans) = row  # fmt: skip
    keys = tuple(keys)
    per_key = zip(keys, indclass.split(), indoption.split(), indcollation.split(), strict=False)
    return _PgIndex(
        facts=IndexFacts(
            schema=schema,
            table=table,
            name=name,
            order=int(oid),
            method=method,
            keys=keys,
            key_ids=tuple("|".join(parts) for parts in per_key),
            include=tuple(include),
            predicate=predicate,
            unique=bool(unique),
            primary=bool(primary),
            constraint=bool(constraint),
            valid=bool(valid),
            size_bytes=int(size),
            scans=None if scans is None else int(scans),
        ),
        oid=int(oid),
        table_oid=int(table_oid),
        table_kind=table_kind,
        attnums=tuple(int(a) for a in indkey.split()[: len(keys)]),
        definition=definition,
    )


def _foreign_key(row: tuple[Any, ...]) -> _ForeignKey:
    name, schema, table, kind, attnums, columns, ref_schema, ref_table, rows, size = row
    return _ForeignKey(
        name=name,
        schema=schema,
        table=table,
        table_kind=kind,
        attnums=tuple(attnums),
        columns=tuple(columns),
        referenced=f"{ref_schema}.{ref_table}",
        row_estimate=max(int(rows), 0),
        table_bytes=int(size),
    )


def _serves(ix: _PgIndex, fk: _ForeignKey) -> bool:
    # An invalid index counts: its own finding re-creates it, and a second CREATE would
    # leave two. Partial indexes cannot serve every lookup; hash only single columns.
    facts = ix.facts
    if (facts.schema, facts.table) != (fk.schema, fk.table) or facts.predicate is not None:
        return False
    if facts.method != "btree" and not (facts.method == "hash" and len(fk.attnums) == 1):
        return False
    return leading_columns_cover(ix.attnums, fk.attnums)


def _qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema, 'postgres')}.{quote_ident(name, 'postgres')}"


def _name(ix: _PgIndex) -> str:
    return f"{ix.facts.schema}.{ix.facts.name}"


def _concurrently(ix: _PgIndex) -> str:
    # Partitioned tables take no CONCURRENTLY (PostgreSQL 15); their index DDL locks.
    return "" if ix.table_kind == "p" else "CONCURRENTLY "


def _name_sql(ix: _PgIndex) -> str:
    return _qualified(ix.facts.schema, ix.facts.name)


def _drop(ix: _PgIndex) -> str:
    return f"DROP INDEX {_concurrently(ix)}IF EXISTS {_name_sql(ix)}"


def _invalid(ix: _PgIndex, twin: IndexFacts | None) -> HealthFinding:
    facts = ix.facts
    if _REINDEX_LEFTOVER.search(facts.name):
        detail = (
            "invalid: left over from an interrupted REINDEX CONCURRENTLY (the original index "
            "is still there); drop it"
        )
        statements: tuple[str, ...] = (_drop(ix),)
    elif twin is not None:
        detail = (
            f"invalid (a failed or cancelled CREATE INDEX CONCURRENTLY), and the valid "
            f"{twin.schema}.{twin.name} ({', '.join(twin.keys)}) already serves the same "
            "lookups; drop it"
        )
        statements = (_drop(ix),)
    else:
        detail = (
            "invalid (a failed or cancelled CREATE INDEX CONCURRENTLY): queries never use "
            "it but every write still updates it; drop it and build it again"
        )
        if facts.unique:
            detail += " (a unique index fails again until the duplicate keys are removed)"
        create = _CREATE_INDEX.sub(
            lambda m: f"CREATE {m.group(1) or ''}INDEX {_concurrently(ix)}", ix.definition
        )
        statements = (_drop(ix), create)
    return HealthFinding(
        kind="invalid",
        table=facts.qualified_table,
        index=facts.name,
        columns=facts.keys,
        detail=detail,
        statements=statements,
        size_bytes=facts.size_bytes,
        scans=facts.scans,
    )


def _duplicate(ix: _PgIndex, keeper: IndexFacts, exact: bool, *, since: str) -> HealthFinding:
    facts = ix.facts
    keeper_text = f"{keeper.schema}.{keeper.name} ({', '.join(keeper.keys)})"
    if keeper.primary:
        keeper_text = f"primary key {keeper_text}"
    elif keeper.unique:
        keeper_text = f"unique {keeper_text}"
    how = "same key columns as" if exact else "its key columns are a leading prefix of"
    return HealthFinding(
        kind="duplicate",
        table=facts.qualified_table,
        index=facts.name,
        columns=facts.keys,
        detail=f"{how} {keeper_text}, which serves the same lookups; dropping it frees "
        f"{human_bytes(facts.size_bytes)} ({facts.scans or 0:,} scans since {since})",
        statements=(_drop(ix),),
        size_bytes=facts.size_bytes,
        scans=facts.scans,
    )


def _missing_fk_index(fk: _ForeignKey) -> HealthFinding:
    cols = ", ".join(quote_ident(c, "postgres") for c in fk.columns)
    concurrently = "" if fk.table_kind == "p" else "CONCURRENTLY "
    name = _fk_index_name(fk.table, fk.columns)
    table = f"{fk.schema}.{fk.table}"
    return HealthFinding(
        kind="missing_fk_index",
        table=table,
        index=None,
        columns=fk.columns,
        detail=f"foreign key {fk.name} ({', '.join(fk.columns)}) references {fk.referenced}, "
        f"but no index starts with these columns: every delete or key update on "
        f"{fk.referenced} scans {table} (~{fk.row_estimate:,} rows, "
        f"{human_bytes(fk.table_bytes)}), and joins on the key cannot use an index",
        statements=(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {quote_ident(name, 'postgres')}"
            f" ON {_qualified(fk.schema, fk.table)} ({cols})",
        ),
    )


def _fk_index_name(table: str, columns: tuple[str, ...]) -> str:
    # PostgreSQL's own naming pattern, kept under its 63-byte limit with a stable digest
    # (silent truncation could collide with another long name).
    name = f"{table}_{'_'.join(columns)}_idx"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name.encode()[:50].decode(errors='ignore')}_{digest}_idx"


def _bloat(
    engine: EngineAdapter,
    kept: dict[int, _PgIndex],
    schemas: list[str],
    block_size: int,
    min_pct: float,
    min_bytes: int,
    report: HealthReport,
) -> list[HealthFinding]:
    findings: list[HealthFinding] = []
    unknown: list[str] = []
    for oid, relpages, reltuples, fillfactor, known, width, has_nulls in engine.fetchall(
        _BLOAT_SQL, [schemas]
    ):
        ix = kept.get(int(oid))
        if ix is None:
            continue
        if not known or reltuples < 0:
            # An index smaller than the threshold could not be flagged anyway.
            if int(relpages) * block_size >= min_bytes:
                unknown.append(_name(ix))
            continue
        expected = expected_btree_pages(
            reltuples, float(width), bool(has_nulls), int(fillfactor), block_size
        )
        actual_bytes = int(relpages) * block_size
        wasted = max(0, int(relpages) - expected) * block_size
        pct = 100.0 * wasted / actual_bytes
        if pct < min_pct or wasted < min_bytes:
            continue
        facts = ix.facts
        findings.append(
            HealthFinding(
                kind="bloat",
                table=facts.qualified_table,
                index=facts.name,
                columns=facts.keys,
                detail=f"~{human_bytes(wasted)} of {human_bytes(actual_bytes)} wasted "
                f"({pct:.0f}%): {int(relpages):,} pages where {expected:,} would hold "
                f"{int(reltuples):,} entries of ~{float(width):.0f} bytes at fillfactor "
                f"{fillfactor} (as of the last VACUUM/ANALYZE)",
                statements=(f"REINDEX INDEX {_concurrently(ix)}{_name_sql(ix)}",),
                size_bytes=facts.size_bytes,
                scans=facts.scans,
            )
        )
    if unknown:
        shown = ", ".join(sorted(unknown)[:5]) + (", ..." if len(unknown) > 5 else "")
        report.notes.append(
            f"bloat not estimated for {len(unknown)} btree index(es) without column statistics "
            f"(run ANALYZE; this role only sees statistics of tables it can SELECT): {shown}"
        )
    return findings


def _since(stats_reset: datetime | None) -> str:
    if stats_reset is None:
        return "statistics began, never reset"
    return f"stats reset at {stats_reset.isoformat(sep=' ', timespec='seconds')}"


def _note_stats_age(
    report: HealthReport, stats_reset: datetime | None, now: datetime, thin_days: float
) -> None:
    if stats_reset is None:
        report.notes.append(
            "index scan counts were never reset, so how long they cover is unknown "
            "(a crash or an upgrade starts them again)"
        )
        return
    age_days = (now - stats_reset).total_seconds() / 86400
    if age_days < thin_days:
        report.notes.append(
            f"statistics were reset {_age(age_days)} ago: thin evidence for 'unused' "
            f"(an index used weekly or monthly looks idle); check again before dropping"
        )


def _age(days: float) -> str:
    if days >= 1:
        return f"{days:.1f} days"
    hours = days * 24
    return f"{hours:.1f} hours" if hours >= 1 else f"{hours * 60:.0f} minutes"
