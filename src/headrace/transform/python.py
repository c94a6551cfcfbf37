"""Python transforms (ETL): functions applied to each Arrow record batch between extract and
load, in the order a pipeline lists them (``transforms: [package.module:function]``).

A transform is ``def f(batch: pyarrow.RecordBatch) -> pyarrow.RecordBatch``. It may add,
drop, rename or retype columns (its output is what gets loaded, under the table's
contract), but it returns every row it was given except the rows it hands to quarantine
with :func:`reject`: a load must prove rows_read = rows_loaded + rows_quarantined, so a row
that vanishes without a trace fails the load instead.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError, TransientError, UsageError, first_line

if TYPE_CHECKING:
    import pyarrow as pa

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SPEC_PATTERN = re.compile(rf"^({_NAME}(?:\.{_NAME})*):({_NAME}(?:\.{_NAME})*)$")
SPEC_FORM = "package.module:function"
# Columns headrace adds to batches on their way to the target; a transform may not use them.
RESERVED_PREFIX = "_hr_"


class TransformError(HeadraceError):
    """A transform raised, or broke its contract (wrong return type, rows lost).

    A bug in user code: retrying the same batch fails the same way, so it is not retried.
    """


def parse_spec(spec: str) -> tuple[str, str]:
    """``package.module:function`` -> (module, function); ValueError for any other form."""
    match = SPEC_PATTERN.match(spec.strip()) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"expected {SPEC_FORM}, got {spec!r}")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class PythonTransform:
    """One resolved transform: the spec as written and the function it names."""

    spec: str
    function: Callable[[Any], Any] = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        """The function part of the spec (``clean`` in ``shop.rules:clean``)."""
        return self.spec.partition(":")[2]

    @property
    def reason(self) -> str:
        """The quarantine reason code of the rows it rejects."""
        return f"transform:{self.name}"


def resolve_transforms(
    specs: Sequence[str], *, roots: Sequence[Path] = (), pipeline: str | None = None
) -> tuple[PythonTransform, ...]:
    """Import the functions named by ``specs``; one clear UsageError per mistake."""
    return tuple(_resolve(spec.strip(), roots, pipeline) for spec in specs)


def _resolve(spec: str, roots: Sequence[Path], pipeline: str | None) -> PythonTransform:
    who = f"pipeline {pipeline!r}: transform {spec!r}" if pipeline else f"--transform {spec!r}"
    try:
        module_name, attribute = parse_spec(spec)
    except ValueError as exc:
        raise UsageError(f"{who}: {exc}", hint="e.g. shop.rules:clean_orders") from None
    where = ", ".join(str(r) for r in roots) or "sys.path"
    module = _import(module_name, roots, who, where)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            known = sorted(
                n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
            )
            raise UsageError(
                f"{who}: module {module_name!r} has no attribute {attribute!r}",
                hint=f"functions in {module_name}: {', '.join(known) or 'none'}",
            )
        target = getattr(target, part)
    if not callable(target):
        raise UsageError(
            f"{who}: {attribute!r} is not a function (its type is {type(target).__name__})",
            hint="name a function that takes a pyarrow.RecordBatch and returns one",
        )
    import inspect

    try:
        inspect.signature(target).bind(None)
    except TypeError:
        raise UsageError(
            f"{who}: {attribute} cannot be called with one argument (the batch)",
            hint="define it as def f(batch: pyarrow.RecordBatch) -> pyarrow.RecordBatch",
        ) from None
    except ValueError:
        pass  # no signature to inspect (a builtin): find out when it is called
    return PythonTransform(spec, target)


def _import(module_name: str, roots: Sequence[Path], who: str, where: str) -> Any:
    """Import with the project root first on sys.path (as dbt and Dagster load user code),
    and only while importing: the process's path is left as it was."""
    added = [str(r) for r in roots if str(r) not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()  # modules written since the last import must be found
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(f"{missing}.")):
            path = module_name.replace(".", "/")
            raise UsageError(
                f"{who}: no module named {module_name!r}",
                hint=f"put {path}.py under {where}, or install the package",
            ) from None
        raise UsageError(
            f"{who}: importing {module_name} failed: {first_line(exc)}",
            hint=f"install {missing or 'the missing package'} into headrace's environment",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any error in user code is reported as one line
        at = ""
        if isinstance(exc, SyntaxError) and exc.filename:
            at = f" ({exc.filename}:{exc.lineno})"
        raise UsageError(
            f"{who}: importing {module_name} failed: {type(exc).__name__}: {first_line(exc)}{at}",
            hint="fix the module; rerun with --debug for the traceback",
        ) from exc
    finally:
        for path in added:
            try:
                sys.path.remove(path)
            except ValueError:
                pass  # the imported module removed it itself


# -- running ----------------------------------------------------------------------------


@dataclass
class _Active:
    """The transform being called, and the source positions of the rows it still holds."""

    transform: PythonTransform
    positions: pa.Array
    rejected: list[pa.Table]


# Set around each call so that reject() needs no context argument from the user.
_ACTIVE: ContextVar[_Active | None] = ContextVar("headrace_transform", default=None)


def reject(batch: Any, mask: Any, reason: str, *, column: str | None = None) -> Any:
    """Send the rows of ``batch`` where ``mask`` is true to quarantine; return the others.

    ``batch`` is the batch the transform received, or one derived from it row for row
    (columns added or changed, rows in the same order). ``mask`` is a boolean Arrow array,
    list or NumPy array with one entry per row; a null entry keeps the row. The rows land
    in ``_headrace.quarantine`` with reason ``transform:<function>``, ``reason`` as the
    message, their source position and the row as JSON, and count as quarantined.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    active = _ACTIVE.get()
    if active is None:
        raise UsageError(
            "headrace.reject() was called outside a transform that headrace runs",
            hint="call it inside a function listed in transforms: or given with --transform",
        )
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError("headrace.reject() needs a reason: a short text saying what is wrong")
    if not isinstance(batch, pa.RecordBatch | pa.Table):
        raise UsageError(f"headrace.reject() takes a pyarrow.RecordBatch, not {type(batch)}")
    held = len(active.positions)
    if batch.num_rows != held:
        raise UsageError(
            f"headrace.reject() got a batch of {batch.num_rows} rows, but the transform holds"
            f" {held}",
            hint="pass the batch the transform received, or one derived from it row for row",
        )
    flags = _mask(mask, held)
    if not pc.any(flags).as_py():
        return batch
    bad = batch.filter(flags)
    n = bad.num_rows
    active.rejected.append(
        pa.table(
            {
                "line": pa.nulls(n, pa.int64()),
                "row_offset": active.positions.filter(flags),
                "column_name": pa.array([column] * n, pa.string()),
                "reason": pa.array([active.transform.reason] * n, pa.string()),
                "message": pa.array([reason.strip()] * n, pa.string()),
                "raw": pa.array([_json(row) for row in bad.to_pylist()], pa.string()),
            }
        )
    )
    keep = pc.invert(flags)
    active.positions = active.positions.filter(keep)
    return batch.filter(keep)


def _mask(mask: Any, rows: int) -> pa.Array:
    import pyarrow as pa

    try:
        if isinstance(mask, pa.ChunkedArray):
            mask = mask.combine_chunks()
        array = mask if isinstance(mask, pa.Array) else pa.array(mask, pa.bool_())
        if not pa.types.is_boolean(array.type):
            array = array.cast(pa.bool_())
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise UsageError(f"headrace.reject(): the mask is not booleans ({exc})") from None
    if len(array) != rows:
        raise UsageError(f"headrace.reject(): the mask has {len(array)} entries for {rows} rows")
    return array.fill_null(False)


def _json(row: dict[str, Any]) -> str:
    return json.dumps(row, default=_json_value, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)  # Decimal, timedelta, ...: their text casts back


@dataclass
class TransformOutput:
    """What a chain of transforms made of one batch."""

    batch: pa.RecordBatch
    positions: pa.Array  # the source position of each output row
    rejected: list[pa.Table]  # quarantine rows: line, row_offset, column_name, reason, ...


def apply_transforms(
    transforms: Sequence[PythonTransform],
    batch: pa.RecordBatch,
    positions: pa.Array,
    where: Callable[[pa.Array], str],
) -> TransformOutput:
    """Run ``transforms`` in order over one batch; ``where(positions)`` names rows in errors."""
    rejected: list[pa.Table] = []
    for transform in transforms:
        active = _Active(transform, positions, [])
        token = _ACTIVE.set(active)
        try:
            returned = transform.function(batch)
        except TransientError as exc:
            # The function said so itself (a lookup service was unavailable): retry the load.
            raise TransientError(
                f"transform {transform.spec} on {where(positions)}: {exc.message}",
                hint=exc.hint,
            ) from exc
        except Exception as exc:  # noqa: BLE001 - user code: one line naming function and rows
            raise TransformError(
                f"transform {transform.spec} failed on {where(positions)}:"
                f" {type(exc).__name__}: {first_line(exc)}",
                hint="fix the function and run again; nothing was loaded; --debug shows the"
                " traceback",
                function=transform.spec,
                source=where(positions),
            ) from exc
        finally:
            _ACTIVE.reset(token)
        batch = _checked(transform, returned, batch.num_rows, active, where(positions))
        positions = active.positions
        rejected.extend(active.rejected)
    return TransformOutput(batch, positions, rejected)


def _checked(
    transform: PythonTransform, returned: Any, rows_in: int, active: _Active, where: str
) -> pa.RecordBatch:
    """The function's output as a RecordBatch, with every row accounted for."""
    import pyarrow as pa

    def fail(problem: str, hint: str) -> TransformError:
        return TransformError(
            f"transform {transform.spec} {problem} on {where}",
            hint=hint,
            function=transform.spec,
            source=where,
        )

    if isinstance(returned, pa.Table):
        chunks = returned.combine_chunks().to_batches()
        returned = chunks[0] if chunks else pa.RecordBatch.from_pylist([], schema=returned.schema)
    if not isinstance(returned, pa.RecordBatch):
        raise fail(
            f"returned {type(returned).__name__}, not a pyarrow.RecordBatch",
            "return the batch; a pyarrow.Table is accepted too",
        )
    rejected = sum(t.num_rows for t in active.rejected)
    expected = rows_in - rejected
    if returned.num_rows != expected:
        if returned.num_rows < expected:
            hint = (
                "a transform returns every row it does not reject: rows are never dropped"
                " silently; send them to quarantine with headrace.reject(batch, mask, reason=...)"
            )
        elif rejected:
            hint = "return the batch headrace.reject() returned, without the rejected rows"
        else:
            hint = "a transform returns one row for each row it receives; it cannot add rows"
        raise fail(f"returned {returned.num_rows} rows for {rows_in} ({rejected} rejected)", hint)
    names = returned.schema.names
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if reserved:
        raise fail(
            f"returned column {reserved[0]!r}",
            f"names starting with {RESERVED_PREFIX} are headrace's own; rename it",
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise fail(f"returned column {twice!r} twice", "give each column one name")
    return returned


def try_transform(
    function: Callable[[Any], Any], batch: pa.RecordBatch
) -> tuple[pa.RecordBatch, pa.Table]:
    """Run one function as a load would: (output batch, rejected rows) — for unit tests."""
    import pyarrow as pa

    transform = PythonTransform(f"{function.__module__}:{function.__qualname__}", function)
    positions = pa.array(range(1, batch.num_rows + 1), pa.int64())
    out = apply_transforms([transform], batch, positions, lambda p: f"rows 1-{batch.num_rows}")
    schema = pa.schema(
        [
            ("line", pa.int64()),
            ("row_offset", pa.int64()),
            ("column_name", pa.string()),
            ("reason", pa.string()),
            ("message", pa.string()),
            ("raw", pa.string()),
        ]
    )
    rejected = pa.concat_tables(out.rejected) if out.rejected else schema.empty_table()
    return out.batch, rejected
