"""The Jinja2 environment: templates from the package, autoescaping always on, and the
filters that format numbers, durations, times and money the same way on every page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"


def templates() -> Jinja2Templates:
    """Templates with HTML escaping on for every file, and unknown names as errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=num, secs=secs, when=when, usd=usd, pct=pct, ago=ago, breakable=breakable
    )
    return Jinja2Templates(env=env)


def num(value: Any) -> str:
    """12345 -> 12,345; None -> an en dash."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def secs(value: Any) -> str:
    """A duration for people: 45 ms, 1.24 s, 3 min 05 s, 2 h 01 min, 3 d 4 h."""
    if value is None:
        return "–"
    seconds = float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(value: Any) -> str:
    """An ISO 8601 time as ``2026-01-31 14:05:09 UTC``."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: Any, now: dt.datetime | None = None) -> str:
    """How long before now an ISO 8601 time was: ``5 min ago``."""
    if not value:
        return "never"
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = ((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{secs(seconds).split(' ')[0]} {secs(seconds).split(' ')[1]} ago"


def usd(value: Any) -> str:
    """Dollars: $0.0012 below a cent, else $12.34."""
    if value is None:
        return "–"
    amount = float(value)
    if 0 < abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def pct(value: Any, digits: int = 1) -> str:
    """A percentage; None -> an en dash."""
    if value is None:
        return "–"
    return f"{float(value):.{digits}f}%"


def breakable(value: Any) -> Markup:
    """A dotted name that may wrap after each dot (``marts.<wbr>revenue``), escaped."""
    return Markup(".<wbr>").join(escape(part) for part in str(value).split("."))
