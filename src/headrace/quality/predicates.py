"""Row-level checks as SQL conditions that are true for an INVALID value.

One builder serves three uses: the aggregate scan (values bound as parameters), the SQL
shown to users to fetch failing rows (values as sqlglot-quoted literals, so it runs as
printed), and load-time checks inside the DuckDB scan (literals too: that SQL is
assembled from many fragments where positional parameters cannot be kept in order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from headrace.quality.model import CheckDef

Style = Literal["params", "literal"]


def placeholder(dialect: str) -> str:
    """The engine's positional placeholder."""
    return "%s" if dialect == "postgres" else "?"


def literal(value: Any, dialect: str) -> str:
    """A constant rendered by sqlglot (strings quoted and escaped per dialect)."""
    from sqlglot import exp

    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(exp.Literal.number(value).sql(dialect=dialect))
    return str(exp.Literal.string(str(value)).sql(dialect=dialect))


class _Values:
    """Collects values as parameters or renders them as literals, in SQL order."""

    def __init__(self, dialect: str, style: Style) -> None:
        self.dialect, self.style = dialect, style
        self.params: list[Any] = []

    def __call__(self, value: Any) -> str:
        if self.style == "literal":
            return literal(value, self.dialect)
        self.params.append(value)
        return placeholder(self.dialect)


def invalid_condition(
    check: CheckDef, value: str, dialect: str, style: Style = "params"
) -> tuple[str, list[Any]]:
    """``(condition, params)``: the condition holds when ``value`` fails ``check``."""
    v = _Values(dialect, style)
    p = check.params
    if check.kind == "not_null":
        sql = f"{value} IS NULL"
    elif check.kind == "accepted_values":
        listed = ", ".join(v(x) for x in p["values"])
        sql = f"{value} IS NOT NULL AND {value} NOT IN ({listed})"
    elif check.kind == "range":
        parts = []
        if p.get("min") is not None:
            parts.append(f"{value} < {v(p['min'])}")
        if p.get("max") is not None:
            parts.append(f"{value} > {v(p['max'])}")
        sql = f"{value} IS NOT NULL AND ({' OR '.join(parts)})"
    elif check.kind == "regex":
        text = f"CAST({value} AS {'text' if dialect == 'postgres' else 'VARCHAR'})"
        pattern = v(p["pattern"])
        matches = (
            f"{text} ~ {pattern}"
            if dialect == "postgres"
            else (f"regexp_matches({text}, {pattern})")
        )
        sql = f"{value} IS NOT NULL AND NOT ({matches})"
    elif check.kind == "length":
        size = f"length(CAST({value} AS {'text' if dialect == 'postgres' else 'VARCHAR'}))"
        parts = []
        if p.get("min") is not None:
            parts.append(f"{size} < {v(p['min'])}")
        if p.get("max") is not None:
            parts.append(f"{size} > {v(p['max'])}")
        sql = f"{value} IS NOT NULL AND ({' OR '.join(parts)})"
    else:
        raise ValueError(f"{check.kind} is not a row-level check")
    return sql, v.params
