"""Engine registry: URL scheme -> adapter class, imported only when first used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from headrace.engines.url import EngineURL, parse_url
from headrace.errors import UsageError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

# "module:Class" strings keep drivers out of the import path until a URL needs them.
_ADAPTERS: dict[str, str] = {
    "duckdb": "headrace.engines.duckdb:DuckDBAdapter",
    "postgresql": "headrace.engines.postgres:PostgresAdapter",
}

# What to install when a driver is missing, by scheme.
_EXTRAS = {"postgresql": "postgres", "spark": "spark"}


def register(scheme: str, target: str) -> None:
    """Register an adapter ``"package.module:Class"`` for a URL scheme."""
    _ADAPTERS[scheme] = target


def adapter_class(scheme: str) -> type[EngineAdapter]:
    """The adapter class for a canonical scheme, importing its module on demand."""
    target = _ADAPTERS.get(scheme)
    if target is None:
        raise UsageError(
            f"no engine adapter for {scheme!r} URLs yet",
            hint=f"available: {', '.join(sorted(_ADAPTERS))}",
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(scheme, scheme)
        raise UsageError(
            f"the {scheme} driver is not installed ({exc.name})",
            hint=f"pip install 'headrace[{extra}]'",
        ) from None
    cls: type[EngineAdapter] = getattr(module, class_name)
    return cls


def create_engine(
    url: str | EngineURL,
    *,
    read_only: bool = False,
    statement_timeout: float | None = None,
) -> EngineAdapter:
    """Build an (unconnected) adapter for ``url``; it connects on first use."""
    parsed = parse_url(url) if isinstance(url, str) else url
    cls = adapter_class(parsed.scheme)
    return cls(parsed, read_only=read_only, statement_timeout=statement_timeout)
