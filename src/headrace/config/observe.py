"""``observe:`` in headrace.yml: SLOs, the cost model, alert webhooks, OpenLineage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headrace.config.durations import parse_duration

# AWS us-east-1 on-demand list prices, as published in January 2025 (override them in
# headrace.yml): Fargate Linux/x86 per vCPU-hour, EBS gp3 storage per GB-month, Athena
# per TB scanned (an engine that charges for scanned bytes).
PRICE_SHEET_DATE = "2025-01"
VCPU_HOUR_USD = 0.04048
GB_MONTH_USD = 0.08
SCANNED_TB_USD = 5.0

AlertEvent = Literal["run_failed", "check_failed", "slo_breach", "budget_breach"]
ALL_EVENTS: tuple[AlertEvent, ...] = ("run_failed", "check_failed", "slo_breach", "budget_breach")


def _seconds(value: Any) -> float:
    seconds = parse_duration(value) if isinstance(value, str) else float(value)
    if seconds <= 0:
        raise ValueError("must be above zero")
    return seconds


class SloConfig(BaseModel):
    """Objectives of one pipeline (or the default for all)."""

    model_config = ConfigDict(extra="forbid")

    target: float = Field(default=99.9, gt=0, le=100)  # % of runs that succeed
    window: float | str = 30 * 86400.0  # seconds or a duration ("30d")
    max_age: float | str | None = None  # freshness objective: last success at most this old

    @field_validator("window", "max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else _seconds(value)


class CostConfig(BaseModel):
    """Rates of the cost model; defaults are the AWS price sheet above."""

    model_config = ConfigDict(extra="forbid")

    vcpu_hour_usd: float = Field(default=VCPU_HOUR_USD, ge=0)
    gb_month_usd: float = Field(default=GB_MONTH_USD, ge=0)
    scanned_tb_usd: float = Field(default=SCANNED_TB_USD, ge=0)
    vcpus: float = Field(default=1.0, gt=0)  # billed per second of a run
    budget_usd: float = Field(default=40.0, ge=0)  # per month
    # Runs per month by pipeline; unset ones are projected from the run history.
    runs_per_month: dict[str, float] = Field(default_factory=dict)


class WebhookConfig(BaseModel):
    """Where alerts go: a URL (secrets from ${ENV}), a payload shape, which events."""

    model_config = ConfigDict(extra="forbid")

    url: str
    format: Literal["json", "slack"] = "json"
    events: list[AlertEvent] = Field(default_factory=lambda: list(ALL_EVENTS))
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0)


class OpenLineageConfig(BaseModel):
    """Where OpenLineage RunEvents go: an NDJSON file or an HTTP endpoint."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = None  # relative to the project root
    url: str | None = None
    api_key: str | None = None
    namespace: str = "headrace"


class ObserveConfig(BaseModel):
    """The whole ``observe:`` section."""

    model_config = ConfigDict(extra="forbid")

    slo: dict[str, SloConfig] = Field(default_factory=dict)  # by pipeline; "default" for all
    cost: CostConfig = Field(default_factory=CostConfig)
    alerts: list[WebhookConfig] = Field(default_factory=list)
    openlineage: OpenLineageConfig | None = None

    def slo_for(self, pipeline: str) -> SloConfig:
        """The pipeline's objectives, else the default ones, else the built-in ones."""
        return self.slo.get(pipeline) or self.slo.get("default") or SloConfig()


__all__ = [
    "GB_MONTH_USD",
    "PRICE_SHEET_DATE",
    "SCANNED_TB_USD",
    "VCPU_HOUR_USD",
    "CostConfig",
    "ObserveConfig",
    "OpenLineageConfig",
    "SloConfig",
    "WebhookConfig",
]
