"""Hostile files end in a correct load, a quarantined row with a reason, or one clear error.

Every case of tests/hostile.py runs on DuckDB (rows never leave the engine) and on
PostgreSQL (parsed by a scratch DuckDB, streamed through COPY).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace.engines.registry import create_engine
from headrace.errors import HeadraceError
from headrace.load.options import build_request
from headrace.load.runner import run_load
from tests.hostile import HostileCase, write_hostile_files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileCase]:
    return write_hostile_files(tmp_path_factory.mktemp("hostile"))


def _case_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return sorted(write_hostile_files(Path(tmp)))


@pytest.mark.parametrize("name", _case_names())
def test_hostile_file(
    name: str, corpus: dict[str, HostileCase], engine_url: str, tmp_path: Path
) -> None:
    case = corpus[name]
    schema_file = None
    if case.schema is not None:
        schema_file = tmp_path / "schema.json"
        schema_file.write_text(json.dumps(case.schema))
    request = build_request(
        source=str(case.path),
        table="hostile.t",
        fmt=case.format,
        schema_file=schema_file,
        csv=dict(case.options),
    )
    with create_engine(engine_url) as engine:
        if case.expect_error:
            with pytest.raises(HeadraceError) as info:
                run_load(engine, request)
            message = str(info.value)
            assert case.expect_error.lower() in message.lower(), message
            assert "\n" not in message
            assert not engine.table_exists("hostile.t")
            rows = engine.fetchall("SELECT count(*) FROM _headrace.quarantine")
            assert rows == [(0,)]
            return
        result = run_load(engine, request)
        expected = (case.expect_loaded, case.expect_quarantined)
        if name == "nul_byte" and engine.dialect == "postgres":
            # PostgreSQL text cannot hold NUL: that row is quarantined there (reason nul_byte).
            expected = (expected[0] - 1, expected[1] + 1)
        assert (result.rows_loaded, result.rows_quarantined) == expected, case.reasons
        assert result.rows_read == result.rows_loaded + result.rows_quarantined
        if case.expect_loaded or case.schema is not None:
            count = engine.fetchall("SELECT count(*) FROM hostile.t")[0][0]
            assert count == expected[0]
        reasons = engine.fetchall(
            "SELECT reason, message FROM _headrace.quarantine WHERE run_id = "
            + ("%s" if engine.dialect == "postgres" else "?"),
            [result.run_id],
        )
        assert len(reasons) == expected[1]
        assert all(r and m for r, m in reasons)
