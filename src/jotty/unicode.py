"""Text that can be stored: every str Jotty writes must encode to UTF-8."""

from __future__ import annotations

import re

from jotty.errors import ValidationError

SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate, which no UTF-8 encoder takes: what JSON's ``"\\udce9"`` parses to, and what
``surrogateescape`` leaves for an undecodable byte (a pair is one character in a str)."""


def sendable(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD, as a decoder replaces bytes that are not UTF-8."""
    return SURROGATE.sub("\ufffd", text)


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
