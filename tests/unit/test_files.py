"""Finding and describing input files: compression, format, paths, globs and CSV options."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headrace.errors import HeadraceError, UsageError
from headrace.sources import (
    CsvOptions,
    SourceError,
    SourceFile,
    detect_compression,
    detect_format,
    resolve_files,
)
from tests.hostile import write_hostile_files

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _write(path: Path, data: bytes | str = "id\n1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _names(files: list[SourceFile], root: Path) -> list[str]:
    return [file.path.relative_to(root.resolve()).as_posix() for file in files]


# --- compression ---------------------------------------------------------------------


def test_gzip_named_csv_is_detected_by_content(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.csv", gzip.compress(b"id\n1\n"))
    assert detect_compression(path) == "gzip"


def test_zstd_magic_is_detected(tmp_path: Path) -> None:
    # Detection reads only the magic, so the frame behind it does not have to be valid.
    path = _write(tmp_path / "data.csv", ZSTD_MAGIC + b"not really a zstd frame")
    assert detect_compression(path) == "zstd"


@pytest.mark.skipif(not pa.Codec.is_available("zstd"), reason="pyarrow built without zstd")
def test_real_zstd_frame_is_detected(tmp_path: Path) -> None:
    frame = pa.compress(b"id\n1\n", codec="zstd", asbytes=True)
    assert detect_compression(_write(tmp_path / "data.zst", frame)) == "zstd"


@pytest.mark.parametrize("data", [b"id,name\n1,a\n", b"", b"\x1f", b"PAR1...."])
def test_everything_else_is_uncompressed(tmp_path: Path, data: bytes) -> None:
    assert detect_compression(_write(tmp_path / "data.csv.gz", data)) == "none"


# --- format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.txt", "csv"),
        ("a.CSV", "csv"),
        ("a.tsv", "tsv"),
        ("a.tab", "tsv"),
        ("a.ndjson", "ndjson"),
        ("a.jsonl", "ndjson"),
        ("a.json", "ndjson"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.csv.gz", "csv"),
        ("a.tsv.gzip", "tsv"),
        ("a.jsonl.zst", "ndjson"),
        ("a.2024-01-01.csv.zstd", "csv"),
    ],
)
def test_format_from_extension(tmp_path: Path, name: str, expected: str) -> None:
    assert detect_format(_write(tmp_path / name)) == expected


def test_explicit_format_wins_and_jsonl_is_ndjson(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv")
    assert detect_format(path, "tsv") == "tsv"
    assert detect_format(path, "JSONL") == "ndjson"
    assert detect_format(path, "parquet") == "parquet"


def test_unknown_explicit_format_lists_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        detect_format(_write(tmp_path / "a.csv"), "xml")
    text = str(info.value)
    assert "'xml'" in text
    assert all(name in text for name in ("csv", "tsv", "ndjson", "parquet", "jsonl"))


def test_parquet_magic_is_the_fallback_for_unknown_extensions(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    pq.write_table(pa.table({"id": [1, 2]}), path)
    assert detect_format(path) == "parquet"


def test_undetectable_format_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "export.dat", "id\n1\n")
    with pytest.raises(UsageError) as info:
        detect_format(path)
    assert info.value.message == f"cannot tell the format of {path}"
    assert info.value.hint == "pass --format csv|tsv|ndjson|parquet"


# --- a single file -------------------------------------------------------------------------


def test_single_file_is_described(tmp_path: Path) -> None:
    path = _write(tmp_path / "orders.csv.gz", gzip.compress(b"id\n1\n"))
    [file] = resolve_files(str(path))
    info = path.stat()
    assert file == SourceFile(
        path=path.resolve(),
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        format="csv",
        compression="gzip",
    )
    assert file.fingerprint() == {
        "path": str(path.resolve()),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
    }


def test_relative_paths_use_base_and_results_are_absolute(tmp_path: Path) -> None:
    _write(tmp_path / "in" / "a.csv")
    [file] = resolve_files("in/a.csv", base=tmp_path)
    assert file.path.is_absolute()
    assert file.path == (tmp_path / "in" / "a.csv").resolve()


def test_relative_paths_default_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "a.csv")
    monkeypatch.chdir(tmp_path)
    assert _names(resolve_files("a.csv"), tmp_path) == ["a.csv"]


def test_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    _write(tmp_path / "data" / "a.csv")
    assert _names(resolve_files("~/data/a.csv"), tmp_path) == ["data/a.csv"]
    assert _names(resolve_files("~/data/*.csv"), tmp_path) == ["data/a.csv"]


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    _write(tmp_path / "export.dat")
    [file] = resolve_files("export.dat", format="tsv", base=tmp_path)
    assert file.format == "tsv"


def test_single_undetectable_file_is_a_usage_error(tmp_path: Path) -> None:
    _write(tmp_path / "export.dat")
    with pytest.raises(UsageError, match="cannot tell the format"):
        resolve_files("export.dat", base=tmp_path)


def test_literal_name_with_glob_characters(tmp_path: Path) -> None:
    _write(tmp_path / "report[1].csv")
    assert _names(resolve_files("report[1].csv", base=tmp_path), tmp_path) == ["report[1].csv"]


# --- directories -----------------------------------------------------------------------------


def test_directory_lists_detectable_visible_files_only(tmp_path: Path) -> None:
    for name in ["b.csv", "a.csv", "c.csv.gz", ".hidden.csv", "_SUCCESS", "README.md"]:
        _write(tmp_path / "in" / name)
    _write(tmp_path / "in" / "nested" / "d.csv")  # not recursive
    _write(tmp_path / "in" / "_temporary" / "e.csv")
    files = resolve_files(str(tmp_path / "in"))
    assert _names(files, tmp_path) == ["in/a.csv", "in/b.csv", "in/c.csv.gz"]


def test_directory_with_explicit_format_takes_every_visible_file(tmp_path: Path) -> None:
    for name in ["part-0000", "part-0001", "_SUCCESS", ".part-0000.crc"]:
        _write(tmp_path / "out" / name)
    files = resolve_files("out", format="csv", base=tmp_path)
    assert _names(files, tmp_path) == ["out/part-0000", "out/part-0001"]
    assert {file.format for file in files} == {"csv"}


def test_empty_directory_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty" / ".only_hidden.csv")
    with pytest.raises(SourceError) as info:
        resolve_files("empty", base=tmp_path)
    assert info.value.message == "no files match empty"
    assert info.value.exit_code == 1


# --- globs --------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in [
        "2024-01.csv",
        "2024-02.csv",
        "2024-10.csv",
        "notes.txt",
        "sub/2024-03.csv",
        "sub/deeper/2024-04.csv",
        "sub/.cache/2024-05.csv",
        "sub/_temporary/2024-06.csv",
        "_staging.csv",
    ]:
        _write(tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.csv", ["2024-01.csv", "2024-02.csv", "2024-10.csv"]),
        ("2024-0?.csv", ["2024-01.csv", "2024-02.csv"]),
        ("2024-[01][0-1].csv", ["2024-01.csv", "2024-10.csv"]),
        (
            "**/*.csv",
            [
                "2024-01.csv",
                "2024-02.csv",
                "2024-10.csv",
                "sub/2024-03.csv",
                "sub/deeper/2024-04.csv",
            ],
        ),
        ("sub/**/2024-0*.csv", ["sub/2024-03.csv", "sub/deeper/2024-04.csv"]),
        ("_*.csv", ["_staging.csv"]),  # a pattern that names hidden files gets them
        ("sub/.cache/*.csv", ["sub/.cache/2024-05.csv"]),
    ],
)
def test_globs(tree: Path, pattern: str, expected: list[str]) -> None:
    assert _names(resolve_files(pattern, base=tree), tree) == expected


def test_absolute_glob(tree: Path) -> None:
    files = resolve_files(str(tree / "sub" / "*.csv"))
    assert _names(files, tree) == ["sub/2024-03.csv"]


def test_glob_results_are_deduplicated_by_real_path(tmp_path: Path) -> None:
    target = _write(tmp_path / "a.csv")
    (tmp_path / "b.csv").symlink_to(target)
    files = resolve_files("*.csv", base=tmp_path)
    assert [file.path for file in files] == [target.resolve()]


def test_glob_that_matches_nothing(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        resolve_files("*.parquet", base=tmp_path)
    assert info.value.message == "no files match *.parquet"


def test_glob_with_an_undetectable_file_is_a_usage_error(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv")
    _write(tmp_path / "a.dat")
    with pytest.raises(UsageError, match="cannot tell the format"):
        resolve_files("a.*", base=tmp_path)


def test_mixed_formats_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "in" / "a.csv")
    pq.write_table(pa.table({"id": [1]}), tmp_path / "in" / "b.parquet")
    with pytest.raises(SourceError) as info:
        resolve_files("in", base=tmp_path)
    assert (
        str(info.value) == "in mix formats csv and parquet; load them separately or pass --format"
    )
    with pytest.raises(SourceError, match="mix formats csv and parquet"):
        resolve_files("in/*", base=tmp_path)


def test_compression_may_differ_within_one_format(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv")
    _write(tmp_path / "b.csv.gz", gzip.compress(b"id\n2\n"))
    files = resolve_files("*.csv*", base=tmp_path)
    assert [(file.format, file.compression) for file in files] == [
        ("csv", "none"),
        ("csv", "gzip"),
    ]


def test_explicit_format_allows_any_extensions(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv")
    _write(tmp_path / "b.txt")
    _write(tmp_path / "c.dat")
    files = resolve_files("*", format="csv", base=tmp_path)
    assert len(files) == 3


# --- errors ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        resolve_files("nope.csv", base=tmp_path)
    assert info.value.message == f"no such file: {tmp_path / 'nope.csv'}"
    assert isinstance(info.value, HeadraceError)


def test_missing_parent_directory(tmp_path: Path) -> None:
    _write(tmp_path / "file.csv")
    with pytest.raises(SourceError, match="no such file"):
        resolve_files("file.csv/inner.csv", base=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "secret.csv")
    path.chmod(0)
    try:
        with pytest.raises(SourceError) as info:
            resolve_files(str(path))
        assert info.value.message == f"cannot read {path}: permission denied"
    finally:
        path.chmod(0o644)


def test_unreadable_file_when_access_is_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs even as root: the permission check itself is what is under test.
    path = _write(tmp_path / "secret.csv")
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    with pytest.raises(SourceError) as info:
        resolve_files(str(path))
    assert info.value.message == f"cannot read {path}: permission denied"


def test_unsearchable_glob_folder_is_permission_denied_not_no_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    with pytest.raises(SourceError) as info:
        resolve_files("locked/*.csv", base=tmp_path)
    assert info.value.message == f"cannot read {tmp_path / 'locked'}: permission denied"


def test_permission_error_while_opening_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "secret.csv")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(SourceError) as info:
        detect_compression(path)
    assert info.value.message == f"cannot read {path}: permission denied"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_rejected_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="not a regular file"):
        resolve_files(str(fifo))


def test_device_is_rejected() -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    with pytest.raises(SourceError, match="not a regular file: /dev/null"):
        resolve_files("/dev/null", format="csv")


def test_fifo_in_a_directory_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv")
    os.mkfifo(tmp_path / "b.csv")
    assert _names(resolve_files(str(tmp_path)), tmp_path) == ["a.csv"]
    assert _names(resolve_files("*.csv", base=tmp_path), tmp_path) == ["a.csv"]


# --- content hash ---------------------------------------------------------------------------


def test_content_hash_is_stable_and_depends_only_on_bytes(tmp_path: Path) -> None:
    a = resolve_files(str(_write(tmp_path / "a.csv", "id\n1\n")))[0]
    b = resolve_files(str(_write(tmp_path / "b.csv", "id\n1\n")))[0]
    c = resolve_files(str(_write(tmp_path / "c.csv", "id\n2\n")))[0]
    assert a.content_hash() == a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()
    assert len(a.content_hash()) == 32


def test_content_hash_streams_files_larger_than_one_chunk(tmp_path: Path) -> None:
    data = bytes(range(256)) * (10 * 1024 + 7)  # ~2.5 MiB, not a multiple of 1 MiB
    [file] = resolve_files(str(_write(tmp_path / "big.csv", data)))
    assert file.content_hash() == hashlib.blake2b(data, digest_size=16).hexdigest()


# --- CSV options ----------------------------------------------------------------------------


def test_csv_defaults_and_tsv() -> None:
    assert CsvOptions() == CsvOptions(",", '"', '"', True, "utf-8", "")
    assert CsvOptions.for_format("csv").delimiter == ","
    assert CsvOptions.for_format("tsv").delimiter == "\t"
    assert CsvOptions.for_format("tsv", delimiter="pipe").delimiter == "|"


@pytest.mark.parametrize(
    ("name", "char"),
    [("tab", "\t"), ("TAB", "\t"), ("\\t", "\t"), ("comma", ","), ("semicolon", ";")]
    + [("pipe", "|"), (";", ";"), ("\t", "\t")],
)
def test_delimiter_names(name: str, char: str) -> None:
    assert CsvOptions(delimiter=name).delimiter == char


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delimiter": ""},
        {"delimiter": ";;"},
        {"delimiter": "\n"},
        {"delimiter": '"'},
        {"quote": "''"},
        {"escape": ""},
        {"escape": "\\\\"},
        {"header": "sometimes"},
    ],
)
def test_bad_csv_options_are_usage_errors(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        CsvOptions(**kwargs)  # type: ignore[arg-type]


def test_empty_quote_means_no_quoting() -> None:
    assert CsvOptions(quote="").quote == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("latin-1", "latin-1"),
        ("latin1", "latin-1"),
        ("iso-8859-1", "latin-1"),
        ("ISO8859-1", "latin-1"),
    ],
)
def test_encodings_are_normalised(given: str, expected: str) -> None:
    assert CsvOptions(encoding=given).encoding == expected


def test_unknown_encoding_names_the_allowed_ones() -> None:
    with pytest.raises(UsageError) as info:
        CsvOptions(encoding="cp1252")
    assert "cp1252" in str(info.value)
    assert "utf-8" in str(info.value) and "latin-1" in str(info.value)


def test_cli_style_overrides() -> None:
    options = CsvOptions.for_format("csv", header="false", encoding="latin1", delimiter=";")
    assert (options.header, options.encoding, options.delimiter) == (False, "latin-1", ";")
    with pytest.raises(UsageError, match="unknown CSV option 'sep'"):
        CsvOptions.for_format("csv", sep=";")


# --- the hostile corpus ---------------------------------------------------------------------


def test_hostile_corpus_is_complete_and_deterministic(tmp_path: Path) -> None:
    cases = write_hostile_files(tmp_path / "one")
    again = write_hostile_files(tmp_path / "two")
    assert len(cases) >= 25
    for name, case in cases.items():
        assert case.expect_loaded >= 0 and case.expect_quarantined >= 0, name
        if name == "missing_file":
            assert not case.path.exists()
            continue
        assert case.path.is_file(), name
        assert case.path.read_bytes() == again[name].path.read_bytes(), name
        if case.expect_error is not None:
            assert case.expect_loaded == case.expect_quarantined == 0, name
        if case.expect_quarantined:
            assert len(case.reasons) == case.expect_quarantined, name
    assert detect_compression(cases["gzip_named_csv"].path) == "gzip"
    if "zstd_named_csv" in cases:
        assert detect_compression(cases["zstd_named_csv"].path) == "zstd"
