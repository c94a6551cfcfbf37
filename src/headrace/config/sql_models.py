"""``models:`` in headrace.yml and the settings block at the top of a model's .sql file.

One settings shape serves both places: a model's own header wins over the entry for its
name in ``models.config``, which wins over the entry for its schema (its folder), which
wins over the project-wide defaults under ``models:``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Materialized = Literal["view", "table", "incremental"]
Strategy = Literal["append", "merge", "delete_insert"]


class IncrementalConfig(BaseModel):
    """How an incremental model takes in new rows."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy = "append"
    time_column: str
    # Re-read this far behind the watermark (late data); a duration for times, a number
    # for integer columns.
    lookback: float | str | None = None

    @model_validator(mode="after")
    def _lookback_needs_rewrite(self) -> IncrementalConfig:
        if self.lookback is not None and self.strategy == "append":
            raise ValueError(
                "lookback re-reads rows already loaded, which append would double;"
                " use strategy: merge or delete_insert"
            )
        return self


class ModelSettings(BaseModel):
    """Per-model settings; every field is optional so that layers can be merged."""

    model_config = ConfigDict(extra="forbid")

    materialized: Materialized | None = None
    unique_key: list[str] | str | None = None
    incremental: IncrementalConfig | None = None
    indexes: list[list[str] | str] | None = None
    checks: dict[str, Any] | None = None  # a check-file table entry without `table:`
    dialect: str | None = None
    tags: list[str] | None = None
    schema_: str | None = Field(default=None, alias="schema")
    description: str | None = None
    enabled: bool | None = None

    @field_validator("unique_key", mode="after")
    @classmethod
    def _key_list(cls, value: list[str] | str | None) -> list[str] | None:
        if value is None:
            return None
        return [value] if isinstance(value, str) else value

    def merged_over(self, base: ModelSettings) -> ModelSettings:
        """These settings, falling back to ``base`` where unset."""
        data = base.model_dump(by_alias=True, exclude_none=True)
        data.update(self.model_dump(by_alias=True, exclude_none=True))
        return ModelSettings.model_validate(data)


class ModelsConfig(BaseModel):
    """The ``models:`` section: where models live, their dialect and shared defaults."""

    model_config = ConfigDict(extra="forbid")

    path: str = "models"  # folder (relative to the project root) holding **/*.sql
    dialect: str = "duckdb"  # the dialect models are written in
    materialized: Materialized = "view"
    # Tables models may read that no pipeline loads (created by something else).
    sources: list[str] = Field(default_factory=list)
    # Settings by model name (`marts.revenue`) or by schema (`staging`: all its models).
    config: dict[str, ModelSettings] = Field(default_factory=dict)

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        return check_dialect(value)


def check_dialect(name: str) -> str:
    """``name`` if sqlglot knows the dialect, else a ValueError listing a few."""
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(name)
    except ValueError:
        raise ValueError(
            f"unknown SQL dialect {name!r}; use duckdb, postgres, spark, ..."
        ) from None
    return name


__all__ = ["IncrementalConfig", "Materialized", "ModelSettings", "ModelsConfig", "Strategy"]
