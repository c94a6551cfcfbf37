"""Step timeouts: past the limit the engine cancels the running statement, the load's
transaction rolls back, and the step fails with a StepTimeout (retried if configured)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from headrace.errors import HeadraceError, TransientError

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter


class StepTimeout(TransientError):
    """The step ran past its timeout and was cancelled; nothing it wrote was committed."""


@contextmanager
def step_timeout(engine: EngineAdapter, seconds: float | None) -> Iterator[None]:
    """Cancel ``engine``'s running statement after ``seconds``; raise StepTimeout then."""
    if not seconds:
        yield
        return
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        engine.cancel()

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except HeadraceError as exc:
        if fired.is_set():
            raise StepTimeout(
                f"step cancelled after its {seconds:g}s timeout ({exc.message})",
                hint="raise timeout: for this pipeline, or make the load smaller",
            ) from None
        raise
    finally:
        timer.cancel()
