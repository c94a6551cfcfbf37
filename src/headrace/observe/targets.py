"""What SLOs and costs are reported for: the project's pipelines and its SQL models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.project import Project


@dataclass(frozen=True)
class Target:
    """A pipeline or model: the table it writes and where (None: the warehouse)."""

    name: str
    kind: str  # "load" | "model"
    table: str
    to: str | None = None


@dataclass
class Targets:
    """Pipelines first (config order), then models (graph order)."""

    items: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Names in report order."""
        return [t.name for t in self.items]


def project_targets(project: Project) -> Targets:
    """The project's pipelines and models; models are skipped, with a note, when their
    files do not parse (the report about everything else is still worth having)."""
    found = Targets(
        [Target(name, "load", p.table, p.to) for name, p in project.config.pipelines.items()]
    )
    try:
        models = project.graph().models
    except HeadraceError as exc:
        found.notes.append(f"models left out: {exc}")
        return found
    found.items.extend(Target(m.name, "model", m.name) for m in models)
    return found


__all__ = ["Target", "Targets", "project_targets"]
