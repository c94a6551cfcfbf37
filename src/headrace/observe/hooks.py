"""What ``headrace run`` tells the observers: OpenLineage events and alert webhooks.

``runtime.dag`` calls :func:`on_run_start` once the run is recorded and
:func:`on_run_end` with the finished :class:`RunOutcome`. An observer that fails (an
unreachable lineage endpoint, a webhook down) costs one warning line on stderr, never
the run: the data is loaded either way, and the run store has the truth.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headrace.project import Project
    from headrace.runtime.dag import RunOutcome


def on_run_start(project: Project, run_id: str, step_names: list[str]) -> None:
    """The run's OpenLineage START event (when ``observe.openlineage`` is set)."""
    if project.config.observe.openlineage is None:
        return
    with observer("openlineage"):
        from headrace.observe.openlineage import emit, run_start_events

        emit(project, run_start_events(project, run_id, step_names))


def on_run_end(project: Project, outcome: RunOutcome) -> None:
    """Each step's START and COMPLETE/FAIL events and the run's end event; then alerts for
    a failed run, blocking check failures and new SLO or budget breaches."""
    observe = project.config.observe
    if observe.openlineage is not None:
        with observer("openlineage"):
            from headrace.observe.openlineage import emit, run_end_events

            emit(project, run_end_events(project, outcome))
    if observe.alerts:
        with observer("alerts"):
            from headrace.observe.alerts import notify_run

            notify_run(project, outcome)


@contextmanager
def observer(name: str) -> Iterator[None]:
    """Turn any failure inside into one warning line on stderr (no secrets in it)."""
    try:
        yield
    except Exception as exc:  # an observer never fails a run
        from headrace.observe.alerts import scrub

        text = scrub(str(exc)).splitlines()
        detail = f": {text[0]}" if text else ""
        sys.stderr.write(f"warning: {name} observer failed: {type(exc).__name__}{detail}\n")


__all__ = ["observer", "on_run_end", "on_run_start"]
