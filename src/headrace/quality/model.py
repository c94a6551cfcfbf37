"""Normalised check definitions: what every front end (YAML, CLI, load-time) compiles to."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# Checks that judge single rows: they can also run at load time (failing rows quarantined).
ROW_LEVEL = frozenset({"not_null", "accepted_values", "range", "regex", "length"})
# Checks whose result is a count of invalid rows, so fail_if/warn_if on invalid_* apply.
COUNTING = ROW_LEVEL | {"unique", "relationships", "sql"}
# Checks with their own pass criterion (no fail_if/warn_if on invalid_*).
SELF_JUDGED = frozenset({"row_count", "freshness", "completeness", "schema", "anomaly"})
KINDS = COUNTING | SELF_JUDGED | {"metric"}

Severity = Literal["blocking", "non_blocking"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
}
_THRESHOLD = re.compile(
    r"^\s*(invalid_count|invalid_pct|value)\s*(>=|<=|==|!=|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*$"
)


@dataclass(frozen=True)
class Threshold:
    """``invalid_pct > 1`` and friends: when it holds, the check fails (or warns)."""

    metric: Literal["invalid_count", "invalid_pct", "value"]
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """Parse ``METRIC OP NUMBER``; ValueError with the accepted form otherwise."""
        match = _THRESHOLD.match(str(text))
        if match is None:
            raise ValueError(
                f"bad threshold {text!r}: write METRIC OP NUMBER with METRIC invalid_count, "
                "invalid_pct or value, e.g. 'invalid_pct > 1'"
            )
        metric, op, number = match.groups()
        return cls(metric, op, float(number))  # type: ignore[arg-type]

    def breached(
        self, invalid_count: float | None, invalid_pct: float | None, value: float | None
    ) -> bool:
        """Whether the observed figures cross this threshold."""
        observed = {"invalid_count": invalid_count, "invalid_pct": invalid_pct, "value": value}[
            self.metric
        ]
        return observed is not None and _OPS[self.op](float(observed), self.value)

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.metric} {self.op} {number}"


DEFAULT_FAIL = Threshold("invalid_count", ">", 0)


@dataclass(frozen=True)
class CheckDef:
    """One check on one table (column checks name their column).

    ``params`` by kind:
      not_null: {} · accepted_values: {"values": [...]} · range: {"min": n|None, "max": n|None}
      regex: {"pattern": str} · length: {"min": int|None, "max": int|None}
      unique: {} (columns in ``columns``) · relationships: {"table": str, "column": str}
      row_count: {"min": int|None, "max": int|None} · freshness: {"column": str,
      "max_age_s": float} · completeness: {"min_pct": float} · schema: {"columns":
      {name: type or None}} · sql: {"bad_rows": str} · metric: {"expression": str}
      anomaly: {"metric": "row_count"|"null_pct"|"distinct_count", "sensitivity": float,
      "window": int, "min_history": int}
    """

    table: str
    kind: str
    name: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    fail_if: Threshold | None = DEFAULT_FAIL
    warn_if: Threshold | None = None
    severity: Severity = "blocking"
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        """``file:line`` for messages (empty when the check was built in code)."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""
