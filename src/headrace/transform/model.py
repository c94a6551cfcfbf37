"""What a SQL model is once its file has been read: name, settings, parsed SELECT, refs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

    from headrace.config.sql_models import ModelSettings
    from headrace.quality.model import CheckDef


@dataclass(frozen=True)
class TableRef:
    """A table a model's SQL reads, as written, and where."""

    name: str  # "schema.table" or "table", lower case unless quoted
    line: int


@dataclass
class SqlModel:
    """One ``models/**/*.sql`` file."""

    name: str  # "schema.table"
    path: Path
    text: str  # the whole file
    settings: ModelSettings  # merged: header > config by name > by schema > defaults
    query: exp.Query  # parsed in ``dialect``
    dialect: str
    refs: list[TableRef]
    settings_lines: dict[str, int] = field(default_factory=dict)  # setting -> file line
    checks: list[CheckDef] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)  # resolved: model or table names

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def materialized(self) -> str:
        return self.settings.materialized or "view"

    @property
    def tags(self) -> list[str]:
        return list(self.settings.tags or [])

    @property
    def sql_hash(self) -> str:
        """Identifies the model's logic: its SQL (normalised) plus the settings that
        change what gets built."""
        settings = self.settings.model_dump_json(
            include={"materialized", "unique_key", "incremental", "indexes"}, exclude_none=True
        )
        digest = hashlib.sha256(self.query.sql(dialect=self.dialect, comments=False).encode())
        digest.update(settings.encode())
        return digest.hexdigest()[:16]

    def where(self, line: int | None = None) -> str:
        """``path:line`` for messages."""
        return f"{self.path}:{line}" if line else str(self.path)
