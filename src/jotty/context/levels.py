"""Context levels (seed 003): what goes into each window, for any pattern.

| level | every window holds |
|---|---|
| L1 | everything: all history, all memory and data, every tool result, every skill's instructions |
| L2 | as L1, but skills as descriptions until one is chosen (the step names it, or its category) |
| L3 | only the parts of the step's category (a classifier of its route), chosen skills only |
| L4 | as L3, and what the next step will likely need is loaded while this one runs |
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from jotty.errors import ValidationError


class Level(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"

    @property
    def scoped(self) -> bool:
        """Whether windows hold only the parts of the step's category (L3, L4)."""
        return self in (Level.L3, Level.L4)


def check_level(value: Any, where: str = "level") -> Level | None:
    """``value`` as a ``Level`` (``"L3"``, ``"l3"``, ``3`` or a ``Level``); ``None`` stays ``None``."""
    if value is None or isinstance(value, Level):
        return value
    text = f"L{value}" if isinstance(value, int) and not isinstance(value, bool) else str(value).strip().upper()
    try:
        return Level(text)
    except ValueError:
        raise ValidationError(f"{where}: unknown context level {value!r}; use one of L1, L2, L3, L4") from None
