"""Checks of everything given to ``Memory``: each failure is a ``ValidationError`` naming the fix,
raised before anything is written."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jotty.errors import ValidationError
from jotty.memory.records import DEFAULT_LEVELS, LEVELS, WRITABLE_LEVELS
from jotty.memory.timeq import local_zone
from jotty.unicode import utf8

MAX_TEXT = 32_000
"""The longest text one memory holds, in characters."""
MAX_METADATA = 16_000
"""The largest metadata of one memory, as JSON characters."""
MAX_K = 1_000
_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")


def check_text(text: object, where: str = "text") -> str:
    """A non-empty str within ``MAX_TEXT`` characters."""
    if isinstance(text, bytes | bytearray | memoryview):
        raise ValidationError(f"{where} is bytes: decode it first (text.decode('utf-8')) and pass the str")
    if not isinstance(text, str):
        raise ValidationError(f"{where} must be a str, got {type(text).__name__}: convert it to text first")
    if not text.strip():
        raise ValidationError(f"{where} is empty: give it some text")
    if len(text) > MAX_TEXT:
        raise ValidationError(
            f"{where} has {len(text)} characters, more than the limit of {MAX_TEXT}: split it into smaller "
            "memories (one fact or event each), or store the document elsewhere and remember a summary of it"
        )
    if "\x00" in text:
        raise ValidationError(f"{where} contains a NUL character: remove it")
    utf8(text, where)
    return text


def check_metadata(metadata: object, where: str = "metadata") -> dict[str, Any]:
    """A JSON-serialisable dict with str keys, within ``MAX_METADATA`` characters as JSON."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"{where} must be a dict, got {type(metadata).__name__}")
    if not all(isinstance(key, str) for key in metadata):
        raise ValidationError(f"{where} keys must be strings: convert them with str()")
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where} must be JSON-serialisable ({exc}): use str, numbers, lists, dicts") from None
    if len(encoded) > MAX_METADATA:
        raise ValidationError(
            f"{where} is {len(encoded)} characters as JSON, more than {MAX_METADATA}: keep references, not documents"
        )
    return dict(json.loads(encoded))


def check_time(value: object, where: str = "at") -> float | None:
    """Epoch seconds of a datetime (naive means UTC), an ISO 8601 string or a number; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{where} must be a datetime, an ISO 8601 string or epoch seconds, got a bool")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValidationError(f"{where} must be a finite number of epoch seconds, got {value!r}")
        return _datable(float(value), value, f"{where} must be epoch seconds")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"{where} {value!r} is not an ISO 8601 time: write it like 2026-05-01T12:00:00+00:00"
            ) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{where} must be a datetime, an ISO 8601 string or epoch seconds, got {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # within years 1-9999 as written, its offset may take it out of them in UTC ("9999-12-31T23:00-05:00")
    return _datable(value.timestamp(), value, f"{where} must be a time")


def check_timezone(value: object, where: str = "timezone") -> tzinfo:
    """The zone whose clock says what "yesterday" is: a ``zoneinfo`` key ("Europe/Lisbon") or a
    ``tzinfo``; None is the process's local zone (``local_zone``)."""
    if value is None:
        return local_zone()
    key = "a zoneinfo key such as 'Europe/Lisbon', 'America/Los_Angeles' or 'UTC'"
    fix = f"give {key}, or a tzinfo"
    if isinstance(value, tzinfo):
        try:
            told = datetime.now(UTC).astimezone(value).utcoffset()
        except Exception:  # a tzinfo of the caller's: whatever it raises, it tells no offset
            told = None
        if told is None:
            raise ValidationError(f"{where} {value!r} tells no offset from UTC: {fix}")
        return value
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a zone name or a tzinfo, got {value!r}: {fix}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, empty, a path, a NUL
        # a name was given, maybe typed (jotty memory search --timezone): a key is what to give
        raise ValidationError(f"{where} {value!r} is not a known time zone: give {key}") from None


def _datable(seconds: float, given: object, must: str) -> float:
    """``seconds``, if a date can name that moment in UTC (recall reads "now" and each hit's time as
    dates), else a ``ValidationError`` saying what it ``must`` be and naming ``given``."""
    try:
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        raise ValidationError(f"{must} between the years 1 and 9999 (in UTC), got {given!r}") from None
    return seconds


def check_unit(value: object, where: str) -> float | None:
    """None, or a number in [0, 1]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValidationError(f"{where} must be a number from 0 to 1, got {value!r}")
    return float(value)


def check_number(value: object, where: str) -> float | None:
    """None, or a finite number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def check_scope(scope: object) -> str:
    """A scope name: letters, digits and ``_ . : @ / -``, 1-128 characters, starting with a letter or digit."""
    if not isinstance(scope, str) or not _SCOPE.match(scope):
        raise ValidationError(
            f"scope {scope!r} is not a valid name: use 1-128 letters, digits and _ . : @ / - starting with a "
            "letter or digit, such as 'default', 'actor:coder' or 'team:research'"
        )
    return scope


def check_k(k: object) -> int:
    """A whole number of hits from 1 to ``MAX_K``."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return k


def check_levels(level: object) -> tuple[str, ...]:
    """The levels a recall searches: None (episodic and semantic), a level, a list of levels, or "all"."""
    if level is None:
        return DEFAULT_LEVELS
    if level == "all":
        return LEVELS
    names: Sequence[object] = [level] if isinstance(level, str) else level if isinstance(level, list | tuple) else []
    if not names:
        raise ValidationError(f"level must be one of {', '.join(LEVELS)}, 'all' or a list of them, got {level!r}")
    for name in names:
        if name not in LEVELS:
            raise ValidationError(f"unknown level {name!r}: use one of {', '.join(LEVELS)} (or 'all')")
    return tuple(dict.fromkeys(str(n) for n in names))


def check_store_level(level: object) -> str:
    """A level that ``remember`` may write: working or episodic (semantic comes from consolidation, but
    may be written directly too)."""
    if level not in WRITABLE_LEVELS:
        raise ValidationError(
            f"remember writes the level working, episodic or semantic, got {level!r}: procedural memory is "
            "the router's learning and archive is reached by fading"
        )
    return str(level)
