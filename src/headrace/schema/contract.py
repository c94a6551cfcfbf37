"""Schema contracts: what a load may do when the source's columns differ from the target's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from headrace.errors import HeadraceError
from headrace.schema.table import TableSchema
from headrace.schema.types import LogicalType, can_widen


class Contract(StrEnum):
    """``evolve`` adds new columns, ``freeze`` refuses any change, ``discard`` drops new ones."""

    EVOLVE = "evolve"
    FREEZE = "freeze"
    DISCARD = "discard"


class ContractViolation(HeadraceError):
    """The source's columns break the table's contract; nothing was loaded."""


@dataclass(frozen=True)
class SchemaChange:
    """How a source schema differs from the target and what the target becomes."""

    # In the source, not in the target.
    added: tuple[tuple[str, LogicalType], ...]
    # In the target, not in the source.
    missing: tuple[str, ...]
    # Dropped from the source by `discard`.
    discarded: tuple[str, ...]
    # (name, target type, source type) where the source type does not fit the target's.
    retyped: tuple[tuple[str, LogicalType, LogicalType], ...]
    # The target schema after applying the contract.
    result: TableSchema


def reconcile(
    target: TableSchema | None, source: TableSchema, contract: Contract, *, table: str
) -> SchemaChange:
    """Compare ``source`` with ``target`` under ``contract``; raise ContractViolation on freeze."""
    contract = Contract(contract)
    if target is None:
        return SchemaChange((), (), (), (), source)
    new = tuple((name, t) for name, t in source.columns if target.type_of(name) is None)
    missing = tuple(name for name in target.names if source.type_of(name) is None)
    # Type mismatches are not schema errors: values are cast per row and misfits quarantined.
    retyped = tuple(
        (name, old, new_type)
        for name, old in target.columns
        if (new_type := source.type_of(name)) is not None and not can_widen(old, new_type)
    )
    if contract is Contract.FREEZE and (new or missing):
        raise _freeze_violation(table, [name for name, _ in new], missing)
    if contract is Contract.EVOLVE:
        return SchemaChange(new, missing, (), retyped, target.with_columns(new))
    discarded = tuple(name for name, _ in new)
    return SchemaChange((), missing, discarded, retyped, target)


def _freeze_violation(table: str, new: Sequence[str], missing: Sequence[str]) -> ContractViolation:
    parts = []
    if new:
        parts.append(f"has new {_columns(new)}")
    if missing:
        parts.append(f"lacks {_columns(missing)}")
    if new and missing:
        hint = "--contract evolve adds the new columns and loads the missing ones as NULL"
    elif new:
        hint = "allowed by --contract evolve, or drop them with --contract discard"
    else:
        hint = "allowed by --contract evolve or discard, which load them as NULL"
    slips = [
        f"{old!r} vs {new_name!r}"
        for new_name in new
        for old in missing
        if old.lower() == new_name.lower()
    ]
    if slips:
        # A header's case changing upstream is the usual cause; say so instead of a bare list.
        hint = f"names compare exactly, and only the case differs: {', '.join(slips)}"
    return ContractViolation(
        f"contract 'freeze' on {table}: the source {' and '.join(parts)}",
        hint=hint,
        table=table,
        new_columns=list(new),
        missing_columns=list(missing),
    )


def _columns(names: Sequence[str]) -> str:
    noun = "column" if len(names) == 1 else "columns"
    return f"{noun} {', '.join(_show(name) for name in names)}"


def _show(name: str) -> str:
    # Plain identifiers read best bare; anything with spaces or commas needs quotes to parse.
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else repr(name)


__all__ = ["Contract", "ContractViolation", "SchemaChange", "reconcile"]
