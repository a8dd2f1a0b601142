"""Time in a query: does it ask about the present state ("where does she live now"), for a time
("when did ..."), or name dates ("in May 2023", "last week", "2024-03-01", "3 days ago", "in the
past 24 hours")? And does it ask about nothing but a time ("what happened last week?", "anything
new lately?")?

Days, months and years are those of the zone the question is asked in (``time_intent``'s ``zone``):
"yesterday" asked on a Sunday evening in Los Angeles is Saturday there, though it is Monday in UTC."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
_LAST = re.compile(r"\b(last (week|month|year)|this (week|month|year))\b", re.IGNORECASE)
_DAY = re.compile(
    r"\b(earlier today|today|yesterday|this (morning|afternoon|evening)|tonight|last night)\b", re.IGNORECASE
)
"""Days and parts of days, by the clock of the question's zone."""
_PARTS = {"morning": (0, 12), "afternoon": (12, 18), "evening": (18, 24), "tonight": (18, 24)}
"""The hours (from, to) of a part of the day ("3 this morning" is morning too)."""
_OF_ELSE = r"(?!\s+(?:of|before|after)\b)"
"""Not the span up to now but the end of another: "the last 24 hours of March", "the last hour
before the deadline"."""
_WITHIN = re.compile(
    rf"\b(?:last|past)\s+{_COUNT}\s+(hour|day|week|month|year)s?\b{_OF_ELSE}",
    re.IGNORECASE,
)
_LAST_HOUR = re.compile(rf"\b(?:last|past)\s+hour\b{_OF_ELSE}", re.IGNORECASE)
"""The hour up to now ("in the last hour"), said without a count."""
_PAST = re.compile(
    rf"\b(?:(?:in|over|during|within)\s+the\s+(?:last|past)|past)\s+(day|week|month|year)\b{_OF_ELSE}", re.IGNORECASE
)
"""A day, week, month or year up to now, said without a count ("in the past week", "over the last
month"); "last week" alone is the week before (``_LAST``)."""
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


def _month_window(year: int, month: int, zone: tzinfo | None) -> tuple[float, float]:
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def _count(phrase: str) -> int:
    """How many a count says: "3", "two", "a few" (3), "a couple of" (2)."""
    said = phrase.lower().split()
    word = next((w for w in said if w in ("few", "couple")), said[-1])
    return _NUMBERS.get(word) or int(word)


def _named_window(query: str, now: datetime) -> tuple[float, float] | None:
    if match := _ISO.search(query):
        try:
            day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=now.tzinfo)
        except ValueError:
            return None
        return day.timestamp(), (day + timedelta(days=1)).timestamp()
    for match in _MONTH_YEAR.finditer(query):
        month = _MONTHS.get(match[1].lower())
        if month:
            return _month_window(int(match[2]), month, now.tzinfo)
    if match := _AGO.search(query):
        unit = match[2].lower()
        days = _count(match[1]) * _UNIT[unit]
        # a quarter of the span either side, at least one of its unit ("3 hours ago": an hour; a day for the rest)
        half = max(_UNIT["hour"] if unit == "hour" else 1.0, days * 0.25)
        return _before(now, days + half).timestamp(), _before(now, days - half).timestamp()
    if match := _WITHIN.search(query):  # "in the last 3 days", "over the past few weeks": up to now
        return _up_to_now(now, _count(match[1]) * _UNIT[match[2].lower()])
    if _LAST_HOUR.search(query):
        return _up_to_now(now, _UNIT["hour"])
    if match := _PAST.search(query):
        return _up_to_now(now, _UNIT[match[1].lower()])
    if match := _WEEKEND.search(query):
        return _weekend(now, this=match[1].lower() == "this")
    if match := _DAY.search(query):
        return _day_window(" ".join(match[1].lower().split()), now)
    if match := _LAST.search(query):
        phrase = match[1].lower()
        days = _UNIT[phrase.split()[-1]]
        if phrase.startswith("this"):
            return _up_to_now(now, days)
        return _before(now, 2 * days).timestamp(), _before(now, days * 0.5).timestamp()
    if match := _YEAR.search(query):
        year = int(match[1])
        zone = now.tzinfo
        return datetime(year, 1, 1, tzinfo=zone).timestamp(), datetime(year + 1, 1, 1, tzinfo=zone).timestamp()
    for word in words(query):
        month = _MONTHS.get(word)
        if month and word != "may" and len(word) > 3:
            year = now.year if month <= now.month else now.year - 1
            return _month_window(year, month, now.tzinfo)
    return None


