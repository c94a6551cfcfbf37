"""Find, read and validate ``headrace.yml``; every failure is one ConfigError line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from headrace.config.interpolate import interpolate_tree
from headrace.config.messages import is_secret, validation_error
from headrace.config.models import ProjectConfig, connection_hint
from headrace.config.yamltree import ConfigPath, nearest_line, parse_yaml, read_text_file
from headrace.errors import ConfigError

CONFIG_NAMES = ("headrace.yml", "headrace.yaml")


def find_config(start: Path) -> Path | None:
    """The nearest headrace.yml (or .yaml) in ``start`` or one of its parents."""
    here = start.absolute()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        found = [folder / name for name in CONFIG_NAMES if (folder / name).is_file()]
        if len(found) > 1:
            # Picking one silently would leave the user editing a file that is never read.
            raise ConfigError(
                f"both {CONFIG_NAMES[0]} and {CONFIG_NAMES[1]} exist",
                file=str(folder),
                hint="keep one of them",
            )
        if found:
            return found[0]
    return None


def load_config(path: Path, env: Mapping[str, str] | None = None) -> ProjectConfig:
    """Read and validate a project file."""
    text = read_text_file(path, "config file", "create headrace.yml in the project folder")
    return load_config_text(text, file=str(path), env=env)


def load_config_text(
    text: str, *, file: str = "headrace.yml", env: Mapping[str, str] | None = None
) -> ProjectConfig:
    """Parse, interpolate and validate the text of a project file."""
    document = parse_yaml(text, file=file)
    value = {} if document.value is None else document.value
    if not isinstance(value, dict):
        raise ConfigError(
            "the top level must be a mapping (keys like warehouse: and connections:)",
            file=file,
            line=nearest_line(document.lines, ()),
        )
    value, secret_paths = interpolate_tree(value, document.lines, env, file=file)
    try:
        config = ProjectConfig.model_validate(value)
    except ValidationError as exc:
        # `from None`: pydantic's own text repeats input values, which may be secrets.
        raise validation_error(
            exc, model=ProjectConfig, file=file, lines=document.lines, secret_paths=secret_paths
        ) from None
    _check_warehouse(config, file, document.lines, secret_paths)
    return config


def _check_warehouse(
    config: ProjectConfig,
    file: str,
    lines: dict[ConfigPath, int],
    secret_paths: frozenset[ConfigPath],
) -> None:
    # Checked here rather than in the model so that the error can point at the line.
    warehouse = config.warehouse
    if "://" in warehouse or warehouse in config.connections:
        return
    shown = (
        "the value from an environment variable"
        if is_secret(("warehouse",), secret_paths)
        else repr(warehouse)
    )
    raise ConfigError(
        f"warehouse: {shown} is neither a URL nor a known connection",
        file=file,
        line=nearest_line(lines, ("warehouse",)),
        hint=connection_hint(config.connections),
    )


__all__ = ["CONFIG_NAMES", "find_config", "load_config", "load_config_text"]
