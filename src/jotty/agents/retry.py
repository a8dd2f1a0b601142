"""Retry delays: exponential backoff with jitter, or what the server's ``Retry-After`` asks for."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from jotty.errors import ValidationError

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses worth retrying besides every 5xx."""


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is transient (timeout, conflict, rate limit, server error)."""
    return status in RETRYABLE_STATUS or status >= 500


@dataclass(frozen=True)
class Backoff:
    """Delays before retry ``n`` (0-based): ``base * 2**n`` capped at ``cap``, times a jitter in [0.75, 1].

    The jitter spreads clients apart, yet below the cap each delay is at least 1.5 times the one
    before it: the back-off always visibly grows, never looking like a constant retry interval.

    A server's ``Retry-After`` is honoured up to ``max_retry_after`` seconds.
    """

    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if not (self.base >= 0 and self.cap >= 0 and self.max_retry_after >= 0):
            raise ValidationError(
                f"backoff times must be >= 0 seconds, got base={self.base!r}, cap={self.cap!r}, "
                f"max_retry_after={self.max_retry_after!r}"
            )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt``; ``retry_after`` wins when given."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        exponential = min(self.cap, self.base * 2.0**attempt)
        return exponential * (0.75 + random.random() / 4)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        value = _number(lower["retry-after-ms"])
        if value is not None:
            return value / 1000
    raw = lower.get("retry-after")
    if raw is None:
        return None
    value = _number(raw)
    if value is not None:
        return value
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
