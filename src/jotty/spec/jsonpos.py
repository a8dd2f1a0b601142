"""JSON with positions: the standard parser checks the syntax, a small scanner maps every key and
value to its line and column (and refuses duplicate keys, which ``json`` silently merges)."""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from collections.abc import Callable
from typing import Any

from jotty.spec.errors import Path, Pos, SpecError, dotted

_WHITESPACE = " \t\n\r"
_scanstring: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")  # noqa: B009 - untyped
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "NaN": float("nan"),
    "Infinity": float("inf"),
    "-Infinity": float("-inf"),
}


def parse_json(text: str, name: str) -> tuple[Any, dict[Path, Pos], dict[Path, Pos]]:
    """``(data, value positions, key positions)`` of the JSON ``text``; ``SpecError`` on bad JSON."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        where = Pos(exc.lineno, exc.colno)
        raise SpecError(f"{name}:{where.line}:{where.column}: JSON syntax error: {exc.msg}", name, where, "") from None
    scanner = _Scanner(text, name)
    data = scanner.value(scanner.skip(0), ())[0]
    return data, scanner.values, scanner.keys


class _Scanner:
    """Walks text that ``json.loads`` accepted; only duplicate keys can still fail."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.lines = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.values: dict[Path, Pos] = {}
        self.keys: dict[Path, Pos] = {}

    def pos(self, index: int) -> Pos:
        line = bisect.bisect_right(self.lines, index)
        return Pos(line, index - self.lines[line - 1] + 1)

    def skip(self, index: int) -> int:
        text = self.text
        while index < len(text) and text[index] in _WHITESPACE:
            index += 1
        return index

    def value(self, index: int, path: Path) -> tuple[Any, int]:
        self.values[path] = self.pos(index)
        char = self.text[index]
        if char == "{":
            return self.object(index + 1, path)
        if char == "[":
            return self.array(index + 1, path)
        if char == '"':
            return _scanstring(self.text, index + 1)
        for word, constant in _CONSTANTS.items():
            if self.text.startswith(word, index):
                return constant, index + len(word)
        match = json.scanner.NUMBER_RE.match(self.text, index)
        assert match is not None, "json.loads accepted the text"
        integer, fraction, exponent = match.groups()
        if fraction or exponent:
            return float(integer + (fraction or "") + (exponent or "")), match.end()
        return int(integer), match.end()

    def object(self, index: int, path: Path) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        index = self.skip(index)
        if self.text[index] == "}":
            return out, index + 1
        while True:
            at = self.pos(index)
            key, index = _scanstring(self.text, index + 1)
            if key in out:
                first = self.keys[(*path, key)]
                label = dotted((*path, key))
                raise SpecError(
                    f"{self.name}:{at.line}:{at.column}: {label}: duplicate key {key!r} "
                    f"(first at line {first.line}): keep one of them",
                    self.name,
                    at,
                    label,
                )
            self.keys[(*path, key)] = at
            index = self.skip(self.skip(index) + 1)  # past ':'
            out[key], index = self.value(index, (*path, key))
            index = self.skip(index)
            if self.text[index] == "}":
                return out, index + 1
            index = self.skip(index + 1)  # past ','

    def array(self, index: int, path: Path) -> tuple[list[Any], int]:
        out: list[Any] = []
        index = self.skip(index)
        if self.text[index] == "]":
            return out, index + 1
        while True:
            item, index = self.value(index, (*path, len(out)))
            out.append(item)
            index = self.skip(index)
            if self.text[index] == "]":
                return out, index + 1
            index = self.skip(index + 1)
