"""Durations written by people: ``250ms``, ``30s``, ``5m``, ``1h``, ``1h30m`` or bare seconds."""

from __future__ import annotations

import re

# What a duration may look like, phrased to finish the sentence "expected ...".
DURATION_FORMS = "a number of seconds or a duration like 250ms, 30s, 5m, 1h"

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
# "ms" must come before "m" so that 250ms is not read as 250 minutes followed by "s".
_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_BARE = re.compile(_NUMBER)
_COMPOUND = re.compile(rf"(?:{_NUMBER}(?:ms|s|m|h|d))+")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``5m``, ``1h30m``, ``250ms`` or ``"90"``."""
    compact = text.strip()
    if _BARE.fullmatch(compact):
        return float(compact)
    # One space between number and unit ("30 s") is a common way of writing it.
    compact = re.sub(rf"^({_NUMBER})\s+(?=[a-z]+$)", r"\1", compact)
    if not _COMPOUND.fullmatch(compact):
        shown = repr(text) if text.strip() else "an empty string"
        raise ValueError(
            f"not a duration: {shown}; expected {DURATION_FORMS} "
            "(units: ms, s, m, h, d; combine as 1h30m)"
        )
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(compact))


__all__ = ["DURATION_FORMS", "parse_duration"]
