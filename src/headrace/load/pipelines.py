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
        transforms=config.transforms,
        transform_roots=[root],
    )


def order(
    pipelines: dict[str, PipelineConfig],
    selected: Sequence[str],
    config_file: Path | None = None,
) -> list[str]:
    """Selected pipelines (all when empty) plus their dependencies, dependencies first.

    DAG mistakes (unknown dependency, cycle) name the file and the line of the
    ``depends_on`` at fault, before anything runs.
    """

    def where(name: str) -> dict[str, object]:
        return {
            "file": str(config_file) if config_file else None,
            "line": _line(config_file, ("pipelines", name, "depends_on")),
        }

    unknown = [n for n in selected if n not in pipelines]
    if unknown:
        known = ", ".join(sorted(pipelines)) or "none defined"
        raise UsageError(f"unknown pipeline {unknown[0]!r}", hint=f"pipelines: {known}")
    for name, config in pipelines.items():
        for dep in config.depends_on:
            if dep not in pipelines:
                raise ConfigError(
                    f"pipeline {name!r} depends on unknown pipeline {dep!r}",
                    hint=f"pipelines: {', '.join(sorted(pipelines))}",
                    **where(name),  # type: ignore[arg-type]
                )
    result: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in result:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ConfigError(
                f"pipelines depend on each other in a cycle: {cycle}",
                hint="remove one of these depends_on entries",
                **where(name),  # type: ignore[arg-type]
            )
        visiting.append(name)
        for dep in pipelines[name].depends_on:
            visit(dep)
        visiting.pop()
        result.append(name)

    for name in selected or list(pipelines):
        visit(name)
    return result


def _line(config_file: Path | None, path: tuple[str, ...]) -> int | None:
    """The line of ``path`` in the project file (re-read only to point at a mistake)."""
    if config_file is None:
        return None
    from headrace.config.yamltree import nearest_line, parse_yaml, read_text_file

    try:
        document = parse_yaml(read_text_file(config_file, "config file"), file=str(config_file))
    except ConfigError:
        return None
    return nearest_line(document.lines, path)
