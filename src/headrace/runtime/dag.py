"""``headrace run``: the project's pipelines and models as a DAG, with retries, locks and resume.

Every run and step has a state (queued, running, retrying, succeeded, failed, skipped,
cancelled) written to ``_headrace.runs`` / ``_headrace.steps`` in the project warehouse
as it changes, so a crashed or interrupted run can be inspected and resumed. Each load is
itself exactly-once (one transaction), so re-running any step is safe; so is each model
build (see ``transform.materialize``). Loads run first where models read their tables,
then models in dependency order, each followed by the checks on the table it wrote.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError, UsageError
from headrace.load import state
from headrace.load.model import new_run_id
from headrace.load.pipelines import request_for
from headrace.runtime.faults import maybe_transient
from headrace.runtime.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from headrace.engines.base import EngineAdapter
    from headrace.load.model import LoadResult
    from headrace.load.runner import Progress
    from headrace.project import Project
    from headrace.quality.model import CheckDef
    from headrace.quality.run import CheckRun
    from headrace.transform.graph import ProjectGraph
    from headrace.transform.materialize import ModelBuild

DONE = ("succeeded", "failed", "skipped", "cancelled")


@dataclass
class StepOutcome:
    """One step of a run."""

    name: str
    status: str = "queued"
    attempts: int = 0
    kind: str = "load"
    result: LoadResult | None = None
    build: ModelBuild | None = None
    checks: CheckRun | None = None
    error: str | None = None
    note: str | None = None
    attempt_errors: list[str] = field(default_factory=list)  # one per failed attempt
    started_at: Any = None
    finished_at: Any = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The documented step fields, plus the load's figures."""
        r = self.result
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "rows_read": r.rows_read if r else 0,
            "rows_loaded": r.rows_loaded if r else 0,
            "rows_quarantined": r.rows_quarantined if r else 0,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "attempt_errors": self.attempt_errors,
            "note": self.note,
            "load_run_id": r.run_id if r else None,
            "checks": self.checks.to_json() if self.checks else None,
            "model": self.build.to_json() if self.build else None,
        }


@dataclass(frozen=True)
class StepSpec:
    """What a step runs: a pipeline's load (for a backfill, one interval of it) or a
    model's build."""

    pipeline: str  # the pipeline or model
    request: Any  # LoadRequest; None for a model
    deps: tuple[str, ...]
    kind: str = "load"


@dataclass
class RunOutcome:
    """A whole ``headrace run``."""

    run_id: str
    status: str
    steps: list[StepOutcome]
    resumed_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"run_id", "status", "steps": [...]}``."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "resumed_from": self.resumed_from,
            "steps": [s.to_json() for s in self.steps],
        }


def run_dag(
    project: Project,
    names: list[str],
    *,
    threads: int = 1,
    resume: bool = False,
    wait_s: float | None = None,
    run_checks: bool = True,
    progress: Progress | None = None,
    window: tuple[str, str] | None = None,
    full_refresh: bool = False,
) -> RunOutcome:
    """Run the selected steps (all when empty; ``+name`` adds what it depends on, ``name+``
    what depends on it, ``tag:x`` models by tag); with ``window`` backfill cursor pipelines
    interval by interval, each interval exactly once."""
    from headrace.transform.runner import check_compiles, check_sources, project_graph

    pipelines = project.config.pipelines
    # Unknown names, unknown references and cycles fail here, before anything runs.
    graph = project_graph(project)
    names_in_order = graph.select(names)
    if window is None:
        specs = {
            n: (
                StepSpec(n, request_for(n, pipelines[n], project.root), tuple(node.deps))
                if node.model is None
                else StepSpec(n, None, tuple(node.deps), kind="model")
            )
            for n in names_in_order
            for node in [graph.nodes[n]]
        }
    else:
        models = [n for n in graph.select(names) if graph.nodes[n].model] if names else []
        if models:
            raise UsageError(
                f"--start/--end backfill cursor pipelines; {models[0]} is a model",
                hint="backfill the pipelines, then run the models: headrace run PIPELINE+",
            )
        loads = [n for n in names_in_order if n in pipelines]
        specs = _backfill_specs(project, [n for n in names if n in pipelines], loads, window)
    run_id = new_run_id()
    steps = {n: StepOutcome(n, kind=spec.kind) for n, spec in specs.items()}
    lock_wait = project.config.runtime.lock_wait if wait_s is None else wait_s
    with _open_store(project, lock_wait) as store:
        if any(spec.kind == "model" for spec in specs.values()):
            check_sources(store, graph)
            check_compiles(graph, list(specs), store.dialect)
        resumed_from = _resume(store, steps) if resume else None
        run = state.RunRecord(
            run_id,
            "run",
            ", ".join(dict.fromkeys(spec.pipeline for spec in specs.values())),
            "pipelines",
            state.now(),
            details={"resumed_from": resumed_from},
        )
        _save(store, run, steps.values())
        _observe("on_run_start", project, run_id, list(specs))
        try:
            _execute(
                project,
                store,
                run,
                steps,
                specs,
                _Options(threads, lock_wait, run_checks, full_refresh, graph),
                progress,
            )
        except KeyboardInterrupt:
            for step in steps.values():
                if step.status not in DONE:
                    step.status, step.error = "cancelled", "interrupted"
            run.status = "cancelled"
            _save(store, run, steps.values())
            cancelled = RunOutcome(run_id, run.status, list(steps.values()), resumed_from)
            _observe("on_run_end", project, cancelled)
            raise
        failed = [s for s in steps.values() if s.status in ("failed", "cancelled")]
        run.status = "failed" if failed else "succeeded"
        run.finished_at = state.now()
        run.rows_read = sum(s.result.rows_read for s in steps.values() if s.result)
        run.rows_loaded = sum(s.result.rows_loaded for s in steps.values() if s.result)
        run.rows_quarantined = sum(s.result.rows_quarantined for s in steps.values() if s.result)
        run.error = failed[0].error if failed else None
        _save(store, run, steps.values())
    outcome = RunOutcome(run_id, run.status, list(steps.values()), resumed_from)
    _observe("on_run_end", project, outcome)
    return outcome


