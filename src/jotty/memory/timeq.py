"""Time in a query: does it ask about the present state ("where does she live now"), for a time
("when did ..."), or name dates ("in May 2023", "last week", "2024-03-01", "3 days ago", "in the
past 24 hours")? And does it ask about nothing but a time ("what happened last week?", "anything
new lately?")?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jotty.memory.text import STOPWORDS, words

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_RECENT = frozenset(
    [
        "now",
        "currently",
        "current",
        "latest",
        "still",
        "nowadays",
        "recent",
        "recently",
        "lately",
        "today",
        "newest",
        "last",
    ]
)
_TIME_TEXT = """hour hours day days week weeks weekend month months year years ago yesterday today tonight morning
afternoon evening night past previous earlier since moment"""
_TIME_WORDS = frozenset(_TIME_TEXT.split())
_EVENT_TEXT = """happen happens happened happening go goes went gone going new news anything something
everything events event things thing stuff get got remember recall tell told say said"""
_ANY_EVENT = frozenset(_EVENT_TEXT.split())
"""Words of a question that asks only about a time, besides the time itself and stopwords."""
_TIMELY = _RECENT | _TIME_WORDS
_PRESENT = re.compile(
    r"\b(these days|at the moment|at present|(what['\u2019]s|what is|anything|something) new)\b", re.IGNORECASE
)
"""Phrases that ask about the present state as ``_RECENT``'s words do ("new" alone does not: "my
new job", "New Zealand")."""
_WHEN = re.compile(r"^\s*(when|what (time|date|day|year|month))\b|\bhow long ago\b", re.IGNORECASE)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_YEAR = re.compile(r"\b([A-Za-z]+)\.?\s+(\d{4})\b")
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")
_COUNT = r"(\d+|(?:a\s+)?few|(?:a\s+)?couple(?:\s+of)?|a|an|one|two|three|four|five|six)"
_AGO = re.compile(rf"\b{_COUNT}\s+(hour|day|week|month|year)s?\s+ago\b", re.IGNORECASE)
_LAST = re.compile(r"\b(yesterday|today|last (week|month|year)|this (week|month|year))\b", re.IGNORECASE)
_WITHIN = re.compile(
    rf"\b(?:last|past)\s+{_COUNT}\s+(hour|day|week|month|year)s?\b",
    re.IGNORECASE,
)
_LAST_HOUR = re.compile(r"\b(?:last|past)\s+hour\b", re.IGNORECASE)
"""The hour up to now ("in the last hour"), said without a count."""
_WEEKEND = re.compile(r"\b(last|this|past) weekend\b", re.IGNORECASE)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "few": 3, "couple": 2}
_UNIT = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30.4, "year": 365.25}


@dataclass(frozen=True)
class TimeIntent:
    """What the query says about time: ``recent`` (about the present), ``when`` (asks for a time),
    ``window`` (epoch-second bounds of the dates it names)."""

    recent: bool = False
    when: bool = False
    window: tuple[float, float] | None = None
    only: bool = False
    """The query asks about nothing but that time (``window``, or the present when ``recent``):
    every memory of that time answers it."""


def _month_window(year: int, month: int) -> tuple[float, float]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def _count(phrase: str) -> int:
    """How many a count says: "3", "two", "a few" (3), "a couple of" (2)."""
    said = phrase.lower().split()
    word = next((w for w in said if w in ("few", "couple")), said[-1])
    return _NUMBERS.get(word) or int(word)


def _named_window(query: str, now: datetime) -> tuple[float, float] | None:
    if match := _ISO.search(query):
        try:
            day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
        except ValueError:
            return None
        return day.timestamp(), (day + timedelta(days=1)).timestamp()
    for match in _MONTH_YEAR.finditer(query):
        month = _MONTHS.get(match[1].lower())
        if month:
            return _month_window(int(match[2]), month)
    if match := _AGO.search(query):
        unit = match[2].lower()
        days = _count(match[1]) * _UNIT[unit]
        centre = now - timedelta(days=days)
        # a quarter of the span either side, at least one of its unit ("3 hours ago": an hour; a day for the rest)
        half = timedelta(days=max(_UNIT["hour"] if unit == "hour" else 1.0, days * 0.25))
        return (centre - half).timestamp(), (centre + half).timestamp()
    if match := _WITHIN.search(query):  # "in the last 3 days", "over the past few weeks": up to now
        return (now - timedelta(days=_count(match[1]) * _UNIT[match[2].lower()])).timestamp(), now.timestamp()
    if _LAST_HOUR.search(query):
        return (now - timedelta(hours=1)).timestamp(), now.timestamp()
    if match := _WEEKEND.search(query):
        return _weekend(now, this=match[1].lower() == "this")
    if match := _LAST.search(query):
        phrase = match[1].lower()
        span = {"yesterday": 1, "today": 1, "week": 7, "month": 30.4, "year": 365.25}
        unit = phrase.split()[-1]
        days = span[unit]
        if phrase == "today" or phrase.startswith("this"):
            return (now - timedelta(days=days)).timestamp(), now.timestamp()
        return (now - timedelta(days=2 * days)).timestamp(), (now - timedelta(days=days * 0.5)).timestamp()
    if match := _YEAR.search(query):
        year = int(match[1])
        return datetime(year, 1, 1, tzinfo=UTC).timestamp(), datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()
    for word in words(query):
        month = _MONTHS.get(word)
        if month and word != "may" and len(word) > 3:
            year = now.year if month <= now.month else now.year - 1
            return _month_window(year, month)
    return None


def _weekend(now: datetime, *, this: bool) -> tuple[float, float]:
    """Saturday and Sunday of the weekend a question means: during one, "this weekend" is it (up to
    now) and "last weekend" the one before; on a weekday both are the weekend just past."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if now.weekday() >= 5:  # Saturday or Sunday
        saturday = midnight - timedelta(days=now.weekday() - 5)
        if this:
            return saturday.timestamp(), now.timestamp()
        saturday -= timedelta(days=7)
    else:
        saturday = midnight - timedelta(days=now.weekday() + 2)
    return saturday.timestamp(), (saturday + timedelta(days=2)).timestamp()


def without_time_words(words: frozenset[str]) -> frozenset[str]:
    """``words`` (stemmed or not) without those that say when ("now", "days", "recently"): they
    place the question in time, and matching them as content finds "home for now", "yesterday"."""
    return frozenset(w for w in words if w not in _TIMELY and w.rstrip("s") not in _TIMELY)


def time_intent(query: str, now: float) -> TimeIntent:
    """Read the time intent of ``query``, relative dates against ``now`` (epoch seconds)."""
    moment = datetime.fromtimestamp(now, UTC)
    said = set(words(query))
    past = any(found.search(query) for found in (_LAST, _WITHIN, _LAST_HOUR, _WEEKEND))  # names a time gone by
    recent = bool(_RECENT & said or _PRESENT.search(query)) and not past
    try:
        window = _named_window(query, moment)
    except (ValueError, OverflowError):  # a date out of the calendar's range ("3000 years ago", "December 9999")
        window = None
    # its content words besides the time (the count of a span is of the time: "two weeks ago", "the
    # last couple of days"; elsewhere "couple" or "two" is content: "what did the couple do?")
    counts = {word for found in (*_AGO.finditer(query), *_WITHIN.finditer(query)) for word in words(found[1])}
    rest = said - STOPWORDS - _TIMELY - _ANY_EVENT - _MONTHS.keys() - counts
    only = (recent or window is not None) and not any(not word.isdigit() for word in rest)
    return TimeIntent(recent=recent, when=bool(_WHEN.search(query)), window=window, only=only)
