"""``pipelines:`` in headrace.yml: named loads that ``headrace run`` executes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SqlSourceConfig(BaseModel):
    """Read from another database: a connection (name or URL) and a table or a query."""

    model_config = ConfigDict(extra="forbid")

    connection: str
    table: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_of_table_or_query(self) -> SqlSourceConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        return self


class CsvConfig(BaseModel):
    """CSV dialect; unset fields keep the defaults (comma, double quote, header, utf-8)."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    header: bool | None = None
    encoding: str | None = None


class RetryConfig(BaseModel):
    """Retry policy for TransientError: attempts, exponential backoff with jitter."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_delay: float = Field(default=1.0, ge=0)
    max_delay: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=1.0, ge=0)


class RuntimeConfig(BaseModel):
    """Project-wide defaults for ``headrace run``."""

    model_config = ConfigDict(extra="forbid")

    retries: RetryConfig = Field(default_factory=RetryConfig)
    lock_wait: float = Field(default=0.0, ge=0)  # seconds to wait for another run's lock


class PipelineConfig(BaseModel):
    """One named load: a source (files or SQL) into one table."""

    model_config = ConfigDict(extra="forbid")

    source: str | SqlSourceConfig
    table: str
    to: str | None = None  # connection name or URL; default the warehouse
    format: Literal["csv", "tsv", "ndjson", "jsonl", "parquet"] | None = None
    schema_: str | dict[str, Any] | None = Field(default=None, alias="schema")
    write: Literal["append", "replace", "merge"] = "append"
    key: list[str] | str | None = None
    incremental: str | None = None
    contract: Literal["evolve", "freeze", "discard"] = "evolve"
    csv: CsvConfig = Field(default_factory=CsvConfig)
    depends_on: list[str] = Field(default_factory=list)
    # A check file (relative to the project root): its row-level checks for this table
    # run while loading, and failing rows are quarantined with the check's name.
    checks: str | None = None
    retries: RetryConfig | None = None  # default: runtime.retries
    timeout: float | str | None = None  # seconds or a duration ("10m"); default: none
    interval: float | str = 86400.0  # backfill interval (seconds or a duration); default 1d
    # Python functions (package.module:function, importable from the project root) applied
    # in order to each Arrow batch between extract and load; see docs/python-transforms.md.
    transforms: list[str] = Field(default_factory=list)

    @field_validator("transforms")
    @classmethod
    def _transform_specs(cls, value: list[str]) -> list[str]:
        from headrace.transform.python import parse_spec

        for spec in value:
            parse_spec(spec)  # the form only: importing user code waits until a run
        return [spec.strip() for spec in value]

    @field_validator("interval", mode="before")
    @classmethod
    def _interval_seconds(cls, value: Any) -> float:
        from headrace.config.durations import parse_duration

        seconds = parse_duration(value) if isinstance(value, str) else float(value)
        if seconds <= 0:
            raise ValueError("interval must be above zero")
        return seconds

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: Any) -> float | None:
        from headrace.config.durations import parse_duration

        if value is None:
            return None
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
        if seconds <= 0:
            raise ValueError("timeout must be above zero")
        return seconds
