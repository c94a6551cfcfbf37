"""Pydantic models of ``headrace.yml``; unknown keys are errors, never silently ignored."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from headrace.config.durations import DURATION_FORMS, parse_duration
from headrace.config.observe import ObserveConfig
from headrace.config.pipelines import PipelineConfig, RuntimeConfig
from headrace.config.sql_models import ModelsConfig
from headrace.errors import UsageError

DEFAULT_WAREHOUSE = "duckdb:///warehouse.duckdb"
_CONNECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_URL_EXAMPLE = "duckdb:///file.duckdb"


def _expected(kind: str, what: str) -> PydanticCustomError:
    # The loader reads ctx["expected"] to say "expected X, got Y" without echoing secrets.
    return PydanticCustomError(kind, "expected {expected}", {"expected": what})


def _check_connection_name(name: str) -> str:
    if not _CONNECTION_NAME.fullmatch(name):
        raise PydanticCustomError(
            "connection_name",
            "invalid connection name '{name}': use letters, digits, _ and -, "
            "starting with a letter or _",
            {"name": name},
        )
    return name


ConnectionName = Annotated[str, AfterValidator(_check_connection_name)]


def connection_hint(names: Iterable[str]) -> str:
    """The hint shown when a connection name is not known."""
    known = ", ".join(sorted(names))
    listed = f"known connections: {known}" if known else "no connections are defined"
    return f"{listed}; a URL looks like {_URL_EXAMPLE}"


class ConnectionConfig(BaseModel):
    """One database connection: a URL plus session settings."""

    model_config = ConfigDict(extra="forbid")

    url: str
    read_only: bool = False
    statement_timeout: float | None = None  # seconds; None means no limit

    @model_validator(mode="before")
    @classmethod
    def _url_shorthand(cls, data: Any) -> Any:
        # `prod: postgresql://...` is the common case; the mapping form only adds settings.
        if isinstance(data, str):
            return {"url": data}
        if not isinstance(data, Mapping | ConnectionConfig):
            raise _expected("connection_type", "a URL or a mapping with a url key")
        return data

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, url: str) -> str:
        if "://" not in url:
            raise _expected(
                "connection_url",
                f"a connection URL like {_URL_EXAMPLE} or postgresql://user@host:5432/db",
            )
        return url

    @field_validator("statement_timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: Any) -> Any:
        if value is None:
            return None
        # bool is an int in Python, but `statement_timeout: true` is a mistake, not 1 second.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _expected("duration", DURATION_FORMS)
        try:
            seconds = parse_duration(value) if isinstance(value, str) else float(value)
        except ValueError:
            raise _expected("duration", DURATION_FORMS) from None
        if not (math.isfinite(seconds) and seconds > 0):
            raise _expected("duration", "a duration above zero (leave it out for no limit)")
        return seconds


class ProjectConfig(BaseModel):
    """The whole of ``headrace.yml``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    warehouse: str = DEFAULT_WAREHOUSE  # a URL, or the name of one of `connections`
    connections: dict[ConnectionName, ConnectionConfig] = Field(default_factory=dict)
    # Filled in by later capabilities; kept loose so that older files keep loading.
    pipelines: dict[ConnectionName, PipelineConfig] = Field(default_factory=dict)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    checks: list[dict[str, Any]] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    observe: ObserveConfig = Field(default_factory=ObserveConfig)

    @field_validator("warehouse")
    @classmethod
    def _warehouse_not_empty(cls, warehouse: str) -> str:
        if not warehouse.strip():
            raise _expected("warehouse", f"a URL like {_URL_EXAMPLE} or a connection name")
        return warehouse

    def resolve_connection(self, name_or_url: str | None = None) -> ConnectionConfig:
        """The connection for a name or a URL; ``None`` means the warehouse."""
        target = self.warehouse if name_or_url is None else name_or_url
        if "://" in target:
            return ConnectionConfig(url=target)
        found = self.connections.get(target)
        if found is None:
            raise UsageError(
                f"unknown connection {target!r}", hint=connection_hint(self.connections)
            )
        return found


__all__ = ["DEFAULT_WAREHOUSE", "ConnectionConfig", "ProjectConfig", "connection_hint"]
