"""``_headrace.models``: what each model's last build used, so a run can skip what is current.

A table's *version* says whether its data may have changed: for a loaded table it is the
id of the last load that wrote rows into it; for a table or incremental model, the id of
its last build; for a view, a hash of its SQL and its inputs' versions (a view's data
changes whenever its inputs do). A build records its inputs' versions; when they and the
SQL are unchanged, there is nothing new to build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from headrace.load.state import STATE_SCHEMA, now, ph, placeholders, state_table

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter


@dataclass
class ModelState:
    """One row of ``_headrace.models``."""

    model: str
    sql_hash: str
    materialized: str
    version: str
    run_id: str
    columns: list[str] = field(default_factory=list)
    inputs: dict[str, str | None] = field(default_factory=dict)
    watermark: Any = None  # a Python value (datetime, date, int, ...) or None
    built_at: dt.datetime | None = None
    rows_written: int | None = None


def read_states(engine: EngineAdapter) -> dict[str, ModelState]:
    """Every model's recorded state."""
    rows = engine.fetchall(
        "SELECT model, sql_hash, materialized, version, run_id, columns, inputs, watermark,"
        f" built_at, rows_written FROM {state_table('models', engine.dialect)}"
    )
    return {
        r[0]: ModelState(
            model=r[0],
            sql_hash=r[1],
            materialized=r[2],
            version=r[3],
            run_id=r[4],
            columns=json.loads(r[5] or "[]"),
            inputs=json.loads(r[6] or "{}"),
            watermark=decode_value(r[7]),
            built_at=r[8],
            rows_written=r[9],
        )
        for r in rows
    }


def write_state(engine: EngineAdapter, state: ModelState) -> None:
    """Insert or replace a model's state (inside the build's transaction)."""
    table = state_table("models", engine.dialect)
    engine.execute(f"DELETE FROM {table} WHERE model = {ph(engine)}", [state.model])
    values = [
        state.model,
        state.sql_hash,
        state.materialized,
        json.dumps(state.columns),
        json.dumps(state.inputs, sort_keys=True),
        state.version,
        encode_value(state.watermark),
        state.run_id,
        state.built_at or now(),
        state.rows_written,
    ]
    engine.execute(f"INSERT INTO {table} VALUES ({placeholders(engine, len(values))})", values)


def load_versions(engine: EngineAdapter) -> dict[str, str]:
    """Loaded table -> id of the last succeeded load that wrote rows into it."""
    if engine.table_info(f"{STATE_SCHEMA}.runs") is None:
        return {}  # nothing was ever loaded here
    # The latest per table, chosen in the database: the run history only grows.
    rows = engine.fetchall(
        "SELECT target_table, run_id FROM (SELECT target_table, run_id, row_number() OVER"
        " (PARTITION BY target_table ORDER BY finished_at DESC) AS latest"
        f" FROM {state_table('runs', engine.dialect)}"
        " WHERE kind = 'load' AND status = 'succeeded' AND rows_loaded > 0) AS loads"
        " WHERE latest = 1"
    )
    versions: dict[str, str] = {}
    for table, run_id in rows:
        versions[normal_table(str(table))] = str(run_id)
    return versions


def view_version(sql_hash: str, inputs: dict[str, str | None]) -> str:
    """A view's version: changes with its SQL or with any input's version."""
    text = json.dumps([sql_hash, sorted(inputs.items(), key=lambda kv: kv[0])], default=str)
    return "v" + hashlib.sha256(text.encode()).hexdigest()[:16]


def normal_table(name: str) -> str:
    """``Raw.Orders`` and ``raw."orders"`` alike as ``raw.orders``."""
    return ".".join(part.strip('"').lower() for part in name.split("."))


def encode_value(value: Any) -> str | None:
    """A watermark as JSON that keeps its Python type."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return json.dumps({"datetime": value.isoformat()})
    if isinstance(value, dt.date):
        return json.dumps({"date": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"decimal": str(value)})
    if isinstance(value, int | float | str):
        return json.dumps({"value": value})
    return json.dumps({"value": str(value)})


def decode_value(text: str | None) -> Any:
    """The inverse of :func:`encode_value`."""
    if not text:
        return None
    data = json.loads(text)
    if "datetime" in data:
        return dt.datetime.fromisoformat(data["datetime"])
    if "date" in data:
        return dt.date.fromisoformat(data["date"])
    if "decimal" in data:
        return Decimal(data["decimal"])
    return data.get("value")
