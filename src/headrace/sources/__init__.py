"""Sources: where rows come from (files today; SQL tables and HTTP APIs later)."""

from __future__ import annotations

from headrace.sources.files import (
    FORMATS,
    Compression,
    CsvOptions,
    FileFormat,
    SourceError,
    SourceFile,
    detect_compression,
    detect_format,
    resolve_files,
)

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
