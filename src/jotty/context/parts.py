"""The parts a context window is assembled from, with their kinds and priorities."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jotty.context.text import as_text
from jotty.errors import ValidationError


class PartKind(StrEnum):
    """What a part is. The guard compresses the lowest priority first (see ``PRIORITY``)."""

    INSTRUCTIONS = "instructions"
    GOAL = "goal"
    PINNED = "pinned"
    HISTORY = "history"
    MEMORY = "memory"
    TOOL = "tool"
    DATA = "data"
    SKILL = "skill"


PRIORITY: dict[PartKind, int] = {
    PartKind.PINNED: 100,
    PartKind.INSTRUCTIONS: 90,
    PartKind.GOAL: 80,
    PartKind.SKILL: 60,
    PartKind.HISTORY: 50,
    PartKind.MEMORY: 40,
    PartKind.TOOL: 30,
    PartKind.DATA: 20,
}
"""Higher is kept longer. Instructions and the goal are only ever trimmed, never dropped."""

KEEP = frozenset({PartKind.INSTRUCTIONS, PartKind.GOAL})
"""Kinds the guard trims but does not drop while anything else can go."""

KEY_KINDS: dict[str, PartKind] = {
    "instructions": PartKind.INSTRUCTIONS,
    "system": PartKind.INSTRUCTIONS,
    "goal": PartKind.GOAL,
    "task": PartKind.PINNED,
    "phase": PartKind.PINNED,
    "member": PartKind.PINNED,
    "worker": PartKind.PINNED,
    "roles": PartKind.PINNED,
    "skipped": PartKind.PINNED,
    "facts": PartKind.PINNED,
    "history": PartKind.HISTORY,
    "steps": PartKind.HISTORY,
    "summary": PartKind.HISTORY,
    "inbox": PartKind.HISTORY,
    "attempts": PartKind.HISTORY,
    "previous_errors": PartKind.HISTORY,
    "memory": PartKind.MEMORY,
    "tool_results": PartKind.TOOL,
    "skills": PartKind.SKILL,
    "board": PartKind.DATA,
    "data": PartKind.DATA,
}
"""The kind of a ``ctx.data`` key when a pattern's window is guarded; other keys are data.
Extend it (``KEY_KINDS["notes"] = PartKind.MEMORY``) for keys of your own."""


@dataclass(slots=True)
class Part:
    """One part of a window. ``content`` is text or JSON data; ``tokens`` may be given when the
    provider reported them (else the guard counts). ``pinned`` parts are never changed."""

    name: str
    content: Any
    kind: PartKind = PartKind.DATA
    pinned: bool = False
    priority: int | None = None
    tokens: int | None = None
    category: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError(f"a context part needs a non-empty name, got {self.name!r}")
        try:
            self.kind = PartKind(self.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in PartKind)
            raise ValidationError(f"part {self.name!r}: unknown kind {self.kind!r}; use one of {kinds}") from None
        if self.kind is PartKind.PINNED:
            self.pinned = True
        if self.tokens is not None and (
            isinstance(self.tokens, bool) or not isinstance(self.tokens, int) or self.tokens < 0
        ):
            raise ValidationError(f"part {self.name!r}: tokens must be a count >= 0, got {self.tokens!r}")
        if self.priority is not None and (isinstance(self.priority, bool) or not isinstance(self.priority, int)):
            raise ValidationError(f"part {self.name!r}: priority must be a whole number, got {self.priority!r}")

    @property
    def rank(self) -> int:
        """The part's priority (its own, else its kind's)."""
        return PRIORITY[self.kind] if self.priority is None else self.priority

    def text(self) -> str:
        """The part as the model reads it: a header line and its content."""
        return f"[{self.kind.value}: {self.name}]\n{as_text(self.content)}"


def kind_of_key(key: str) -> PartKind:
    """The kind of a ``ctx.data`` key (``KEY_KINDS``, else data)."""
    return KEY_KINDS.get(key, PartKind.DATA)
