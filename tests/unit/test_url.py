"""Connection URL parsing and secret redaction."""

from __future__ import annotations

import pytest

from headrace.engines.url import parse_url, redact
from headrace.errors import UsageError


def test_duckdb_file_and_memory() -> None:
    assert parse_url("duckdb:///warehouse.duckdb").path == "warehouse.duckdb"
    assert parse_url("duckdb:////abs/w.duckdb").path == "/abs/w.duckdb"
    assert parse_url("duckdb:///:memory:").path == ":memory:"
    assert parse_url("duckdb://").path == ":memory:"


def test_postgres_parts_and_aliases() -> None:
    url = parse_url("postgres://app:p%40ss@db.example:6543/shop?sslmode=require")
    assert (url.scheme, url.host, url.port, url.user, url.database) == (
        "postgresql",
        "db.example",
        6543,
        "app",
        "shop",
    )
    assert url.password == "p@ss"
    assert url.query == {"sslmode": "require"}
    assert "p%40ss" not in str(url) and "p@ss" not in repr(url)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("mysql://x/y", "unknown URL scheme 'mysql'"),
        ("warehouse.duckdb", "not a connection URL"),
        ("postgresql://h:notaport/db", "bad port"),
    ],
)
def test_bad_urls_are_usage_errors(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_url(text)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


def test_redact_hides_passwords_everywhere() -> None:
    text = "postgresql://u:s3cr3t@h/db and host=h password=hunter2 user=u"
    out = redact(text)
    assert "s3cr3t" not in out and "hunter2" not in out
    assert "postgresql://u:***@h/db" in out


def test_bad_url_error_does_not_echo_password() -> None:
    with pytest.raises(UsageError) as info:
        parse_url("mysql://root:topsecret@h/db")
    assert "topsecret" not in str(info.value)