def _observe(hook: str, *args: Any) -> None:
    """Call an observer hook (lineage events, alerts): observers never fail a run."""
    import sys

    try:
        from headrace.observe import hooks

        getattr(hooks, hook)(*args)
    except Exception as exc:  # the hooks report their own failures; this is the last guard
        sys.stderr.write(f"warning: observer {hook} failed: {type(exc).__name__}\n")


def _open_store(project: Project, wait_s: float) -> EngineAdapter:
    """The run store (the project warehouse), waiting up to ``wait_s`` while another
    process holds it (a DuckDB file admits one writing process at a time)."""
    from headrace.errors import TransientError

    deadline = time.monotonic() + wait_s
    while True:
        store = project.engine(None)
        try:
            store.connect()
            state.ensure_state(store)
            return store
        except TransientError:
            store.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


@dataclass(frozen=True)
class _Options:
    threads: int
    lock_wait: float
    run_checks: bool
    full_refresh: bool
    graph: ProjectGraph


def _execute(
    project: Project,
    store: EngineAdapter,
    run: state.RunRecord,
    steps: dict[str, StepOutcome],
    specs: dict[str, StepSpec],
    options: _Options,
    progress: Progress | None,
) -> None:
    pipelines = project.config.pipelines
    default = project.config.runtime.retries
    threads, lock_wait = options.threads, options.lock_wait

    def ready(name: str) -> bool | None:
        """True to run, False to wait, None to skip (a dependency did not succeed)."""
        deps = [steps[d] for d in specs[name].deps if d in steps]
        if any(d.status in ("failed", "skipped", "cancelled") for d in deps):
            return None
        return all(d.status == "succeeded" for d in deps)

    def run_step(name: str) -> None:
        step = steps[name]
        if specs[name].kind == "model":
            _run_model_step(project, store, run.run_id, step, options)
            return
        config = pipelines[specs[name].pipeline]
        policy = _policy(config.retries or default)
        with _tracked(store, run.run_id, step) as on_retry:

            def attempt() -> LoadResult:
                maybe_transient(name)
                return project.load(
                    specs[name].request,
                    to=config.to,
                    progress=progress,
                    base_dir=project.root,
                    lock=f"pipeline:{specs[name].pipeline}",
                    lock_wait=lock_wait,
                    timeout=float(config.timeout) if config.timeout else None,
                )

            step.result, step.attempts = call_with_retry(
                attempt,
                policy,
                on_retry=on_retry,
            )
            step.status, step.error = "succeeded", None
            if options.run_checks and step.result is not None:
                _check_table(project, step, step.result.table, config.to, policy)

    pending = [n for n in steps if steps[n].status == "queued"]
    if threads <= 1:
        for name in pending:
            verdict = ready(name)
            if verdict is None:
                _skip(store, run.run_id, steps[name], list(specs[name].deps), steps)
            else:
                run_step(name)
        return
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="headrace-step") as pool:
        while pending or running:
            for name in list(pending):
                verdict = ready(name)
                if verdict is None:
                    pending.remove(name)
                    _skip(store, run.run_id, steps[name], list(specs[name].deps), steps)
                elif verdict and len(running) < threads:
                    pending.remove(name)
                    running[pool.submit(run_step, name)] = name
            if running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    future.result()
            elif pending:
                # Nothing runnable and nothing running: the rest wait on skipped steps.
                for name in pending:
                    _skip(store, run.run_id, steps[name], list(specs[name].deps), steps)
                pending.clear()


