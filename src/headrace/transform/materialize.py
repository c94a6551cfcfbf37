"""Build one model in the warehouse: a view, a table, or an incremental table.

Everything a build changes — the relation, the model's state row (SQL hash, inputs'
versions, watermark) and its run record — commits in ONE transaction, so a crash leaves
either the old model or the new one, never half of each, and an incremental model never
takes in the same rows twice or skips any.

- view: ``CREATE VIEW`` (dropping what was there).
- table: ``CREATE TABLE schema.__hr_new_<table>_<run> AS SELECT ...``, then the old
  relation is dropped and the new one renamed in its place. Readers see the old table
  until the commit.
- incremental: the first build (or ``--full-refresh``) is a table build; later builds
  stage the rows past the watermark (less ``lookback``) and append them, merge them on
  ``unique_key`` (the latest ``time_column`` wins) or delete the time range they cover
  and insert them again.

PostgreSQL binds views to the tables they read, so dropping a table would drop (or
refuse, without CASCADE) the views on it: their definitions are saved and they are
re-created after the swap, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.engines.sql import quote_ident
from headrace.errors import ConfigError, TerminalError
from headrace.load import state as load_state
from headrace.load.publish import STAGING_PREFIX, ensure_schema
from headrace.runtime.faults import fault_point
from headrace.transform import state as model_state
from headrace.transform.compile import compile_model

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.transform.graph import ProjectGraph
    from headrace.transform.model import SqlModel
    from headrace.transform.plan import Decision


@dataclass
class ModelBuild:
    """What building one model did."""

    model: str
    materialized: str
    action: str  # view | table | full | append | merge | delete_insert | unchanged
    reason: str
    run_id: str
    rows_written: int = 0
    rows_deleted: int = 0
    rows_merged_away: int = 0
    watermark: Any = None
    seconds: float = 0.0
    columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "model": self.model,
            "materialized": self.materialized,
            "action": self.action,
            "reason": self.reason,
            "run_id": self.run_id,
            "rows_written": self.rows_written,
            "rows_deleted": self.rows_deleted,
            "rows_merged_away": self.rows_merged_away,
            "watermark": None if self.watermark is None else str(self.watermark),
            "seconds": round(self.seconds, 3),
        }


def build_model(
    engine: EngineAdapter,
    model: SqlModel,
    graph: ProjectGraph,
    decision: Decision,
    run_id: str,
) -> ModelBuild:
    """Build ``model`` as ``decision`` says, in one transaction with its state."""
    started = time.perf_counter()
    build = ModelBuild(model.name, model.materialized, decision.mode, decision.reason, run_id)
    if not decision.run:
        build.action = "unchanged"
        return build
    sql = _executable(engine, model, graph)
    run = load_state.RunRecord(
        run_id, "model", model.name, model.path.name, load_state.now(), pipeline=model.name
    )
    with engine.transaction():
        ensure_schema(engine, model.schema)
        if decision.mode == "view":
            _replace_relation(engine, model, sql, view=True)
        elif decision.mode in ("table", "full"):
            build.rows_written = _replace_relation(engine, model, sql, view=False)
        else:
            _incremental(engine, model, sql, decision.watermark, build)
        build.columns = [c.name for c in engine.columns(engine.quote_table(model.name))]
        if model.materialized == "incremental":
            column = _require_incremental(model).time_column
            build.watermark = engine.fetchall(
                f"SELECT max({quote_ident(column, engine.dialect)})"
                f" FROM {engine.quote_table(model.name)}"
            )[0][0]
        version = (
            model_state.view_version(model.sql_hash, decision.inputs)
            if decision.mode == "view"
            else run_id
        )
        model_state.write_state(
            engine,
            model_state.ModelState(
                model=model.name,
                sql_hash=model.sql_hash,
                materialized=model.materialized,
                version=version,
                run_id=run_id,
                columns=build.columns,
                inputs=decision.inputs,
                watermark=build.watermark,
                rows_written=build.rows_written,
            ),
        )
        run.status, run.finished_at = "succeeded", load_state.now()
        run.rows_loaded, run.rows_merged_away = build.rows_written, build.rows_merged_away
        run.details = {"action": build.action, "reason": build.reason}
        load_state.write_run(engine, run)
        fault_point("model_before_commit")
    build.seconds = time.perf_counter() - started
    return build


def _executable(engine: EngineAdapter, model: SqlModel, graph: ProjectGraph) -> str:
    return compile_model(model, graph.resolved.get(model.name, {}), engine.dialect, pretty=False)


def _replace_relation(engine: EngineAdapter, model: SqlModel, sql: str, *, view: bool) -> int:
    """Create the new relation, drop the old one, put the new one in its place; returns
    the new table's row count (0 for a view)."""
    d = engine.dialect
    target = engine.quote_table(model.name)
    schema_q = quote_ident(model.schema, d)
    existing = engine.table_info(target)
    saved = _dependent_views(engine, target) if existing is not None else []
    rows = 0
    if view:
        if existing is not None:
            _drop(engine, target, existing.kind)
        engine.execute(f"CREATE VIEW {target} AS {sql}")
    else:
        digest = hashlib.sha256(model.name.encode()).hexdigest()[:8]
        scratch = f"{STAGING_PREFIX}new_{model.table[:40]}_{digest}"
        new = f"{schema_q}.{quote_ident(scratch, d)}"
        engine.execute(f"DROP TABLE IF EXISTS {new}")
        engine.execute(f"CREATE TABLE {new} AS {sql}")
        rows = int(engine.fetchall(f"SELECT count(*) FROM {new}")[0][0])
        if existing is not None:
            _drop(engine, target, existing.kind)
        engine.execute(f"ALTER TABLE {new} RENAME TO {quote_ident(model.table, d)}")
        # After the rename: DuckDB cannot rename a table that has indexes.
        _create_indexes(engine, model, target)
    for _, sql in saved:
        engine.execute(sql)
    return rows


