"""Parse YAML into plain Python values while remembering the line of every key and item.

PyYAML's constructor forgets where values came from, so we compose the node tree and build
the values ourselves; error messages can then point at ``headrace.yml:7``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from headrace.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

ConfigPath = tuple[str | int, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Aliases can expand a small file exponentially ("billion laughs"); no real config comes close.
_MAX_VALUES = 1_000_000


@dataclass(frozen=True)
class Document:
    """Plain values of a YAML document plus the 1-based line of each path in it."""

    value: Any
    lines: dict[ConfigPath, int] = field(default_factory=dict)


def dotted(path: ConfigPath) -> str:
    """A path as people write it: ``connections.prod.url``, ``checks[0].name``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "top level"


def nearest_line(lines: dict[ConfigPath, int], path: ConfigPath) -> int | None:
    """The line of ``path``, or of its closest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def parse_yaml(text: str, *, file: str) -> Document:
    """Parse one YAML document (SafeLoader rules) into values and a path -> line map."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise yaml_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    if root is None:
        return Document(None)
    builder = _Builder(file)
    value = builder.build(root, ())
    return Document(value, builder.lines)


def yaml_error(exc: yaml.MarkedYAMLError, file: str) -> ConfigError:
    """A PyYAML error as one line that names the file and line."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "cannot parse"
    if exc.context and problem.startswith("but "):
        # PyYAML splits "expected X, but found Y" across context and problem.
        problem = f"{exc.context}, {problem}"
    hint = None
    if "\\t" in problem:
        hint = "indent with spaces; YAML does not allow tabs"
    elif isinstance(exc, yaml.constructor.ConstructorError):
        hint = "use plain YAML values; write ${VAR} to read an environment variable"
    line = mark.line + 1 if mark is not None else None
    return ConfigError(f"invalid YAML: {problem}", file=file, line=line, hint=hint)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[ConfigPath, int] = {}
        self._constructor = SafeConstructor()
        self._open: set[int] = set()
        self._count = 0

    def build(self, node: Node, path: ConfigPath) -> Any:
        self.lines.setdefault(path, _line(node))
        self._count += 1
        if self._count > _MAX_VALUES:
            raise ConfigError("too many values after expanding aliases", file=self.file)
        if isinstance(node, ScalarNode):
            try:
                return self._constructor.construct_object(node)
            except yaml.MarkedYAMLError as exc:
                raise yaml_error(exc, self.file) from None
        with self._visiting(node):
            if isinstance(node, SequenceNode):
                self._expect_tag(node, _SEQ_TAG)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            self._expect_tag(node, _MAP_TAG)
            result: dict[str, Any] = {}
            for key, (key_node, value_node) in self._entries(node, path).items():
                self.lines[(*path, key)] = _line(key_node)
                result[key] = self.build(value_node, (*path, key))
            return result

    def _entries(self, node: MappingNode, path: ConfigPath) -> dict[str, tuple[Node, Node]]:
        """Keys of a mapping with ``<<`` merges applied: explicit keys win, then earlier merges."""
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(value_node):
                    with self._visiting(source):
                        for key, pair in self._entries(source, path).items():
                            merged.setdefault(key, pair)
                continue
            key = self._key(key_node)
            if key in explicit:
                first = _line(explicit[key][0])
                raise ConfigError(
                    f"duplicate key {key!r} in {dotted(path)}: lines {first} and {_line(key_node)}",
                    file=self.file,
                    line=_line(key_node),
                    hint="keep one of them",
                )
            explicit[key] = (key_node, value_node)
        return {**merged, **explicit}

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise ConfigError(
                    "'<<' must be followed by a mapping or a list of mappings",
                    file=self.file,
                    line=_line(source),
                )
        return list(sources)

    def _key(self, node: Node) -> str:
        # Keys are kept as written: `on:` stays "on" instead of YAML 1.1's True.
        if not isinstance(node, ScalarNode):
            raise ConfigError("mapping keys must be plain text", file=self.file, line=_line(node))
        return str(node.value)

    def _expect_tag(self, node: Node, tag: str) -> None:
        if node.tag != tag:
            raise ConfigError(
                f"unsupported YAML tag {node.tag!r}",
                file=self.file,
                line=_line(node),
                hint="use plain YAML mappings and lists",
            )

    @contextmanager
    def _visiting(self, node: Node) -> Iterator[None]:
        # An alias inside its own anchor (&a [*a]) would otherwise recurse forever.
        if id(node) in self._open:
            raise ConfigError(
                "an alias refers to the mapping or list that contains it",
                file=self.file,
                line=_line(node),
            )
        self._open.add(id(node))
        try:
            yield
        finally:
            self._open.discard(id(node))


__all__ = ["ConfigPath", "Document", "dotted", "nearest_line", "parse_yaml", "yaml_error"]


def read_text_file(path: Path, what: str, missing_hint: str | None = None) -> str:
    """A config-like file as text: UTF-8 (BOM allowed), or one ConfigError naming it."""
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=file, hint=missing_hint) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", file=file) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            file=file,
            line=line,
            hint="save the file as UTF-8",
        ) from None