def _check_table(
    project: Project,
    step: StepOutcome,
    table: str,
    to: str | None,
    policy: RetryPolicy,
    extra: Sequence[CheckDef] = (),
) -> None:
    """Run the checks on the table a step wrote; a blocking failure fails the step."""
    # Checks ride out transient faults (a dropped connection) like loads do.
    step.checks, _ = call_with_retry(lambda: project.checks_for_table(table, to, extra), policy)
    blocking = [r for r in (step.checks.results if step.checks else []) if r.blocking_failure]
    if blocking:
        step.status = "failed"
        step.error = f"blocking check {blocking[0].check} failed on {blocking[0].table}"


def _run_model_step(
    project: Project, store: EngineAdapter, run_id: str, step: StepOutcome, options: _Options
) -> None:
    """Build one model (retrying transient faults), then run the checks on it."""
    from headrace.transform.runner import build

    policy = _policy(project.config.runtime.retries)
    model = options.graph.nodes[step.name].model
    assert model is not None
    with _tracked(store, run_id, step, error_prefix=f"model {step.name}: ") as on_retry:
        built, step.attempts = call_with_retry(
            lambda: build(
                project,
                step.name,
                options.graph,
                new_run_id(),
                full_refresh=options.full_refresh,
                lock_wait=options.lock_wait,
            ),
            policy,
            on_retry=on_retry,
        )
        step.build, step.status, step.error = built, "succeeded", None
        if built.action == "unchanged":
            step.note = built.reason
        elif options.run_checks:
            _check_table(project, step, model.name, None, policy, model.checks)


def _policy(retry: Any) -> RetryPolicy:
    """The RetryPolicy of a ``retries:`` config."""
    return RetryPolicy(retry.max_attempts, retry.initial_delay, retry.max_delay, retry.jitter)


@contextmanager
def _tracked(
    store: EngineAdapter, run_id: str, step: StepOutcome, *, error_prefix: str = ""
) -> Iterator[Callable[[int, BaseException, float], None]]:
    """A step's life in the run store: running, each retry with its error, then succeeded
    (set by the block), failed (a HeadraceError, not re-raised: dependants are skipped
    instead) or cancelled (anything else, re-raised), with its timings."""
    started = time.perf_counter()
    step.status, step.started_at, step.attempts = "running", state.now(), 1
    _save_step(store, run_id, step)

    def on_retry(attempt: int, error: BaseException, delay: float) -> None:
        step.status, step.attempts, step.error = "retrying", attempt + 1, str(error)
        step.attempt_errors.append(str(error))
        _save_step(store, run_id, step)

    try:
        yield on_retry
    except HeadraceError as exc:
        step.status, step.error = "failed", f"{error_prefix}{exc}"
        step.attempt_errors.append(str(exc))
    finally:
        step.seconds = time.perf_counter() - started
        step.finished_at = state.now()
        if step.status in ("running", "retrying"):
            step.status = "cancelled"
        _save_step(store, run_id, step)


def _backfill_specs(
    project: Project, names: list[str], names_in_order: list[str], window: tuple[str, str]
) -> dict[str, StepSpec]:
    """One step per interval of every cursor pipeline; each waits for the one before it and
    for the last interval of the pipelines it depends on."""
    import dataclasses

    from headrace.errors import UsageError

    pipelines = project.config.pipelines
    specs: dict[str, StepSpec] = {}
    last: dict[str, str] = {}
    for name in names_in_order:
        config = pipelines[name]
        request = request_for(name, config, project.root)
        if request.incremental is None or request.incremental.kind != "cursor":
            if name in names:
                raise UsageError(
                    f"pipeline {name} cannot be backfilled: it has no incremental: cursor:COL",
                    hint="backfill works interval by interval on a cursor column",
                )
            continue
        previous: str | None = None
        for lo, hi in intervals(window[0], window[1], float(config.interval)):
            step = f"{name}@{lo}"
            deps = tuple(last[d] for d in config.depends_on if d in last)
            specs[step] = StepSpec(
                name,
                dataclasses.replace(request, window=(lo, hi)),
                deps + ((previous,) if previous else ()),
            )
            previous = step
        if previous:
            last[name] = previous
    if not specs:
        raise UsageError("nothing to backfill: no pipeline has incremental: cursor:COL")
    return specs