def _drop(engine: EngineAdapter, target: str, kind: str) -> None:
    cascade = " CASCADE" if engine.dialect == "postgres" else ""
    engine.execute(f"DROP {'VIEW' if kind == 'view' else 'TABLE'} {target}{cascade}")


def _dependent_views(engine: EngineAdapter, target: str) -> list[tuple[str, str]]:
    """PostgreSQL views (transitively) built on ``target``, as (name, CREATE statement) in
    an order that re-creates each after the views it reads."""
    if engine.dialect != "postgres":
        return []  # DuckDB binds views by name when they are queried
    rows = engine.fetchall(
        """
        WITH RECURSIVE deps(oid, depth) AS (
            SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(%s)
               AND r.ev_class <> d.refobjid
            UNION
            SELECT r.ev_class, deps.depth + 1 FROM deps
              JOIN pg_depend d ON d.refobjid = deps.oid
              JOIN pg_rewrite r ON r.oid = d.objid
             WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> d.refobjid
        )
        SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid), max(deps.depth)
          FROM deps JOIN pg_class c ON c.oid = deps.oid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         GROUP BY n.nspname, c.relname, c.relkind, c.oid
         ORDER BY max(deps.depth)
        """,
        [target],
    )
    saved = []
    for schema, name, kind, definition, _ in rows:
        qualified = f"{quote_ident(schema, 'postgres')}.{quote_ident(name, 'postgres')}"
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        saved.append((qualified, f"CREATE {what} {qualified} AS {definition}"))
    return saved


def _create_indexes(engine: EngineAdapter, model: SqlModel, table: str) -> None:
    d = engine.dialect
    for entry in model.settings.indexes or []:
        columns = [entry] if isinstance(entry, str) else list(entry)
        digest = hashlib.sha256(f"{model.name}:{columns}".encode()).hexdigest()[:6]
        name = f"{model.table[:40]}_{'_'.join(columns)[:12]}_{digest}_idx"
        cols = ", ".join(quote_ident(c, d) for c in columns)
        engine.execute(f"CREATE INDEX {quote_ident(name, d)} ON {table} ({cols})")


def _require_incremental(model: SqlModel) -> Any:
    if model.settings.incremental is None:  # discovery refuses this; keeps mypy honest
        raise ConfigError(f"model {model.name} has no incremental: settings")
    return model.settings.incremental


