"""Turn pydantic validation errors into one ``file:line: message (hint)`` line.

A value that came from ``${VAR}`` may be a secret, so it is described, never echoed.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from headrace.config.yamltree import ConfigPath, dotted, nearest_line
from headrace.errors import ConfigError

# Pydantic error type -> what the user should have written, finishing "expected ...".
_EXPECTED = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}
_FROM_ENV = "a value from an environment variable (not shown)"
_KEY_MARK = "[key]"  # pydantic's loc segment for an error in a dict key


def validation_error(
    exc: ValidationError,
    *,
    model: type[BaseModel],
    file: str,
    lines: dict[ConfigPath, int],
    secret_paths: Collection[ConfigPath] = (),
) -> ConfigError:
    """The earliest (by line) of a ValidationError's problems, as a ConfigError."""
    errors = exc.errors(include_url=False)
    # For `str | Model` fields pydantic reports both branches; a mapping was clearly meant
    # for the model, so the "expected a string" branch only adds noise.
    meant = [e for e in errors if not (e["type"] == "string_type" and isinstance(e["input"], dict))]
    errors = meant or errors

    def line_of(error: ErrorDetails) -> int:
        return nearest_line(lines, _data_path(error["loc"])) or 0

    first = min(errors, key=line_of)  # min keeps pydantic's order among equal lines
    return _config_error(first, model, file, lines, secret_paths)


def is_secret(path: ConfigPath, secret_paths: Collection[ConfigPath]) -> bool:
    """Whether ``path`` holds, or lies inside or around, a value that came from ``${VAR}``."""
    return any(
        path[: len(secret)] == secret or secret[: len(path)] == path for secret in secret_paths
    )


# Union branch tags pydantic puts into error locations; they are not keys in the file.
_UNION_TAGS = {"str", "SqlSourceConfig", "list[str]", "dict[str,any]", "int", "float", "bool"}


def _data_path(loc: tuple[int | str, ...]) -> ConfigPath:
    return tuple(part for part in loc if part != _KEY_MARK and not _is_union_tag(part))


def _is_union_tag(part: int | str) -> bool:
    return isinstance(part, str) and (part in _UNION_TAGS or part.startswith("function-"))


def _config_error(
    error: ErrorDetails,
    model: type[BaseModel],
    file: str,
    lines: dict[ConfigPath, int],
    secret_paths: Collection[ConfigPath],
) -> ConfigError:
    loc = tuple(error["loc"])
    path = _data_path(loc)
    line = nearest_line(lines, path)
    kind = error["type"]
    ctx = error.get("ctx") or {}

    if kind == "extra_forbidden":
        parent, key = path[:-1], str(path[-1])
        target = _model_at(model, parent)
        allowed = [f.alias or n for n, f in target.model_fields.items()] if target else []
        hint = f"allowed: {', '.join(allowed)}" if allowed else None
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            hint = f"{hint}; did you mean {close[0]!r}?"
        return ConfigError(
            f"unknown key {key!r} in {dotted(parent)}", file=file, line=line, hint=hint
        )
    if kind == "missing":
        parent, key = path[:-1], str(path[-1])
        return ConfigError(f"{dotted(parent)}: missing required key {key!r}", file=file, line=line)
    if loc and loc[-1] == _KEY_MARK:
        return ConfigError(f"{dotted(path[:-1])}: {error['msg']}", file=file, line=line)

    secret = is_secret(path, secret_paths)
    expected = ctx.get("expected") or _EXPECTED.get(kind)
    if expected:
        detail = f"expected {expected}, got {_describe(error['input'], secret)}"
    elif secret:
        # Other messages (a ValueError's text, say) may quote the input: say less instead.
        detail = f"invalid {_FROM_ENV}"
    else:
        detail = error["msg"].removeprefix("Value error, ")
    return ConfigError(f"{dotted(path)}: {detail}", file=file, line=line)


def _describe(value: Any, secret: bool) -> str:
    if secret:
        return _FROM_ENV
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def _model_at(model: type[BaseModel], path: ConfigPath) -> type[BaseModel] | None:
    """The model class that validates the value at ``path``, if that value is a model."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            field = fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


__all__ = ["is_secret", "validation_error"]