def intervals(start: str, end: str, seconds: float) -> list[tuple[str, str]]:
    """Half-open intervals [lo, hi) covering [start, end); days print as dates."""
    import datetime as dt

    from headrace.errors import UsageError

    try:
        lo, stop = dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)
    except ValueError as exc:
        raise UsageError(
            f"bad --start/--end: {exc}", hint="use ISO dates like 2026-01-31"
        ) from None
    if stop <= lo:
        raise UsageError(f"--end {end} is not after --start {start}")
    step = dt.timedelta(seconds=seconds)
    whole_days = seconds % 86400 == 0 and lo.time() == dt.time(0)
    fmt = "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M:%S"
    found = []
    while lo < stop:
        hi = min(lo + step, stop)
        found.append((lo.strftime(fmt), hi.strftime(fmt)))
        lo = hi
    if len(found) > 10_000:
        raise UsageError(f"{len(found)} intervals: widen interval: or shorten the range")
    return found


def _skip(
    store: EngineAdapter,
    run_id: str,
    step: StepOutcome,
    deps: list[str],
    steps: dict[str, StepOutcome],
) -> None:
    blocker = next((d for d in deps if d in steps and steps[d].status != "succeeded"), "?")
    step.status, step.error = "skipped", f"{blocker} did not succeed"
    _save_step(store, run_id, step)


def _resume(store: EngineAdapter, steps: dict[str, StepOutcome]) -> str | None:
    """Mark steps that succeeded in the last failed or cancelled run as done."""
    runs = state.state_table("runs", store.dialect)
    last = store.fetchall(
        f"SELECT run_id, status FROM {runs} WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1"
    )
    # 'running' too: a run killed with SIGKILL never got to record its end.
    if not last or last[0][1] not in ("failed", "cancelled", "running"):
        return None
    previous = str(last[0][0])
    done = store.fetchall(
        f"SELECT step FROM {state.state_table('steps', store.dialect)}"
        f" WHERE run_id = {state.ph(store)} AND status = 'succeeded'",
        [previous],
    )
    for (name,) in done:
        if name in steps:
            steps[name].status = "succeeded"
            steps[name].note = f"succeeded in run {previous}; not repeated"
    return previous


# Worker threads share the run store's connection; one writer at a time.
_STORE_LOCK = threading.Lock()


# Run-store writes ride out a dropped connection too: the adapter reconnects on the next
# attempt (its idle connection may have died while a step was running).
_STORE_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.1, max_delay=1.0, jitter=0.1)


def _save(store: EngineAdapter, run: state.RunRecord, steps: Any) -> None:
    steps = list(steps)

    def write() -> None:
        with store.transaction():
            state.write_run(store, run)
            for step in steps:
                _write_step(store, run.run_id, step)

    with _STORE_LOCK:
        call_with_retry(write, _STORE_RETRY)


def _save_step(store: EngineAdapter, run_id: str, step: StepOutcome) -> None:
    def write() -> None:
        with store.transaction():
            _write_step(store, run_id, step)

    with _STORE_LOCK:
        call_with_retry(write, _STORE_RETRY)


def _write_step(store: EngineAdapter, run_id: str, step: StepOutcome) -> None:
    table = state.state_table("steps", store.dialect)
    p = state.ph(store)
    store.execute(f"DELETE FROM {table} WHERE run_id = {p} AND step = {p}", [run_id, step.name])
    r, b = step.result, step.build
    values = [
        run_id,
        step.name,
        step.kind,
        step.status,
        step.attempts,
        step.started_at,
        step.finished_at,
        r.rows_read if r else None,
        r.rows_loaded if r else (b.rows_written if b else None),
        r.rows_quarantined if r else None,
        r.run_id if r else (b.run_id if b and b.action != "unchanged" else None),
        step.error,
        json.dumps(step.attempt_errors),
    ]
    store.execute(f"INSERT INTO {table} VALUES ({state.placeholders(store, len(values))})", values)
