"""Connection URLs: parse them, and print them without their secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from headrace.errors import UsageError

# Aliases users type; each maps to the registry's canonical scheme.
SCHEME_ALIASES = {
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "spark": "spark",
}

_PASSWORD_IN_URL = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)", re.I
)
_PASSWORD_PARAM = re.compile(r"(?P<key>\b(?:password|pwd|passwd)=)(?P<pw>[^&\s]+)", re.I)


@dataclass(frozen=True)
class EngineURL:
    """A parsed connection URL; ``str()`` never shows the password."""

    scheme: str
    raw: str = field(repr=False)
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return redact(self.raw)

    @property
    def path(self) -> str:
        """For file-backed engines: the database path ('' or ':memory:' for in-memory)."""
        return self.database or ""


def parse_url(url: str) -> EngineURL:
    """Parse ``duckdb:///file.duckdb``, ``duckdb:///:memory:``, ``postgresql://u@h:5432/db``."""
    text = url.strip()
    if "://" not in text:
        raise UsageError(
            f"not a connection URL: {redact(text)!r}",
            hint="use duckdb:///path.duckdb, duckdb:///:memory: or postgresql://user@host:5432/db",
        )
    scheme_raw = text.split("://", 1)[0].lower()
    scheme = SCHEME_ALIASES.get(scheme_raw.split("+", 1)[0])
    if scheme is None:
        known = ", ".join(sorted({*SCHEME_ALIASES}))
        raise UsageError(
            f"unknown URL scheme {scheme_raw!r} in {redact(text)!r}",
            hint=f"known schemes: {known}",
        )
    if scheme == "duckdb":
        # duckdb:///relative/or/absolute ; duckdb:////abs works too; ':memory:' is special.
        rest = text.split("://", 1)[1]
        path = rest[1:] if rest.startswith("/") else rest
        path, _, query = path.partition("?")
        return EngineURL(
            scheme=scheme,
            raw=text,
            database=unquote(path) or ":memory:",
            query=dict(parse_qsl(query)),
        )
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"bad port in URL {redact(text)!r}: {exc}") from None
    return EngineURL(
        scheme=scheme,
        raw=text,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=unquote(parts.path.lstrip("/")) or None,
        query=dict(parse_qsl(parts.query)),
    )


def redact(text: str) -> str:
    """Mask passwords inside any text that may contain URLs or ``password=`` pairs."""
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m['head']}***{m['at']}", text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['key']}***", text)
