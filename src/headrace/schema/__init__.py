"""headrace.schema: logical column types, declared table schemas and schema contracts."""

from __future__ import annotations

from headrace.schema.contract import Contract, ContractViolation, SchemaChange, reconcile
from headrace.schema.table import TableSchema, load_schema_file
from headrace.schema.types import LogicalType, can_widen

__all__ = [
    "Contract",
    "ContractViolation",
    "LogicalType",
    "SchemaChange",
    "TableSchema",
    "can_widen",
    "load_schema_file",
    "reconcile",
]
