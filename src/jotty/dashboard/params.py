"""Query parameters of the dashboard's API, checked: a bad one is a ``ValidationError`` saying what
to send instead (the API answers it with 400 and that message)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jotty.errors import ValidationError


def text(query: Mapping[str, str], name: str, *, limit: int = 200) -> str | None:
    """A plain text parameter, or ``None`` when absent or empty."""
    value = query.get(name, "").strip()
    if len(value) > limit:
        raise ValidationError(f"{name} is {len(value)} characters long: send at most {limit}")
    return value or None


def choice(query: Mapping[str, str], name: str, allowed: frozenset[str] | tuple[str, ...]) -> str | None:
    """One of ``allowed``, or ``None``."""
    value = text(query, name)
    if value is not None and value not in allowed:
        raise ValidationError(f"{name}={value!r} is not known: use one of {', '.join(sorted(allowed))}")
    return value


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer in ``[low, high]``."""
    raw = text(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name}={raw!r} is not a whole number: send e.g. {name}={default}") from None
    if not low <= value <= high:
        raise ValidationError(f"{name}={value} is out of range: send a number from {low} to {high}")
    return value


def moment(query: Mapping[str, str], name: str) -> float | None:
    """A time as epoch seconds or ISO 8601 (``2026-12-01`` or ``2026-12-01T04:00:00``), as epoch seconds."""
    raw = text(query, name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        raise ValidationError(
            f"{name}={raw!r} is not a time: send epoch seconds or ISO 8601 such as 2026-12-01T04:00"
        ) from None


class Where:
    """A ``WHERE`` clause built from the filters that were given (``None`` filters are left out)."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.args: list[Any] = []

    def add(self, term: str, *args: Any) -> None:
        self.terms.append(term)
        self.args.extend(args)

    def equal(self, **columns: Any) -> None:
        """``column = value`` for each column given a value."""
        for column, value in columns.items():
            if value is not None:
                self.add(f"{column} = ?", value)

    def after_cursor(self, key_column: str, stamp: Any, key: str) -> None:
        """Rows past the cursor (``stamp``, ``key``) in ``created_at DESC, key_column`` order."""
        # The leading range keeps the index usable (an OR alone makes SQLite scan from the top).
        self.add(f"created_at <= ? AND (created_at < ? OR {key_column} > ?)", stamp, stamp, key)

    @property
    def clause(self) -> str:
        return f"WHERE {' AND '.join(self.terms)}" if self.terms else ""
