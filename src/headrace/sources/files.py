"""Find input files (a path, a directory or a glob) and describe each one for the loader.

Compression is always detected from the file's first bytes, never from its name: files
named ``.csv`` are often gzip in practice, and a wrong guess turns into a confusing
decoder error deep inside the engine. The format comes from an explicit ``--format``,
else from the extension (after dropping a compression suffix), else from Parquet's magic.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from headrace.errors import HeadraceError, UsageError

Compression = Literal["none", "gzip", "zstd"]
FileFormat = Literal["csv", "tsv", "ndjson", "parquet"]

FORMATS: tuple[FileFormat, ...] = ("csv", "tsv", "ndjson", "parquet")
_FORMAT_ALIASES: dict[str, FileFormat] = {"jsonl": "ndjson"}
_FORMAT_HINT = "pass --format csv|tsv|ndjson|parquet"

_COMPRESSION_SUFFIXES = frozenset({".gz", ".gzip", ".zst", ".zstd"})
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PARQUET_MAGIC = b"PAR1"
_HASH_CHUNK = 1024 * 1024
_GLOB_CHARS = frozenset("*?[")
# Spark/Hadoop write _SUCCESS and _temporary/; editors and checksums write dot files.
_HIDDEN_PREFIXES = (".", "_")


class SourceError(HeadraceError):
    """An input file cannot be found, read or used as given."""

    exit_code = 1


@dataclass(frozen=True)
class SourceFile:
    """One input file as the loader sees it: where it is, what it is, and how it was."""

    path: Path
    size: int
    mtime_ns: int
    format: FileFormat
    compression: Compression

    def content_hash(self) -> str:
        """Hex BLAKE2b-128 of the file's bytes, read in 1 MiB chunks."""
        digest = hashlib.blake2b(digest_size=16)
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(_HASH_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise _os_error(self.path, exc) from exc
        return digest.hexdigest()

    def fingerprint(self) -> dict[str, object]:
        """Cheap identity used to notice a changed file without reading it."""
        return {"path": str(self.path), "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass(frozen=True)
class CsvOptions:
    """How to parse a delimited text file; values are validated and normalised on creation."""

    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    header: bool = True
    encoding: str = "utf-8"
    null: str = ""

    def __post_init__(self) -> None:
        delimiter = _DELIMITER_NAMES.get(self.delimiter.lower(), self.delimiter)
        _require_one_char("delimiter", delimiter, allow_empty=False)
        _require_one_char("quote", self.quote, allow_empty=True)
        _require_one_char("escape", self.escape, allow_empty=False)
        if delimiter in ("\n", "\r"):
            raise UsageError("the CSV delimiter cannot be a line break")
        if delimiter == self.quote:
            raise UsageError(f"the CSV delimiter and quote are both {delimiter!r}")
        object.__setattr__(self, "delimiter", delimiter)
        object.__setattr__(self, "header", _parse_bool("header", self.header))
        object.__setattr__(self, "encoding", _normalise_encoding(self.encoding))

    @classmethod
    def for_format(cls, fmt: FileFormat, **overrides: str | bool) -> CsvOptions:
        """Defaults for ``csv`` or ``tsv`` with CLI-style overrides applied."""
        unknown = sorted(set(overrides) - _CSV_OPTION_NAMES)
        if unknown:
            allowed = ", ".join(sorted(_CSV_OPTION_NAMES))
            raise UsageError(f"unknown CSV option {unknown[0]!r}", hint=f"allowed: {allowed}")
        # Any: CLI strings such as header="false" are parsed in __post_init__.
        values: dict[str, Any] = {"delimiter": "\t"} if fmt == "tsv" else {}
        values.update(overrides)
        return cls(**values)


_CSV_OPTION_NAMES = frozenset({"delimiter", "quote", "escape", "header", "encoding", "null"})
# Names people type on a command line, where a real tab or ';' is awkward to quote.
_DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
}
_ENCODINGS = {
    "utf8": "utf-8",
    "latin1": "latin-1",
    "iso88591": "latin-1",
}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _require_one_char(name: str, value: str, *, allow_empty: bool) -> None:
    if len(value) == 1 or (allow_empty and value == ""):
        return
    extra = " (or empty for no quoting)" if allow_empty else ""
    raise UsageError(f"CSV {name} must be exactly one character{extra}, got {value!r}")


def _parse_bool(name: str, value: object) -> bool:
    # CLI options and YAML both arrive here; YAML gives bools, the CLI gives strings.
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"CSV {name} must be true or false, got {value!r}")


