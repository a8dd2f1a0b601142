"""Text that can be stored: every str Jotty writes must encode to UTF-8."""

from __future__ import annotations

from jotty.errors import ValidationError


def utf8(text: str, where: str) -> bytes:
    """``text`` encoded to UTF-8; a ``ValidationError`` naming the lone surrogate if it cannot be
    (what ``bytes.decode(errors="surrogateescape")`` and ``os.fsdecode`` leave for undecodable bytes)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{where} is not valid Unicode text (it holds {text[exc.start : exc.end]!r} at position "
            f"{exc.start}, e.g. undecodable bytes): decode the source with the right encoding or errors='replace'"
        ) from None
