"""Run locks: two runs of the same pipeline against the same target never overlap.

PostgreSQL: a session advisory lock on the load's own connection (released when it
closes, even if the process dies). DuckDB: an exclusive flock on a file beside the
database (released by the kernel when the process dies).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter

_POLL_S = 0.2


class LockTimeout(HeadraceError):
    """Another run holds the lock for longer than we were told to wait."""


def _key(name: str) -> int:
    # A stable signed 64-bit key for pg_advisory_lock, independent of PYTHONHASHSEED.
    digest = hashlib.blake2b(f"headrace:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def run_lock(engine: EngineAdapter, name: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the lock ``name`` on the engine's database for the duration of the block."""
    deadline = time.monotonic() + max(0.0, wait_s)
    if engine.dialect == "postgres":
        key = _key(name)
        while not engine.fetchall("SELECT pg_try_advisory_lock(%s)", [key])[0][0]:
            _wait_or_fail(name, deadline, wait_s)
        try:
            yield
        finally:
            try:
                engine.fetchall("SELECT pg_advisory_unlock(%s)", [key])
            except HeadraceError:
                pass  # the connection is gone, and its locks with it
        return
    path = engine.url.path
    if engine.dialect != "duckdb" or path in ("", ":memory:"):
        yield  # nothing else can reach an in-memory database
        return
    import fcntl

    lock_file = (
        Path(path)
        .expanduser()
        .resolve()
        .with_name(
            f".{Path(path).name}.{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}.lock"
        )
    )
    with open(lock_file, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                _wait_or_fail(name, deadline, wait_s)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _wait_or_fail(name: str, deadline: float, wait_s: float) -> None:
    if time.monotonic() >= deadline:
        raise LockTimeout(
            f"another run of {name} is in progress against this target",
            hint=f"wait for it to finish, or pass --wait SECONDS (waited {wait_s:g} s)",
        )
    time.sleep(_POLL_S)