def _normalise_encoding(value: str) -> str:
    key = value.strip().lower().replace("-", "").replace("_", "")
    encoding = _ENCODINGS.get(key)
    if encoding is None:
        raise UsageError(
            f"unsupported encoding {value!r}",
            hint="allowed encodings: utf-8, latin-1 (iso-8859-1)",
        )
    return encoding


def _read_magic(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4)
    except OSError as exc:
        raise _os_error(path, exc) from exc


def _os_error(path: Path | str, exc: OSError) -> SourceError:
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return SourceError(f"no such file: {path}", path=str(path))
    if isinstance(exc, PermissionError):
        return SourceError(f"cannot read {path}: permission denied", path=str(path))
    reason = exc.strerror or type(exc).__name__
    return SourceError(f"cannot read {path}: {reason}", path=str(path))


def detect_compression(path: Path) -> Compression:
    """Compression of a file from its first four bytes (gzip, zstd or none)."""
    magic = _read_magic(path)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    if magic == _ZSTD_MAGIC:
        return "zstd"
    return "none"


def _normalise_format(explicit: str) -> FileFormat:
    name = explicit.strip().lower()
    if name in FORMATS:
        return name
    if name in _FORMAT_ALIASES:
        return _FORMAT_ALIASES[name]
    allowed = ", ".join([*FORMATS, *_FORMAT_ALIASES])
    raise UsageError(f"unknown format {explicit!r}", hint=f"allowed formats: {allowed}")


def _format_from_name(path: Path) -> FileFormat | None:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def detect_format(path: Path, explicit: str | None = None) -> FileFormat:
    """The file format: ``explicit`` if given, else the extension, else Parquet's magic."""
    if explicit is not None:
        return _normalise_format(explicit)
    by_name = _format_from_name(path)
    if by_name is not None:
        return by_name
    # Parquet is never wrapped in gzip/zstd, so its raw magic is a safe last resort.
    if _read_magic(path) == _PARQUET_MAGIC:
        return "parquet"
    raise UsageError(f"cannot tell the format of {path}", hint=_FORMAT_HINT, path=str(path))


def _is_hidden(name: str) -> bool:
    return name.startswith(_HIDDEN_PREFIXES)


def _has_glob(text: str) -> bool:
    return any(char in _GLOB_CHARS for char in text)


def _stat_regular(path: Path) -> os.stat_result:
    """Stat (following links) and insist on a readable regular file."""
    try:
        info = path.stat()
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise SourceError(f"{path} is a directory, not a file", path=str(path))
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO would block forever and a device can be endless.
        raise SourceError(
            f"not a regular file: {path}",
            hint="headrace reads regular files only, not pipes, sockets or devices",
            path=str(path),
        )
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read {path}: permission denied", path=str(path))
    return info


def _describe(path: Path, fmt: FileFormat) -> SourceFile:
    info = _stat_regular(path)
    return SourceFile(
        path=path.resolve(),
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        format=fmt,
        compression=detect_compression(path),
    )


