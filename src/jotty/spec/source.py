"""A definition's text as data plus where each key and value stands (line and column).

``parse(text, fmt, name)`` reads YAML or JSON into plain Python data and a ``Source`` that maps a
data path (``("flow", "steps", 0, "agent")``) to its position, so that every later error can say
``file:line:column``. Syntax errors, duplicate keys and non-string keys are ``SpecError`` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from jotty.spec.errors import Path, Pos, SpecError, dotted
from jotty.spec.jsonpos import parse_json

Format = Literal["yaml", "json"]
FORMATS: tuple[Format, ...] = ("yaml", "json")


@dataclass
class Source:
    """Parsed definition data with the position of every mapping key and value."""

    name: str
    """The file path (or ``<string>``) that messages start with."""
    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)

    def pos(self, path: Path) -> Pos:
        """Where ``path`` stands: its key when it is a mapping entry, else its value; an unknown
        path falls back to its nearest known ancestor."""
        while True:
            found = self.keys.get(path) or self.values.get(path)
            if found is not None or not path:
                return found or Pos(1, 1)
            path = path[:-1]

    def error(self, path: Path, message: str, *, at: Pos | None = None) -> SpecError:
        """A ``SpecError`` at ``path`` (or at ``at``): ``name:line:column: path: message``."""
        where = at or self.pos(path)
        label = dotted(path)
        text = f"{label}: {message}" if label else message
        return SpecError(f"{self.name}:{where.line}:{where.column}: {text}", self.name, where, label)

    def get(self, path: Path) -> Any:
        """The data at ``path`` (``None`` when there is none)."""
        value = self.data
        for part in path:
            found, value = child(value, part)
            if not found:
                return None
        return value


def child(value: Any, part: str | int) -> tuple[bool, Any]:
    """``(True, value[part])`` when ``value`` (a mapping or a list) has ``part``, else ``(False, None)``."""
    if isinstance(value, dict):
        return (True, value[part]) if part in value else (False, None)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return True, value[part]
    return False, None


def parse(text: str, fmt: Format, name: str) -> Source:
    """Parse ``text`` as ``fmt``; ``SpecError`` (with line and column) when it is not valid."""
    if fmt == "yaml":
        return _parse_yaml(text, name)
    if fmt == "json":
        data, values, keys = parse_json(text, name)
        return Source(name, data, values, keys)
    raise SpecError(f"{name}: unknown format {fmt!r}: use 'yaml' or 'json'", name, Pos(1, 1), "")


def _mark(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


def _parse_yaml(text: str, name: str) -> Source:
    source = Source(name, None)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError(
                f"{name}:1:1: the file is empty: a flow definition needs a 'flow:' key", name, Pos(1, 1), ""
            )
        source.data = _YamlBuilder(loader, source).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(mark) if mark is not None else Pos(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise SpecError(
            f"{name}:{where.line}:{where.column}: YAML syntax error: {problem}{context}", name, where, ""
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{name}:1:1: YAML error: {exc}", name, Pos(1, 1), "") from None
    finally:
        loader.dispose()
    return source


class _YamlBuilder:
    """Builds plain data from composed YAML nodes, recording each key's and value's mark."""

    def __init__(self, loader: yaml.SafeLoader, source: Source) -> None:
        self.loader = loader
        self.source = source
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.values[path] = _mark(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise self.source.error(path, "an alias refers to the mapping or list it is in", at=_mark(node.start_mark))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            raise self.source.error(path, f"unsupported YAML node {type(node).__name__}")
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        own = {id(key_node) for key_node, _ in node.value}
        self.loader.flatten_mapping(node)  # resolves '<<' merge keys (merged pairs come first)
        out: dict[str, Any] = {}
        first: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            at = _mark(key_node.start_mark)
            if not isinstance(key, str):
                raise self.source.error(path, f"the key {key!r} is not a string: quote it", at=at)
            if id(key_node) not in own:  # merged in: the mapping's own keys override it
                self.source.keys[(*path, key)] = at
                out[key] = self.build(value_node, (*path, key))
                continue
            if key in first:
                raise self.source.error(
                    (*path, key),
                    f"duplicate key {key!r} (first at line {first[key].line}): keep one of them",
                    at=at,
                )
            first[key] = at
            self.source.keys[(*path, key)] = at
            out[key] = self.build(value_node, (*path, key))
        return out
