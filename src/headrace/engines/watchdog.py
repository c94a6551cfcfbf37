"""One background thread that fires deadlines: a statement timeout per query without
starting a thread per query (a ``threading.Timer`` costs ~0.2 ms, as much as a small
query on the MCP server's hot path)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Watchdog:
    """Call ``fn`` once ``seconds`` have passed, unless disarmed first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._live: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fn: Callable[[], None]) -> int:
        """Schedule ``fn``; returns a token for :meth:`disarm`."""
        with self._cond:
            token = next(self._ids)
            heapq.heappush(self._heap, (time.monotonic() + seconds, token, fn))
            self._live.add(token)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="headrace-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        """Cancel a deadline that has not fired (a no-op once it has)."""
        with self._cond:
            self._live.discard(token)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, token, fn = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if token not in self._live:
                    continue
                self._live.discard(token)
            fn()  # outside the lock: an interrupt may take a moment


WATCHDOG = Watchdog()
