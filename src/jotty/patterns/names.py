"""Checks shared by the patterns' constructors: names, unique names, positive numbers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jotty.errors import ValidationError


def check_name(name: Any, where: str) -> str:
    """A step, phase, branch or member name: a non-empty string without ``/`` (the path separator)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{where}: a name must be a non-empty string, got {name!r}")
    if "/" in name:
        raise ValidationError(f"{where}: the name {name!r} contains '/', which separates step paths; rename it")
    return name


def check_unique(names: Iterable[str], where: str, what: str = "steps") -> None:
    """``ValidationError`` naming the first name used twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationError(
                f"{where} has two {what} named {name!r}: names make the step paths that runs are "
                "checkpointed under, so give each a unique name="
            )
        seen.add(name)


def check_timeout(value: Any, where: str) -> float | None:
    """``None`` or a positive number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{where}: timeout={value!r}; give a positive number of seconds, or None for none")
    return float(value)


def check_count(value: Any, where: str, *, minimum: int = 1) -> int:
    """A whole number of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{where}={value!r}: give a whole number of at least {minimum}")
    return value
