"""Python transforms without a database: specs, resolution, reject() and the row contract."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import headrace
from headrace.config import load_config_text
from headrace.errors import ConfigError, TransientError, UsageError
from headrace.transform.python import (
    PythonTransform,
    TransformError,
    apply_transforms,
    parse_spec,
    resolve_transforms,
    try_transform,
)

SHOP = "tests.transforms_fixture.shop"


def orders() -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {"id": [1, 2, 3], "qty": [2, -1, 4], "price": [1.5, 3.0, 2.0], "status": ["a", "b", "c"]}
    )


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("shop.rules:clean", ("shop.rules", "clean")),
        ("rules:Cleaner.run", ("rules", "Cleaner.run")),
        (" rules:clean ", ("rules", "clean")),
    ],
)
def test_parse_spec(spec: str, parsed: tuple[str, str]) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["rules", "rules:", ":clean", "a-b:c", "rules:clean()", "a b:c"])
def test_parse_spec_rejects_other_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="package.module:function"):
        parse_spec(spec)


def test_config_checks_the_form_with_file_and_line() -> None:
    text = "pipelines:\n  p:\n    source: a.csv\n    table: t\n    transforms: [ok.mod:f, bad]\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, file="headrace.yml", env={})
    assert str(caught.value).startswith("headrace.yml:5:")
    assert "package.module:function" in str(caught.value)
    good = "pipelines:\n  p:\n    source: a.csv\n    table: t\n    transforms: [ok.mod:f]\n"
    assert load_config_text(good, file="headrace.yml", env={}).pipelines["p"].transforms == [
        "ok.mod:f"
    ]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
        (f"{SHOP}:nope", "has no attribute 'nope'"),
        (f"{SHOP}:not_a_function", "is not a function"),
        ("json:JSONDecodeError.nope", "has no attribute 'JSONDecodeError.nope'"),
    ],
)
def test_resolve_errors_name_pipeline_and_spec(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_transforms([spec], pipeline="orders")
    assert str(caught.value).startswith(f"pipeline 'orders': transform {spec!r}: ")
    assert fragment in str(caught.value)


def test_resolve_finds_functions() -> None:
    [transform] = resolve_transforms([f"{SHOP}:add_total"])
    assert transform.name == "add_total" and transform.reason == "transform:add_total"


def test_reject_quarantines_rows_with_positions() -> None:
    out, rejected = try_transform(_reject_negative, orders())
    assert out.column("id").to_pylist() == [1, 3]
    assert rejected.column("row_offset").to_pylist() == [2]
    assert rejected.column("reason").to_pylist() == ["transform:_reject_negative"]
    assert rejected.column("message").to_pylist() == ["negative"]
    assert rejected.column("column_name").to_pylist() == ["qty"]
    assert '"qty": -1' in rejected.column("raw")[0].as_py()


def _reject_negative(batch: pa.RecordBatch) -> pa.RecordBatch:
    return headrace.reject(batch, pc.less(batch["qty"], 0), "negative", column="qty")


def test_reject_twice_keeps_positions_straight() -> None:
    def twice(batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = headrace.reject(batch, [False, False, True], "third")
        return headrace.reject(batch, [True, None], "first")  # a null keeps the row

    out, rejected = try_transform(twice, orders())
    assert out.column("id").to_pylist() == [2]
    assert sorted(rejected.column("row_offset").to_pylist()) == [1, 3]


def test_reject_outside_a_transform_is_an_error() -> None:
    with pytest.raises(UsageError, match="outside a transform"):
        headrace.reject(orders(), [True, False, False], "x")


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [([True], "1 entries for 3 rows"), (["x", "y", "z"], "not booleans")],
)
def test_reject_checks_the_mask(mask: Any, fragment: str) -> None:
    def bad_mask(batch: pa.RecordBatch) -> pa.RecordBatch:
        return headrace.reject(batch, mask, "x")

    with pytest.raises(TransformError, match=fragment):
        try_transform(bad_mask, orders())


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (lambda b: b.slice(1), "returned 2 rows for 3 (0 rejected)"),
        (lambda b: pa.concat_tables([pa.table(b), pa.table(b)]), "cannot add rows"),
        (lambda b: None, "returned NoneType"),
        (lambda b: b.append_column("_hr_x", b["id"]), "'_hr_x'"),
        (lambda b: 1 / 0, "ZeroDivisionError: division by zero"),
    ],
)
def test_contract_violations_name_the_function_and_rows(function: Any, fragment: str) -> None:
    transform = PythonTransform("rules:f", function)
    positions = pa.array([10, 11, 12], pa.int64())
    with pytest.raises(TransformError) as caught:
        apply_transforms([transform], orders(), positions, lambda p: f"f.csv rows {p[0]}-{p[-1]}")
    assert "transform rules:f" in str(caught.value) and "f.csv rows 10-12" in str(caught.value)
    assert fragment in str(caught.value)


def test_a_table_is_accepted_and_columns_may_change() -> None:
    out, rejected = try_transform(
        lambda b: pa.table({"key": b["id"], "double": pc.multiply(b["qty"], 2)}), orders()
    )
    assert out.schema.names == ["key", "double"] and rejected.num_rows == 0


def test_transient_errors_stay_transient() -> None:
    def flaky(batch: pa.RecordBatch) -> pa.RecordBatch:
        raise TransientError("lookup service unavailable")

    with pytest.raises(TransientError, match="lookup service unavailable"):
        try_transform(flaky, orders())


def test_public_api() -> None:
    assert "reject" in headrace.__all__ and "TransformError" in headrace.__all__
