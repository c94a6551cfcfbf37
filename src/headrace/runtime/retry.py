"""Retry policy: only TransientError is retried, with exponential backoff and jitter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from headrace.errors import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a step."""

    max_attempts: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 1.0


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """Run ``fn``; retry TransientError per ``policy``; return (result, attempts used).

    A TerminalError (or any other exception) is raised at once; after the last attempt
    the last TransientError is raised as it was.
    """
    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    attempts = 0

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            error = state.outcome.exception()
            delay = state.next_action.sleep if state.next_action else 0.0
            if error is not None:
                on_retry(state.attempt_number, error, float(delay))

    retrying = Retrying(
        stop=stop_after_attempt(max(1, policy.max_attempts)),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_delay, max=policy.max_delay, jitter=policy.jitter
        ),
        retry=retry_if_exception_type(TransientError),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    result: T | None = None
    for attempt in retrying:
        with attempt:
            attempts = attempt.retry_state.attempt_number
            result = fn()
    return result, attempts  # type: ignore[return-value]
