"""The quality pass-rate trend: for each stored check run, the share of checks that passed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.load import state

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter


def check_runs(engine: EngineAdapter, since_s: float) -> list[dict[str, Any]]:
    """Check runs started within ``since_s`` seconds, oldest first: checks, passed, rate."""
    from headrace.observe.runs import cutoff, iso, utc

    if engine.table_info(f"{state.STATE_SCHEMA}.check_results") is None:
        return []
    rows = engine.fetchall(
        "SELECT run_id, min(checked_at), count(*),"
        " sum(CASE WHEN status = 'pass' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN status = 'fail' THEN 1 ELSE 0 END)"
        f" FROM {state.state_table('check_results', engine.dialect)}"
        f" WHERE checked_at >= {state.ph(engine)} GROUP BY run_id ORDER BY 2, 1",
        [cutoff(since_s)],
    )
    return [
        {
            "run_id": str(run_id),
            "checked_at": iso(utc(at)),
            "checks": int(total),
            "passed": int(passed or 0),
            "failed": int(failed or 0),
            "pass_rate": round(100.0 * int(passed or 0) / int(total), 2) if total else None,
        }
        for run_id, at, total, passed, failed in rows
    ]
