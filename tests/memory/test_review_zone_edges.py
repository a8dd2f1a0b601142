"""Review of hours and zones: a span of hours is elapsed time, also across a change of the clocks,
and a ``now`` at the edge of the calendar in the question's zone names no window (no crash)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jotty.memory import Memory
from jotty.memory.timeq import time_intent

LA = ZoneInfo("America/Los_Angeles")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks change by half an hour
HOUR = timedelta(hours=1)
SPRING = datetime(2024, 3, 10, 3, 30, tzinfo=LA)  # 02:00 was skipped: 40 minutes after 01:50 PST
AUTUMN = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=LA)  # the second 01:30 (PST)
HALF = datetime(2024, 10, 6, 2, 45, tzinfo=LORD_HOWE)  # 02:00 became 02:30 there


@pytest.mark.parametrize("now", [SPRING, AUTUMN, HALF])
@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened in the last hour?", 1, 0),
        ("What happened in the past 24 hours?", 24, 0),
        ("What did I do in the last 2 hours?", 2, 0),
        ("What happened an hour ago?", 2, 0),
        ("What did I do 3 hours ago?", 4, 2),
    ],
)
def test_hours_are_elapsed_time_on_a_day_the_clocks_change(question: str, start: int, end: int, now: datetime) -> None:
    found = time_intent(question, now.timestamp(), now.tzinfo or UTC).window
    assert found == (now.timestamp() - start * 3600, now.timestamp() - end * 3600)


async def test_the_last_hour_holds_what_was_said_in_it_when_the_clocks_went_forward(store: str) -> None:
    async with Memory(store, scope="spring", timezone=LA, embedder=False) as memory:
        utc = SPRING.astimezone(UTC)  # arithmetic on SPRING itself would be of its clock
        just = await memory.remember("Fixed the bike's brakes", at=utc - timedelta(minutes=40))  # 01:50 PST
        await memory.remember("Lunch with Ana at the pier", at=utc - 5 * HOUR)
        hits = await memory.recall("What happened in the last hour?", now=SPRING)
        assert [hit.id for hit in hits] == [just]


@pytest.mark.parametrize(
    ("now", "zone"),
    [
        (datetime(1, 1, 1, 1), "America/Los_Angeles"),  # naive: UTC, the year 0 in Los Angeles
        ("0001-01-01T01:00:00", "America/Los_Angeles"),
        (datetime(9999, 12, 31, 20, tzinfo=UTC), "Asia/Tokyo"),  # the year 10000 in Tokyo
        (datetime(1, 1, 1, 10, tzinfo=UTC).timestamp(), "America/Los_Angeles"),
    ],
)
async def test_a_now_at_the_calendars_edge_in_the_zone_is_no_crash(
    store: str, now: datetime | str | float, zone: str
) -> None:
    async with Memory(store, scope="edge", timezone=zone, embedder=False) as memory:
        await memory.remember("Planted tomatoes in the garden", at=datetime(2024, 6, 29, tzinfo=UTC))
        for question in ("What did I do yesterday?", "What happened 3 hours ago?", "Where are the tomatoes?"):
            await memory.recall(question, now=now)


@pytest.mark.parametrize(
    ("question", "month"),
    [
        ("What happened in the last 24 hours of March?", 3),
        ("What did we do in the last 3 days of April?", 4),
        ("What happened in the last hour of the party in June?", 6),
    ],
)
def test_the_last_hours_of_something_else_are_not_the_hours_up_to_now(question: str, month: int) -> None:
    now = datetime(2024, 6, 26, 15, tzinfo=UTC)
    found = time_intent(question, now.timestamp()).window
    assert found == (
        datetime(2024, month, 1, tzinfo=UTC).timestamp(),
        datetime(2024, month + 1, 1, tzinfo=UTC).timestamp(),
    )


@pytest.mark.parametrize(
    "question", ["What did I do in the last hour before the deadline?", "the last 2 hours of the meeting"]
)
def test_the_last_hour_of_an_event_names_no_time(question: str) -> None:
    assert time_intent(question, datetime(2024, 6, 26, 15, tzinfo=UTC).timestamp()).window is None