def _list_directory(directory: Path, explicit: FileFormat | None) -> list[tuple[Path, FileFormat]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        raise _os_error(directory, exc) from exc
    found: list[tuple[Path, FileFormat]] = []
    for entry in entries:
        if _is_hidden(entry.name):
            continue
        try:
            regular = entry.is_file()  # follows symlinks, like the loader will
        except OSError:
            regular = False
        if not regular:
            continue
        path = Path(entry.path)
        # A directory may hold a README or a manifest next to the data: skip what we
        # cannot name rather than fail, unless the user said what every file is.
        fmt = explicit or _format_from_name(path)
        if fmt is None:
            try:
                fmt = detect_format(path)
            except UsageError:
                continue
        found.append((path, fmt))
    return found


def _glob_root(pattern: str) -> str:
    """The leading components of ``pattern`` that contain no wildcard."""
    literal: list[str] = []
    for part in Path(pattern).parts:
        if _has_glob(part):
            break
        literal.append(part)
    return str(Path(*literal)) if literal else ""


def _hidden_by_wildcard(match: str, pattern: str) -> bool:
    """True if a wildcard reached into a hidden file or folder the pattern did not name."""
    root = _glob_root(pattern)
    below = Path(os.path.relpath(match, root or ".")).parts
    named = [part for part in Path(pattern).parts if _is_hidden(part)]
    return any(
        _is_hidden(part) and not any(fnmatch.fnmatchcase(part, name) for name in named)
        for part in below
    )


def _expand_glob(pattern: str, explicit: FileFormat | None) -> list[tuple[Path, FileFormat]]:
    found: list[tuple[Path, FileFormat]] = []
    for match in glob.glob(pattern, recursive=True):
        # Like a directory listing: folders, pipes and devices a wildcard reaches are skipped.
        if _hidden_by_wildcard(match, pattern) or not os.path.isfile(match):
            continue
        path = Path(match)
        found.append((path, explicit or detect_format(path)))
    return found


def resolve_files(
    source: str, *, format: str | None = None, base: Path | None = None
) -> list[SourceFile]:
    """The files named by a path, a directory or a glob, sorted and de-duplicated."""
    explicit = _normalise_format(format) if format is not None else None
    expanded = os.path.expanduser(source)
    root = base if base is not None else Path.cwd()
    path = Path(expanded)
    if not path.is_absolute():
        path = root / path

    # A literal file name may contain '[' or '?': only glob when the literal does not exist.
    if _has_glob(expanded) and not os.path.lexists(path):
        candidates = _expand_glob(str(path), explicit)
        root_dir = _glob_root(str(path))
        # glob() swallows errors: say "permission denied", not "no files match".
        if (
            not candidates
            and os.path.isdir(root_dir)
            and not os.access(root_dir, os.R_OK | os.X_OK)
        ):
            raise SourceError(f"cannot read {root_dir}: permission denied", path=root_dir)
    else:
        try:
            is_dir = path.is_dir()
        except OSError as exc:
            raise _os_error(path, exc) from exc
        if not is_dir:
            _stat_regular(path)  # fail on a missing/unreadable file before guessing its format
            return [_describe(path, explicit or detect_format(path))]
        candidates = _list_directory(path, explicit)

    by_path: dict[Path, SourceFile] = {}
    for candidate, fmt in candidates:
        described = _describe(candidate, fmt)
        by_path.setdefault(described.path, described)
    if not by_path:
        raise SourceError(
            f"no files match {source}",
            hint="files whose names start with '.' or '_' are skipped",
            path=source,
        )
    files = sorted(by_path.values(), key=lambda item: item.path)
    formats = sorted({item.format for item in files})
    if len(formats) > 1:
        listed = ", ".join(formats[:-1]) + f" and {formats[-1]}"
        raise SourceError(
            f"{source} mix formats {listed}; load them separately or pass --format",
            path=source,
        )
    return files


__all__ = [
    "FORMATS",
    "Compression",
    "CsvOptions",
    "FileFormat",
    "SourceError",
    "SourceFile",
    "detect_compression",
    "detect_format",
    "resolve_files",
]
