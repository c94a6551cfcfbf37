"""Write modes, incremental state, contracts, SQL sources, replay and crash safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace.engines.base import EngineAdapter
from headrace.engines.registry import create_engine
from headrace.errors import HeadraceError, UsageError
from headrace.load import state
from headrace.load.options import build_request
from headrace.load.quarantine import replay, show_quarantine
from headrace.load.runner import run_load
from headrace.schema import ContractViolation


def ph(engine: EngineAdapter) -> str:
    return "%s" if engine.dialect == "postgres" else "?"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def rows(engine: EngineAdapter, sql: str) -> list[tuple[object, ...]]:
    return sorted(engine.fetchall(sql), key=repr)


def test_replace_swaps_whole_table(engine: EngineAdapter, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "id,name\n1,a\n2,b\n")
    second = write(tmp_path / "b.csv", "id,name\n3,c\n")
    run_load(engine, build_request(source=str(first), table="s.t"))
    result = run_load(engine, build_request(source=str(second), table="s.t", write="replace"))
    assert result.rows_loaded == 1
    assert rows(engine, "SELECT id, name FROM s.t") == [(3, "c")]
    assert not [t for t in engine.list_tables("s") if t.name.startswith("__hr_")]


def test_merge_keeps_last_occurrence_and_counts_merged_away(
    engine: EngineAdapter, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.csv", "id,name\n1,a\n2,b\n")
    run_load(engine, build_request(source=str(first), table="t", write="merge", key="id"))
    second = write(tmp_path / "b.csv", "id,name\n2,B1\n3,c\n2,B2\n")
    result = run_load(engine, build_request(source=str(second), table="t", write="merge", key="id"))
    assert (result.rows_read, result.rows_loaded, result.rows_merged_away) == (3, 2, 1)
    assert rows(engine, "SELECT id, name FROM t") == [(1, "a"), (2, "B2"), (3, "c")]


def test_merge_without_key_is_usage_error(engine: EngineAdapter, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "id\n1\n")
    with pytest.raises(UsageError):
        run_load(engine, build_request(source=str(source), table="t", write="merge"))


def test_incremental_files_skip_loaded_files(engine: EngineAdapter, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "1.csv", "id\n1\n2\n")
    request = dict(source=str(folder), table="t", incremental="files")
    assert run_load(engine, build_request(**request)).rows_loaded == 2
    write(folder / "2.csv", "id\n3\n")
    again = run_load(engine, build_request(**request))
    assert (again.rows_loaded, again.files_skipped, again.files_loaded) == (1, 1, 1)
    (folder / "1.csv").touch()  # same content, new mtime: still skipped (content hash)
    third = run_load(engine, build_request(**request))
    assert (third.rows_loaded, third.files_skipped) == (0, 2)
    assert rows(engine, "SELECT count(*) FROM t") == [(3,)]


def test_crash_before_commit_leaves_nothing_and_rerun_is_clean(
    engine_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "a.csv", "id,v\n1,x\n2,\n3,z\n")
    request = dict(source=str(source), table="t", incremental="files")
    real = state.write_run

    def crash(engine: EngineAdapter, run: state.RunRecord) -> None:
        if run.status == "succeeded":
            raise RuntimeError("power cut")
        real(engine, run)

    with create_engine(engine_url) as engine:
        monkeypatch.setattr(state, "write_run", crash)
        with pytest.raises(RuntimeError):
            run_load(engine, build_request(**request))
        monkeypatch.setattr(state, "write_run", real)
        assert not engine.table_exists("t")
        assert (
            state.ingested_files(engine, "main.t" if engine.dialect == "duckdb" else "public.t")
            == []
        )
        failed = engine.fetchall("SELECT status FROM _headrace.runs")
        assert failed == [("failed",)]
        result = run_load(engine, build_request(**request))
        assert result.rows_loaded == 3
        assert rows(engine, "SELECT count(*) FROM t") == [(3,)]


def test_contracts(engine: EngineAdapter, tmp_path: Path) -> None:
    run_load(engine, build_request(source=str(write(tmp_path / "a.csv", "id\n1\n")), table="t"))
    wider = write(tmp_path / "b.csv", "id,extra\n2,x\n")
    with pytest.raises(ContractViolation) as info:
        run_load(engine, build_request(source=str(wider), table="t", contract="freeze"))
    assert "extra" in str(info.value)
    discarded = run_load(engine, build_request(source=str(wider), table="t", contract="discard"))
    assert discarded.columns_discarded == ["extra"]
    assert [c.name for c in engine.columns("t")] == ["id"]
    evolved = run_load(engine, build_request(source=str(wider), table="t", contract="evolve"))
    assert evolved.columns_added == ["extra"]
    assert rows(engine, "SELECT id, extra FROM t") == [(1, None), (2, "x"), (2, None)]


def test_declared_schema_types_and_required(engine: EngineAdapter, tmp_path: Path) -> None:
    schema = write(
        tmp_path / "s.yml",
        "columns: {id: int32, amount: 'decimal(8,2)', day: date, note: text}\n"
        "primary_key: [id]\nnot_null: [note]\n",
    )
    data = write(
        tmp_path / "a.csv",
        "id,amount,day,note\n1,1.50,2024-01-01,a\n,2,2024-01-02,b\n3,abc,2024-01-03,c\n"
        "4,4,2024-02-30,d\n5,5,2024-01-05,\n6,6,2024-01-06,f\n",
    )
    result = run_load(engine, build_request(source=str(data), table="t", schema_file=schema))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    reasons = rows(engine, "SELECT reason, column_name FROM _headrace.quarantine")
    assert ("missing_required", "id") in reasons
    assert ("invalid_value", "amount") in reasons
    assert ("invalid_value", "day") in reasons
    assert any(r[0] == "missing_required" and r[1] in (None, "note") for r in reasons)
    types = {c.name: c.data_type.lower() for c in engine.columns("t")}
    assert "int" in types["id"] and ("decimal" in types["amount"] or "numeric" in types["amount"])


def test_ndjson_and_parquet(engine: EngineAdapter, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = write(tmp_path / "a.ndjson", '{"id": 1, "v": "a"}\n{"id": "two"}\n{oops\n\n{"id": 3}\n')
    result = run_load(
        engine,
        build_request(
            source=str(lines),
            table="j",
            schema={"columns": {"id": "int64", "v": "text"}},
        ),
    )
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    pq.write_table(pa.table({"id": [1, 2], "v": ["x", "y"]}), tmp_path / "p.parquet")
    result = run_load(engine, build_request(source=str(tmp_path / "p.parquet"), table="j"))
    assert result.rows_loaded == 2
    assert rows(engine, "SELECT count(*) FROM j") == [(4,)]


def test_quarantine_replay_loads_fixed_rows_exactly_once(
    engine: EngineAdapter, tmp_path: Path
) -> None:
    strict = write(tmp_path / "s.yml", "columns: {id: int64, code: int64}\n")
    data = write(tmp_path / "a.csv", "id,code\n1,10\n2,A7\n3,B8\n")
    first = run_load(engine, build_request(source=str(data), table="t", schema_file=strict))
    assert first.rows_quarantined == 2
    shown = show_quarantine(engine, first.run_id)
    assert [(r["line"], r["raw"]) for r in shown] == [(3, "2,A7"), (4, "3,B8")]
    # The fix: the column really holds codes, not numbers.
    engine.execute("ALTER TABLE t ALTER COLUMN code TYPE text")
    replayed = replay(engine, first.run_id)
    assert [(r.rows_read, r.rows_loaded, r.rows_quarantined) for r in replayed] == [(2, 2, 0)]
    assert rows(engine, "SELECT id, code FROM t") == [(1, "10"), (2, "A7"), (3, "B8")]
    marked = engine.fetchall(
        f"SELECT count(replayed_by) FROM _headrace.quarantine WHERE run_id = {ph(engine)}",
        [first.run_id],
    )
    assert marked == [(2,)]
    with pytest.raises(UsageError):
        replay(engine, first.run_id)  # nothing left: replaying twice cannot double rows


def test_sql_source_with_cursor(engine_url: str, duckdb_url: str, tmp_path: Path) -> None:
    with create_engine(duckdb_url) as source:
        source.execute("CREATE TABLE events (id integer, ts timestamp, what text)")
        source.execute(
            "INSERT INTO events VALUES (1, '2026-01-01 10:00', 'a'), (2, '2026-01-02 10:00', 'b')"
        )
    request = dict(source=duckdb_url, source_table="events", table="ev", incremental="cursor:ts")
    target_url = engine_url if "postgres" in engine_url else f"duckdb:///{tmp_path}/target.duckdb"
    with create_engine(target_url) as target:
        first = run_load(target, build_request(**request))
        assert first.rows_loaded == 2
        with create_engine(duckdb_url) as source:
            source.execute("INSERT INTO events VALUES (3, '2026-01-03 10:00', 'c')")
        second = run_load(target, build_request(**request))
        assert second.rows_loaded == 1
        assert rows(target, "SELECT id FROM ev") == [(1,), (2,), (3,)]
        third = run_load(target, build_request(**request))
        assert third.rows_read == 0
        marks = target.fetchall("SELECT value FROM _headrace.watermarks")
        assert json.loads(marks[0][0])["value"].startswith("2026-01-03")


def test_missing_file_is_one_line_error(engine: EngineAdapter, tmp_path: Path) -> None:
    with pytest.raises(HeadraceError) as info:
        run_load(engine, build_request(source=str(tmp_path / "nope.csv"), table="t"))
    assert "no such file" in str(info.value)


def test_integers_are_never_rounded(engine: EngineAdapter, tmp_path: Path) -> None:
    schema = write(tmp_path / "s.yml", "columns: {id: int64, qty: int32}\n")
    data = write(
        tmp_path / "a.csv",
        "id,qty\n1,5\n2,1.5\n3,2e3\n4,7.0\n5,99999999999\n"
        "9007199254740993,1\n9007199254740993.5,1\n",
    )
    result = run_load(engine, build_request(source=str(data), table="t", schema_file=schema))
    # 2e3 and 7.0 are whole numbers and load unchanged; 1.5 would be rounded, 99999999999
    # overflows int32, and a fraction past 2**53 is caught by the re-check of the digits.
    assert (result.rows_loaded, result.rows_quarantined) == (4, 3)
    assert rows(engine, "SELECT id, qty FROM t") == [
        (1, 5),
        (3, 2000),
        (4, 7),
        (9007199254740993, 1),
    ]
    reasons = rows(engine, "SELECT reason, column_name FROM _headrace.quarantine")
    assert reasons == [("invalid_value", "id"), ("invalid_value", "qty"), ("invalid_value", "qty")]
    inferred = write(tmp_path / "b.csv", "price\n10\n24386.67\n")
    run_load(engine, build_request(source=str(inferred), table="p"))
    assert rows(engine, "SELECT price FROM p") == [(10.0,), (24386.67,)]


def test_postgres_table_into_duckdb(pg_url: str, duckdb_url: str) -> None:
    with create_engine(pg_url) as source:
        source.execute(
            "CREATE TABLE sales (id bigint PRIMARY KEY, amount numeric(10,2), at timestamptz,"
            " note text, meta jsonb)"
        )
        source.execute(
            "INSERT INTO sales SELECT g, g * 1.25, '2026-01-01'::timestamptz + g * interval '1h',"
            " CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END, jsonb_build_object('g', g)"
            " FROM generate_series(1, 5000) g"
        )
    with create_engine(duckdb_url) as target:
        result = run_load(
            target,
            build_request(
                source=pg_url, source_table="sales", table="raw.sales", write="merge", key="id"
            ),
        )
        assert (result.rows_read, result.rows_loaded) == (5000, 5000)
        got = target.fetchall(
            'SELECT count(*), sum(amount), count(note), max("at") FROM raw.sales'
        )[0]
        assert got[0] == 5000 and str(got[1]) == "15628125.00" and got[2] == 3334
        types = {c.name: c.data_type for c in target.columns("raw.sales")}
        assert types["amount"].startswith("DECIMAL") and "TIME ZONE" in types["at"]


def test_ndjson_and_parquet_integers_are_never_rounded(
    engine: EngineAdapter, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = {"columns": {"id": "int64", "qty": "int32"}}
    lines = write(
        tmp_path / "a.ndjson", '{"id": 1, "qty": 2}\n{"id": 2, "qty": 2.5}\n{"id": 3, "qty": 3.0}\n'
    )
    result = run_load(engine, build_request(source=str(lines), table="n", schema=schema))
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    pq.write_table(pa.table({"id": [1, 2], "qty": [4.0, 4.5]}), tmp_path / "p.parquet")
    result = run_load(
        engine, build_request(source=str(tmp_path / "p.parquet"), table="m", schema=schema)
    )
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)


def test_duckdb_memory_cap_too_small_falls_back_instead_of_failing(
    duckdb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headrace.load import runner

    data = tmp_path / "big.csv"
    with data.open("w") as out:
        out.write("id,text\n")
        for i in range(300_000):
            out.write(f"{i},{'x' * 40}\n")
    monkeypatch.setattr(runner, "LOAD_MEMORY_LIMIT", "2MB")
    with create_engine(duckdb_url) as engine:
        before = engine.fetchall("SELECT current_setting('memory_limit')")
        result = run_load(engine, build_request(source=str(data), table="t"))
        assert result.rows_loaded == 300_000
        assert engine.fetchall("SELECT current_setting('memory_limit')") == before
        assert engine.fetchall("SELECT count(*) FROM _headrace.runs") == [(1,)]


def test_cursor_lookback_with_merge_picks_up_late_rows(engine_url: str, tmp_path: Path) -> None:
    source_url = f"duckdb:///{tmp_path / 'source.duckdb'}"
    with create_engine(source_url) as source:
        source.execute("CREATE TABLE ev (id integer, ts timestamp, v text)")
        source.execute(
            "INSERT INTO ev VALUES (1, '2026-01-01 10:00', 'a'), (2, '2026-01-01 11:00', 'b')"
        )
    request = dict(
        source=source_url,
        source_table="ev",
        table="ev",
        write="merge",
        key="id",
        incremental="cursor:ts:1h",
    )
    with create_engine(engine_url) as target:
        assert run_load(target, build_request(**request)).rows_loaded == 2
        with create_engine(source_url) as source:
            # A late row, 30 minutes behind the watermark: only the lookback finds it.
            source.execute("INSERT INTO ev VALUES (3, '2026-01-01 10:30', 'late')")
            source.execute("UPDATE ev SET v = 'b2' WHERE id = 2")
        second = run_load(target, build_request(**request))
        # Re-read: rows 2 (10:00 < 11:00 - 1h is false, so 11:00 is re-read) and 3.
        assert second.rows_read == 2
        assert rows(target, "SELECT id, v FROM ev") == [(1, "a"), (2, "b2"), (3, "late")]


def test_dates_never_lose_a_time_of_day(engine: EngineAdapter, tmp_path: Path) -> None:
    import datetime as dt

    inferred = write(tmp_path / "a.csv", "ts\n2026-11-25 10:00:00\n2026-11-26\n")
    run_load(engine, build_request(source=str(inferred), table="i"))
    assert rows(engine, "SELECT ts FROM i") == [
        (dt.datetime(2026, 11, 25, 10, 0),),
        (dt.datetime(2026, 11, 26, 0, 0),),
    ]
    schema = write(tmp_path / "s.yml", "columns: {day: date}\n")
    data = write(tmp_path / "b.csv", "day\n2026-11-25\n2026-11-25 10:00:00\n2026-02-30\n")
    result = run_load(engine, build_request(source=str(data), table="d", schema_file=schema))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert rows(engine, "SELECT day FROM d") == [(dt.date(2026, 11, 25),)]


def test_state_tables_gain_new_columns_on_upgrade(engine: EngineAdapter, tmp_path: Path) -> None:
    # A warehouse written by an older headrace: _headrace.steps without attempt_errors.
    engine.execute("CREATE SCHEMA _headrace")
    engine.execute(
        "CREATE TABLE _headrace.steps (run_id TEXT NOT NULL, step TEXT NOT NULL,"
        " kind TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL)"
    )
    engine.execute("INSERT INTO _headrace.steps VALUES ('r', 's', 'load', 'succeeded', 1)")
    state.ensure_state(engine)
    columns = [c.name for c in engine.columns("_headrace.steps")]
    assert "attempt_errors" in columns and "load_run_id" in columns
    assert engine.fetchall("SELECT count(*) FROM _headrace.steps") == [(1,)]
    source = write(tmp_path / "a.csv", "id\n1\n")
    assert run_load(engine, build_request(source=str(source), table="t")).rows_loaded == 1


def test_sql_source_rows_postgres_cannot_store_are_quarantined(
    pg_url: str, duckdb_url: str
) -> None:
    with create_engine(duckdb_url) as source:
        source.execute("CREATE TABLE notes (id integer, body text)")
        source.execute("INSERT INTO notes VALUES (1, 'fine'), (2, 'a' || chr(0) || 'b')")
    with create_engine(pg_url) as target:
        result = run_load(
            target, build_request(source=duckdb_url, source_table="notes", table="notes")
        )
        assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
        assert target.fetchall("SELECT reason, row_offset FROM _headrace.quarantine") == [
            ("nul_byte", 2)
        ]


def test_merge_with_a_new_column_evolves_stage_and_target(
    engine: EngineAdapter, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.csv", "id,a\n1,x\n")
    run_load(engine, build_request(source=str(first), table="t", write="merge", key="id"))
    folder = tmp_path / "more"
    folder.mkdir()
    write(folder / "1.csv", "id,a,b\n1,y,z\n")
    write(folder / "2.csv", "id,a,b,c\n2,w,v,u\n")  # a second new column in a later file
    result = run_load(engine, build_request(source=str(folder), table="t", write="merge", key="id"))
    assert result.columns_added == ["b", "c"]
    assert rows(engine, "SELECT id, a, b, c FROM t") == [(1, "y", "z", None), (2, "w", "v", "u")]
