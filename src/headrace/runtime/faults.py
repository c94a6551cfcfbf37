"""Test-only fault injection, switched on by environment variables (never by config).

- ``HEADRACE_TEST_PAUSE=POINT``: at fault point POINT the process writes
  ``headrace-paused:POINT`` to stderr and sleeps, so a test can kill it exactly there.
  Points: ``before_commit`` (everything written, transaction still open),
  ``after_commit`` (committed, run not yet reported), ``after_file`` (one file of a
  multi-file load written, transaction open), ``model_before_commit`` (a model built,
  its state written, transaction still open).
- ``HEADRACE_TEST_TRANSIENT=P`` (with optional ``HEADRACE_TEST_SEED``): each pipeline
  step attempt fails with a TransientError with probability P, before it touches data.
"""

from __future__ import annotations

import os
import random
import sys
import time

from headrace.errors import TransientError

_random = random.Random(int(os.environ.get("HEADRACE_TEST_SEED", "0")) or None)
PAUSE_SECONDS = 120.0


def fault_point(name: str) -> None:
    """Pause here when a test asked for it (no-op otherwise)."""
    if os.environ.get("HEADRACE_TEST_PAUSE") == name:
        sys.stderr.write(f"headrace-paused:{name}\n")
        sys.stderr.flush()
        time.sleep(PAUSE_SECONDS)


def maybe_transient(step: str) -> None:
    """Raise an injected TransientError with the configured probability."""
    chance = float(os.environ.get("HEADRACE_TEST_TRANSIENT", "0") or 0)
    if chance and _random.random() < chance:
        raise TransientError(f"injected transient fault in step {step}")