def _before(now: datetime, days: float) -> datetime:
    """``days`` of elapsed time before ``now``, in ``now``'s zone. Not of the clock, as aware
    datetimes subtract: across a change of the clocks "in the last hour" was no time at all, or two
    hours, and "in the past 24 hours" 23 or 25."""
    return (now.astimezone(UTC) - timedelta(days=days)).astimezone(now.tzinfo)


def _up_to_now(now: datetime, days: float) -> tuple[float, float]:
    """The window of the ``days`` of elapsed time up to ``now`` ("in the last 3 days", "this week")."""
    return _before(now, days).timestamp(), now.timestamp()


def _clock(now: datetime, days: int, hour: int) -> datetime:
    """``hour`` o'clock ``days`` after ``now``'s day (0: that day, -1: the day before) in
    ``now``'s zone: a wall-clock time, so a day that changes the clocks is 23 or 25 hours long."""
    day = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=days + hour // 24)
    return day.replace(hour=hour % 24)


def _day_window(phrase: str, now: datetime) -> tuple[float, float] | None:
    """The window of a day or part of one ("yesterday", "this morning", "last night"): its hours on
    the clock, up to now when now is within them; None for a part of today yet to come."""
    if phrase == "yesterday":
        return _clock(now, -1, 0).timestamp(), _clock(now, 0, 0).timestamp()
    if phrase in ("today", "earlier today"):
        return _clock(now, 0, 0).timestamp(), now.timestamp()
    if phrase == "last night":  # the evening before and the night up to 6 (or now, before then)
        return _clock(now, -1, 18).timestamp(), min(_clock(now, 0, 6), now).timestamp()
    start, end = (_clock(now, 0, hour) for hour in _PARTS[phrase.split()[-1]])
    if start > now:
        return None
    return start.timestamp(), min(end, now).timestamp()


def _weekend(now: datetime, *, this: bool) -> tuple[float, float]:
    """Saturday and Sunday of the weekend a question means: during one, "this weekend" is it (up to
    now) and "last weekend" the one before; on a weekday both are the weekend just past."""
    if now.weekday() >= 5:  # Saturday or Sunday
        saturday = 5 - now.weekday()
        if this:
            return _clock(now, saturday, 0).timestamp(), now.timestamp()
        saturday -= 7
    else:
        saturday = -now.weekday() - 2
    return _clock(now, saturday, 0).timestamp(), _clock(now, saturday + 2, 0).timestamp()


def without_time_words(words: frozenset[str]) -> frozenset[str]:
    """``words`` (stemmed or not) without those that say when ("now", "days", "recently"): they
    place the question in time, and matching them as content finds "home for now", "yesterday"."""
    return frozenset(w for w in words if w not in _TIMELY and w.rstrip("s") not in _TIMELY)


def time_intent(query: str, now: float, zone: tzinfo = UTC) -> TimeIntent:
    """Read the time intent of ``query``, relative dates against ``now`` (epoch seconds), days
    (months, years, weekends, parts of the day, dates) as the clocks of ``zone`` show them."""
    said = set(words(query))
    past = any(found.search(query) for found in (_DAY, _LAST, _WITHIN, _LAST_HOUR, _PAST, _WEEKEND))  # a time gone by
    recent = bool(_RECENT & said or _PRESENT.search(query)) and not past
    try:  # now itself may be out of the calendar's range in the zone (a UTC 0001-01-01 01:00 is the year 0 in LA)
        window = _named_window(query, datetime.fromtimestamp(now, zone))
    except (ValueError, OverflowError):  # a date out of the calendar's range ("3000 years ago", "December 9999")
        window = None
    # its content words besides the time (the count of a span is of the time: "two weeks ago", "the
    # last couple of days"; elsewhere "couple" or "two" is content: "what did the couple do?")
    counts = {word for found in (*_AGO.finditer(query), *_WITHIN.finditer(query)) for word in words(found[1])}
    rest = said - STOPWORDS - _TIMELY - _ANY_EVENT - _MONTHS.keys() - counts
    only = (recent or window is not None) and not any(not word.isdigit() for word in rest)
    return TimeIntent(recent=recent, when=bool(_WHEN.search(query)), window=window, only=only)


def local_zone() -> tzinfo:
    """The zone of this process's clock: ``TZ`` when it names a zone (a key, or the path of a zone
    file), else the system's (``/etc/localtime``), else the current offset from UTC (fixed: without
    the zone's rules)."""
    return _local_zone(os.environ.get("TZ"))


@functools.lru_cache(maxsize=8)
def _local_zone(tz: str | None) -> tzinfo:
    key = (tz or "").removeprefix(":")
    path = key if key.startswith("/") else "/etc/localtime" if tz is None else None
    try:
        if path is not None:
            with open(path, "rb") as rules:
                return ZoneInfo.from_file(rules, key=key or "localtime")
        if key:
            return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    return datetime.now().astimezone().tzinfo or UTC
