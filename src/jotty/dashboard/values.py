"""Stored values as the dashboard shows them: JSON text, cut at ``PREVIEW_CHARS`` with a link to
the full value. The text is never interpreted as markup: the browser shows it with ``textContent``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PREVIEW_CHARS = 2_000


def value_link(run_id: str, which: str) -> str:
    """The API address of one full value of a run (``which``: ``input``, ``output`` or a step path)."""
    return f"/api/runs/{quote(run_id, safe='')}/value?which={quote(which, safe='')}"


def shown(text: str | None, run_id: str, which: str) -> dict[str, Any] | None:
    """``{"text", "size", "truncated", "href"}`` for the JSON ``text`` of a value (``None``: no value)."""
    if text is None:
        return None
    size = len(text)
    if size <= PREVIEW_CHARS:
        return {"text": text, "size": size, "truncated": False}
    return {"text": text[:PREVIEW_CHARS], "size": size, "truncated": True, "href": value_link(run_id, which)}
