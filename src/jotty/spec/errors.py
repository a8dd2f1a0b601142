"""``SpecError``: a bad flow definition, located by file, line, column and key."""

from __future__ import annotations

from dataclasses import dataclass

from jotty.errors import DefinitionError

Path = tuple[str | int, ...]
"""Where a value stands in the definition's data: keys and list indexes from the root."""


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in the definition's text."""

    line: int
    column: int


def dotted(path: Path) -> str:
    """``("flow", "steps", 0, "agent")`` as ``flow.steps[0].agent``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class SpecError(DefinitionError):
    """A flow definition is invalid. ``str(error)`` is one line: ``file:line:column: key: what is
    wrong and how to fix it``; the parts are attributes too (``problems`` lists every problem
    found, the first one being the message)."""

    def __init__(self, message: str, source: str, pos: Pos, key: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.line = pos.line
        self.column = pos.column
        self.key = key
        self.problems = problems if problems is not None else [message]
