"""``${VAR}`` and ``${VAR:-default}`` in YAML string values; ``$${`` writes a literal ``${``.

Interpolation runs on parsed string values, never on the raw file text, so a variable's
value cannot add keys or change the document's structure. Values of variables may be
secrets: no error raised here ever contains one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from headrace.config.yamltree import ConfigPath, dotted, nearest_line
from headrace.errors import ConfigError

# "$${" first, so that an escaped reference is never read as a real one.
_TOKEN = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    file: str = "headrace.yml",
    line: int | None = None,
    where: str | None = None,
) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in one string with values from ``env``."""
    return _substitute(text, os.environ if env is None else env, file, line, where)[0]


def interpolate_tree(
    value: Any,
    lines: dict[ConfigPath, int],
    env: Mapping[str, str] | None = None,
    *,
    file: str = "headrace.yml",
) -> tuple[Any, frozenset[ConfigPath]]:
    """Interpolate every string in a parsed document; also return the paths that used ``${}``."""
    environ = os.environ if env is None else env
    touched: set[ConfigPath] = set()

    def walk(node: Any, path: ConfigPath) -> Any:
        if isinstance(node, dict):
            return {key: walk(item, (*path, key)) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item, (*path, i)) for i, item in enumerate(node)]
        if isinstance(node, str):
            line = nearest_line(lines, path)
            text, used = _substitute(node, environ, file, line, dotted(path))
            if used:
                touched.add(path)
            return text
        return node

    return walk(value, ()), frozenset(touched)


def _substitute(
    text: str, env: Mapping[str, str], file: str, line: int | None, where: str | None
) -> tuple[str, bool]:
    if "$" not in text:
        return text, False
    prefix = f"{where}: " if where else ""
    pieces: list[str] = []
    used = False
    position = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[position : match.start()])
        position = match.end()
        if match.group(0) == "$${":
            pieces.append("${")
            continue
        body = match.group("body")
        if body is None:
            raise ConfigError(
                f"{prefix}'${{' without a closing '}}'",
                file=file,
                line=line,
                hint="write ${VAR}, or $${ for a literal ${",
            )
        name, has_default, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{prefix}{name!r} is not an environment variable name",
                file=file,
                line=line,
                hint="write ${VAR} or ${VAR:-default}; $${ writes a literal ${",
            )
        used = True
        found = env.get(name)
        # As in the shell, ":-" also replaces a variable that is set but empty.
        if has_default and not found:
            pieces.append(default)
        elif found is None:
            raise ConfigError(
                f"{prefix}environment variable {name} is not set",
                file=file,
                line=line,
                hint=f"export {name}=... or write ${{{name}:-default}}",
            )
        else:
            pieces.append(found)
    pieces.append(text[position:])
    return "".join(pieces), used


__all__ = ["interpolate", "interpolate_tree"]
