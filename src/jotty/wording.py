"""How Jotty words what people read (CLI output, generated descriptions, error messages, stored
texts): a count, a text cut to a length."""

from __future__ import annotations


def plural(number: int, noun: str, many: str | None = None) -> str:
    """``number`` (with thousands separators) and ``noun``, in the plural (``many``, default
    ``noun`` + s) unless it is one: ``plural(1, "source")`` is ``1 source``, ``plural(2, "memory",
    "memories")`` ``2 memories``."""
    return f"{number:,} {noun if number == 1 else many or noun + 's'}"


def cut(text: str, limit: int) -> str:
    """``text`` if it is at most ``limit`` characters, else its first ``limit - 1`` and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
