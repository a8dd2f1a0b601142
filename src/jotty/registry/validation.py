"""Checks of what callers give the registry: names, tags, owners, identifiers, limits, filters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jotty.errors import ValidationError
from jotty.registry.records import KINDS
from jotty.unicode import utf8

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
MAX_LIMIT = 1_000
"""The most rows ``read`` returns at once."""
MAX_DESCRIPTION = 4_000
MAX_OWNER = 200
FILTERS = ("kind", "format", "tags", "tag", "owner", "run_id", "step", "column")
"""What ``discover`` filters on."""


def check_name(name: object, what: str = "a source name") -> str:
    """A source name: 1-200 letters, digits and ``_ . : / @ -``, no ``..``."""
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise ValidationError(
            f"{what} is 1-200 letters, digits and _ . : / @ - (starting with a letter or digit, no '..'), got {name!r}"
        )
    return name


def check_identifier(name: object, what: str = "a table name") -> str:
    """An SQL identifier the registry will quote: letters, digits and ``_``, not starting with a digit."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValidationError(
            f"{what} must be a plain identifier (letters, digits and _, at most 63, not starting with a digit), "
            f"got {name!r}; nothing else is run as SQL"
        )
    return name


def check_kind(kind: object) -> str:
    """One of ``KINDS``."""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return str(kind)


def check_tags(tags: object) -> list[str]:
    """A list of tags (each 1-64 letters, digits and ``_ . : / -``), without repeats, in order."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, Iterable) or isinstance(tags, bytes | dict):
        raise ValidationError(f"tags is a list of words such as ['sales', 'daily'], got {tags!r}")
    found: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not TAG.match(tag):
            raise ValidationError(f"a tag is 1-64 letters, digits and _ . : / -, got {tag!r}")
        if tag not in found:
            found.append(tag)
    return found


def check_text(value: object, what: str, limit: int = MAX_DESCRIPTION) -> str:
    """Plain text of at most ``limit`` characters (None is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise ValidationError(f"{what} has {len(value)} characters; at most {limit} are kept: shorten it")
    utf8(value, what)
    return value.strip()


def check_owner(owner: object) -> str:
    """Who owns a source: plain text of at most ``MAX_OWNER`` characters."""
    return check_text(owner, "owner", MAX_OWNER)


def check_limit(limit: object) -> int:
    """A row count from 1 to ``MAX_LIMIT``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def check_k(k: object) -> int:
    """How many hits: 1 to 1,000."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1_000:
        raise ValidationError(f"k must be a whole number from 1 to 1000, got {k!r}")
    return k


def check_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """``discover``'s filters: known keys, text values (``tags``: a list; all must be present)."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ValidationError(f"unknown filter {unknown}: filter on {', '.join(FILTERS)}")
    checked: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in ("tags", "tag"):
            checked.setdefault("tags", [])
            checked["tags"] += check_tags(value)
        elif key == "kind":
            checked[key] = check_kind(value)
        elif not isinstance(value, str) or not value:
            raise ValidationError(f"filter {key} takes a non-empty text value, got {value!r}")
        else:
            checked[key] = value
    return checked
