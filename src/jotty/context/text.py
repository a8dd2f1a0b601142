"""Token estimates and truncation for values that go into a context window."""

from __future__ import annotations

import json
from typing import Any

from jotty.errors import ValidationError

CHARS_PER_TOKEN = 4
"""The usual rough ratio of English text to tokens; good enough for budgets and summaries."""


def as_text(value: Any) -> str:
    """``value`` as the text an agent would see: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def estimate_tokens(value: Any) -> int:
    """A rough token count of ``value`` (characters / 4, rounded up)."""
    return -(-len(as_text(value)) // CHARS_PER_TOKEN)


def truncate(value: Any, max_tokens: int) -> Any:
    """``value`` unchanged when it fits in ``max_tokens``, else its text cut to fit, marked as cut."""
    if max_tokens <= 0:
        raise ValidationError(f"truncate: max_tokens must be a positive integer, got {max_tokens}")
    text = as_text(value)
    limit = max_tokens * CHARS_PER_TOKEN
    if len(text) <= limit:
        return value
    dropped = estimate_tokens(text[limit:])
    return f"{text[:limit]}... [truncated {dropped} tokens]"
