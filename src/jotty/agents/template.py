"""Argument templates: ``"--task={input}"`` with ``{name}`` placeholders, ``{{``/``}}`` for braces.

Only bare names are allowed (no attribute access, indexing or format specs), so a template can
never reach into the objects it is filled from. Each template becomes exactly one argument: there
is no shell and no word splitting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jotty.errors import AgentError, ValidationError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Template:
    """One parsed template: literal text and placeholder names, alternating."""

    source: str
    parts: tuple[str, ...]
    """Even indexes are literal text, odd indexes are placeholder names."""

    @classmethod
    def parse(cls, source: str, what: str = "template") -> Template:
        """Parse ``source``; raise ``ValidationError`` on a malformed placeholder."""
        if not isinstance(source, str):
            raise ValidationError(f"{what} must be a string, got {type(source).__name__}: {source!r}")
        parts: list[str] = []
        text: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(source):
            text.append(source[pos : match.start()])
            pos = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                text.append(token[0])
                continue
            name = match.group(1)
            if name is None or not _IDENT.match(name):
                raise ValidationError(
                    f"{what} {source!r} has a bad placeholder {token!r}: use {{input}} or "
                    "{context_key} with a plain name, and {{ or }} for literal braces"
                )
            parts.extend(("".join(text), name))
            text = []
        text.append(source[pos:])
        parts.append("".join(text))
        return cls(source, tuple(parts))

    @property
    def names(self) -> tuple[str, ...]:
        """The placeholder names, in order."""
        return self.parts[1::2]

    def render(self, values: Mapping[str, Any], what: str = "template") -> str:
        """Fill the placeholders; raise ``AgentError`` naming a placeholder that has no value."""
        if len(self.parts) == 1:
            return self.parts[0]
        out: list[str] = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                out.append(part)
            elif part in values:
                out.append(as_text(values[part]))
            else:
                known = ", ".join(sorted(values)) or "none"
                raise AgentError(
                    f"{what} {self.source!r} needs {{{part}}} but the run context has no {part!r} "
                    f"(known: {known}): pass it in the context data"
                )
        return "".join(out)


def as_text(value: Any) -> str:
    """A value as one argument: strings as they are, ``None`` as empty, anything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, default=str, ensure_ascii=False)
