"""Turn CLI flags or pipeline YAML into a LoadRequest, with one clear error per mistake."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.errors import UsageError
from headrace.load.model import Incremental, LoadRequest, SqlSource, WriteMode

if TYPE_CHECKING:
    from headrace.transform.python import PythonTransform


def _choice(value: str, allowed: list[str], what: str) -> str:
    if value not in allowed:
        raise UsageError(f"unknown {what} {value!r}", hint=f"use one of: {', '.join(allowed)}")
    return value


def build_request(
    *,
    source: str,
    table: str,
    fmt: str | None = None,
    schema_file: Path | None = None,
    schema: dict[str, Any] | None = None,
    write: str = "append",
    key: str | list[str] | None = None,
    incremental: str | None = None,
    contract: str = "evolve",
    query: str | None = None,
    source_table: str | None = None,
    csv: dict[str, Any] | None = None,
    pipeline: str | None = None,
    checks_file: Path | None = None,
    transforms: Sequence[str] = (),
    transform_roots: Sequence[Path] = (),
) -> LoadRequest:
    """Validate and assemble one load request; transforms are imported from
    ``transform_roots`` (the project root) so a bad spec fails before anything runs."""
    from headrace.schema import Contract, TableSchema, load_schema_file

    mode = WriteMode(_choice(write, [m.value for m in WriteMode], "write mode"))
    agreement = Contract(_choice(contract, [c.value for c in Contract], "contract"))
    declared = load_schema_file(schema_file) if schema_file else None
    if schema is not None:
        try:
            declared = TableSchema.from_dict(schema)
        except ValueError as exc:
            raise UsageError(f"pipeline {pipeline or ''} schema: {exc}") from None
    keys = (
        tuple(k.strip() for k in key.split(",") if k.strip())
        if isinstance(key, str)
        else (tuple(key or ()))
    )
    if keys and mode is not WriteMode.MERGE:
        raise UsageError("--key only applies to --write merge")
    if query and source_table:
        raise UsageError("give --query or --source-table, not both")
    loaded_from: str | SqlSource = source
    if query or source_table:
        loaded_from = SqlSource(url=source, table=source_table, query=query)
    elif "://" in source:
        raise UsageError(
            f"{source!r} is a connection, not a file",
            hint="add --source-table NAME or --query 'SELECT ...' to read from it",
        )
    tracking = Incremental.parse(incremental) if incremental else None
    if (
        tracking is not None
        and tracking.kind == "cursor"
        and not isinstance(loaded_from, SqlSource)
    ):
        raise UsageError(
            f"--incremental {incremental} reads a table or query; {source!r} is files",
            hint="for files use --incremental files (skips files already loaded)",
        )
    options = {k: v for k, v in (csv or {}).items() if v is not None}
    if fmt is not None and fmt not in ("csv", "tsv", "ndjson", "jsonl", "parquet"):
        raise UsageError(f"unknown format {fmt!r}", hint="use csv, tsv, ndjson or parquet")
    row_checks = []
    if checks_file is not None:
        from headrace.quality.spec import load_check_file

        row_checks = load_check_file(checks_file)
    resolved: tuple[PythonTransform, ...] = ()
    if transforms:
        from headrace.transform.python import resolve_transforms

        resolved = resolve_transforms(transforms, roots=transform_roots, pipeline=pipeline)
    return LoadRequest(
        source=loaded_from,
        table=table,
        format=fmt,
        csv_options=options,
        schema=declared,
        write=mode,
        key=keys,
        incremental=tracking,
        contract=agreement,
        pipeline=pipeline,
        row_checks=row_checks,
        transforms=resolved,
    )
