"""Named pipelines from headrace.yml: build their load requests and run them in order.

The full DAG runtime (parallelism, retries, resume) comes later; for now pipelines run one
after another in dependency order, and a failure skips the pipelines that depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.errors import ConfigError, HeadraceError, UsageError
from headrace.load.options import build_request

if TYPE_CHECKING:
    from headrace.config.pipelines import PipelineConfig
    from headrace.load.model import LoadRequest, LoadResult
    from headrace.quality.run import CheckRun


@dataclass
class PipelineOutcome:
    """How one pipeline ended."""

    name: str
    status: str  # succeeded | failed | skipped
    result: LoadResult | None = None
    error: str | None = None
    checks: CheckRun | None = None


def request_for(name: str, config: PipelineConfig, root: Path) -> LoadRequest:
    """The LoadRequest of one pipeline; relative paths are relative to the project root."""
    from headrace.config.pipelines import SqlSourceConfig

    schema_file = None
    schema_inline = None
    if isinstance(config.schema_, str):
        schema_file = (root / config.schema_).resolve()
    elif isinstance(config.schema_, dict):
        schema_inline = config.schema_
    source = config.source
    query = table = None
    if isinstance(source, SqlSourceConfig):
        source_text, query, table = source.connection, source.query, source.table
    else:
        path = Path(source).expanduser()
        source_text = str(path if path.is_absolute() else root / path)
    return build_request(
        source=source_text,
        table=config.table,
        fmt=config.format,
        schema_file=schema_file,
        schema=schema_inline,
        write=config.write,
        key=config.key,
        incremental=config.incremental,
        contract=config.contract,
        query=query,
        source_table=table,
        csv=config.csv.model_dump(),
        pipeline=name,
        checks_file=(root / config.checks).resolve() if config.checks else None,
    )


def order(pipelines: dict[str, PipelineConfig], selected: Sequence[str]) -> list[str]:
    """Selected pipelines (all when empty) plus their dependencies, dependencies first."""
    unknown = [n for n in selected if n not in pipelines]
    if unknown:
        known = ", ".join(sorted(pipelines)) or "none defined"
        raise UsageError(f"unknown pipeline {unknown[0]!r}", hint=f"pipelines: {known}")
    for name, config in pipelines.items():
        for dep in config.depends_on:
            if dep not in pipelines:
                raise ConfigError(f"pipeline {name!r} depends on unknown pipeline {dep!r}")
    result: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in result:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ConfigError(f"pipelines depend on each other in a cycle: {cycle}")
        visiting.append(name)
        for dep in pipelines[name].depends_on:
            visit(dep)
        visiting.pop()
        result.append(name)

    for name in selected or list(pipelines):
        visit(name)
    return result


def run_pipelines(
    pipelines: dict[str, PipelineConfig],
    selected: Sequence[str],
    load: Callable[[str, LoadRequest, str | None], LoadResult],
    root: Path,
    check: Callable[[LoadResult, str | None], CheckRun | None] | None = None,
) -> list[PipelineOutcome]:
    """Run in dependency order; a failed pipeline skips everything downstream of it.

    After each load, ``check`` runs the table's checks: a failing blocking check fails the
    pipeline (its rows stay loaded) so that pipelines depending on it are skipped.
    """
    outcomes: dict[str, PipelineOutcome] = {}
    for name in order(pipelines, selected):
        config = pipelines[name]
        blocked = [d for d in config.depends_on if outcomes[d].status != "succeeded"]
        if blocked:
            outcomes[name] = PipelineOutcome(name, "skipped", error=f"{blocked[0]} did not succeed")
            continue
        try:
            request = request_for(name, config, root)
            outcome = PipelineOutcome(name, "succeeded", load(name, request, config.to))
            outcomes[name] = outcome
            assert outcome.result is not None
            outcome.checks = check(outcome.result, config.to) if check else None
            blocking = [
                r for r in (outcome.checks.results if outcome.checks else []) if r.blocking_failure
            ]
            if blocking:
                outcome.status = "failed"
                outcome.error = f"blocking check {blocking[0].check} failed on {blocking[0].table}"
        except HeadraceError as exc:
            outcomes[name] = PipelineOutcome(name, "failed", error=str(exc))
    return list(outcomes.values())