def _incremental(
    engine: EngineAdapter, model: SqlModel, sql: str, watermark: Any, build: ModelBuild
) -> None:
    """Take the rows past the watermark into the existing table."""
    settings = _require_incremental(model)
    d = engine.dialect
    target = engine.quote_table(model.name)
    column = quote_ident(settings.time_column, d)
    low = lower_bound(watermark, settings.lookback, model)
    stage = quote_ident(f"{STAGING_PREFIX}stage_{build.run_id}", d)
    on_commit = " ON COMMIT DROP" if d == "postgres" else ""
    op = ">=" if settings.strategy == "delete_insert" or settings.lookback is not None else ">"
    params: list[Any] | None = None
    select = f"SELECT * FROM ({sql}) AS _hr_model"
    if low is not None:
        # psycopg reads % as a placeholder whenever parameters are passed: a model's own %
        # (LIKE 'a%', modulo) must be doubled then.
        body = sql.replace("%", "%%") if d == "postgres" else sql
        select = f"SELECT * FROM ({body}) AS _hr_model WHERE {column} {op} {load_state.ph(engine)}"
        params = [low]
    engine.execute(f"CREATE TEMP TABLE {stage}{on_commit} AS {select}", params)
    _evolve_columns(engine, model, target, stage)
    staged = int(engine.fetchall(f"SELECT count(*) FROM {stage}")[0][0])
    names = [c.name for c in engine.columns(target)]
    cols = ", ".join(quote_ident(n, d) for n in names)
    insert = f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage}"
    if settings.strategy == "append":
        build.action = "append"
        build.rows_written = engine.execute(insert)
    elif settings.strategy == "delete_insert":
        build.action = "delete_insert"
        if low is not None:
            build.rows_deleted = engine.execute(
                f"DELETE FROM {target} WHERE {column} >= {load_state.ph(engine)}", [low]
            )
        build.rows_written = engine.execute(insert)
    else:
        build.action = "merge"
        keys = [quote_ident(k, d) for k in model.settings.unique_key or []]
        latest = (
            f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {', '.join(keys)}"
            f" ORDER BY {column} DESC) AS _hr_rn FROM {stage}) AS _hr_ranked WHERE _hr_rn = 1"
        )
        match = " AND ".join(f"_hr_s.{k} = _hr_t.{k}" for k in keys)
        build.rows_deleted = engine.execute(
            f"DELETE FROM {target} AS _hr_t WHERE EXISTS"
            f" (SELECT 1 FROM {stage} AS _hr_s WHERE {match})"
        )
        build.rows_written = engine.execute(f"INSERT INTO {target} ({cols}) {latest}")
        build.rows_merged_away = staged - build.rows_written
    if d == "duckdb":
        engine.execute(f"DROP TABLE {stage}")


def _evolve_columns(engine: EngineAdapter, model: SqlModel, target: str, stage: str) -> None:
    """New columns of the model are added to the table; dropped or retyped ones need a
    full refresh (old rows cannot be recomputed incrementally)."""
    from headrace.schema import LogicalType

    old = {c.name: c.data_type for c in engine.columns(target)}
    # A temporary table is not in the catalog views columns() reads; its result is enough.
    shape = engine.fetch_arrow(f"SELECT * FROM {stage} LIMIT 0").schema
    new = {f.name: LogicalType.from_arrow(f.type).sql(engine.dialect) for f in shape}
    gone = [n for n in old if n not in new]
    if gone:
        raise TerminalError(
            f"model {model.name} no longer has column(s) {', '.join(gone)} that its"
            " incremental table holds",
            hint=f"rebuild it: headrace run {model.name} --full-refresh",
        )
    for name, kind in new.items():
        if name not in old:
            engine.execute(
                f"ALTER TABLE {target} ADD COLUMN {quote_ident(name, engine.dialect)} {kind}"
            )


def lower_bound(watermark: Any, lookback: float | str | None, model: SqlModel) -> Any:
    """The first ``time_column`` value to (re)take: the watermark less the lookback."""
    if watermark is None or lookback is None:
        return watermark
    from headrace.config.durations import parse_duration

    if isinstance(watermark, dt.date):
        seconds = parse_duration(lookback) if isinstance(lookback, str) else float(lookback)
        if isinstance(watermark, dt.datetime):
            return watermark - dt.timedelta(seconds=seconds)
        return watermark - dt.timedelta(days=int(seconds // 86400))
    if isinstance(lookback, str):
        raise ConfigError(
            f"model {model.name}: lookback {lookback!r} is a duration but"
            f" {_require_incremental(model).time_column} holds {type(watermark).__name__}s",
            file=str(model.path),
            hint="give lookback as a number of the column's units",
        )
    return watermark - type(watermark)(lookback)
