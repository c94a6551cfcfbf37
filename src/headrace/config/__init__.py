"""The project file ``headrace.yml``: pydantic models, YAML loader, ``${ENV}`` interpolation."""

from __future__ import annotations

from headrace.config.durations import parse_duration
from headrace.config.loader import find_config, load_config, load_config_text
from headrace.config.models import ConnectionConfig, ProjectConfig

__all__ = [
    "ConnectionConfig",
    "ProjectConfig",
    "find_config",
    "load_config",
    "load_config_text",
    "parse_duration",
]
