"""The window of time a question names, as UTC datetimes (for tests of ``timeq``)."""

from __future__ import annotations

from datetime import UTC, datetime

from jotty.memory.timeq import time_intent


def window(question: str, now: datetime) -> tuple[datetime, datetime] | None:
    """``time_intent(question, now).window`` as datetimes in UTC, or None."""
    found = time_intent(question, now.timestamp()).window
    return None if found is None else (datetime.fromtimestamp(found[0], UTC), datetime.fromtimestamp(found[1], UTC))
