"""Chart data in uPlot's shape (one ascending x array, one y array per series, ``None``
for a gap) and the summaries shown as text under each chart."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
)
STATUS_COLOURS = {"succeeded": "#1a7f37", "failed": "#cf222e", "other": "#9a6700"}


def epoch(text: str | None) -> float | None:
    """An ISO 8601 timestamp as seconds since the epoch (uPlot's time axis)."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return round(value.timestamp(), 3)


def timeline(runs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Runs as points: x start time, y duration, one series per status group."""
    ordered = sorted(
        (r for r in runs if epoch(r.get("started_at")) is not None),
        key=lambda r: epoch(r["started_at"]) or 0.0,
    )
    groups = list(STATUS_COLOURS)
    x = [epoch(r["started_at"]) for r in ordered]
    series = []
    for group in groups:
        values = [
            r.get("seconds") if _status_group(str(r.get("status"))) == group else None
            for r in ordered
        ]
        series.append({"name": group, "colour": STATUS_COLOURS[group], "values": values})
    return {"x": x, "series": series, "run_ids": [r["run_id"] for r in ordered]}


def _status_group(status: str) -> str:
    return status if status in ("succeeded", "failed") else "other"


def trend(steps: Iterable[dict[str, Any]], field: str) -> dict[str, Any]:
    """One line per pipeline or model of ``field`` (``seconds``, ``rows_loaded``) over time."""
    points: dict[str, dict[float, float]] = {}
    for step in steps:
        at, value = epoch(step.get("started_at")), step.get(field)
        if at is None or value is None or step.get("kind") not in ("load", "model"):
            continue
        points.setdefault(str(step.get("pipeline") or step.get("step")), {})[at] = float(value)
    x = sorted({at for by_time in points.values() for at in by_time})
    series = [
        {
            "name": name,
            "colour": PALETTE[i % len(PALETTE)],
            "values": [points[name].get(at) for at in x],
        }
        for i, name in enumerate(sorted(points))
    ]
    return {"x": x, "series": series}


def trend_summary(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """Per series: how many points, the latest, the median, the lowest and highest."""
    rows = []
    for series in chart["series"]:
        values = [v for v in series["values"] if v is not None]
        if not values:
            continue
        rows.append(
            {
                "name": series["name"],
                "colour": series["colour"],
                "count": len(values),
                "latest": values[-1],
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
        )
    return rows


def quality(check_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pass-rate line: x check time, y % of checks that passed."""
    kept = [c for c in check_runs if epoch(c.get("checked_at")) is not None]
    return {
        "x": [epoch(c["checked_at"]) for c in kept],
        "series": [
            {
                "name": "pass rate %",
                "colour": PALETTE[2],
                "values": [c.get("pass_rate") for c in kept],
            }
        ],
    }
