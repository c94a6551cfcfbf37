"""Named pipelines from headrace.yml: build their load requests and run them in order.

The full DAG runtime (parallelism, retries, resume) comes later; for now pipelines run one
after another in dependency order, and a failure skips the pipelines that depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.errors import ConfigError, UsageError
from headrace.load.options import build_request

if TYPE_CHECKING:
    from headrace.config.pipelines import PipelineConfig
    from headrace.load.model import LoadRequest


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
