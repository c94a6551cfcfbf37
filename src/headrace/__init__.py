"""headrace: batch data pipelines you can trust.

The public API is small on purpose; everything else is an implementation detail.
"""

from __future__ import annotations

from headrace._version import __version__
from headrace.engines.base import ColumnInfo, EngineAdapter, IndexInfo, PingResult, TableInfo
from headrace.engines.registry import create_engine
from headrace.engines.url import EngineURL, parse_url, redact
from headrace.errors import (
    ConfigError,
    ConnectError,
    EngineError,
    HeadraceError,
    QueryTimeoutError,
    TerminalError,
    TransientError,
    UsageError,
)
from headrace.transform.python import TransformError, reject

__all__ = [
    "ColumnInfo",
    "ConfigError",
    "ConnectError",
    "EngineAdapter",
    "EngineError",
    "EngineURL",
    "HeadraceError",
    "IndexInfo",
    "PingResult",
    "QueryTimeoutError",
    "TableInfo",
    "TerminalError",
    "TransformError",
    "TransientError",
    "UsageError",
    "__version__",
    "create_engine",
    "parse_url",
    "redact",
    "reject",
]
