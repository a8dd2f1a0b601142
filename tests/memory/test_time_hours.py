"""Hours in a question: "in the past 24 hours", "in the last hour", "3 hours ago"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jotty.memory import Memory
from jotty.memory.timeq import time_intent
from tests.support.timewindow import window

NOW = datetime(2024, 6, 26, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("question", "hours"),
    [
        ("What happened in the past 24 hours?", 24),
        ("What did I do in the last 2 hours?", 2),
        ("anything over the past few hours?", 3),
        ("What happened in the last hour?", 1),
        ("What happened in the past hour?", 1),
        ("What happened in the LAST 1 HOUR?", 1),
    ],
)
def test_the_last_n_hours_is_the_span_up_to_now(question: str, hours: int) -> None:
    intent = time_intent(question, NOW.timestamp())
    assert window(question, NOW) == (NOW - hours * HOUR, NOW)
    assert intent.only and not intent.recent  # a span gone by, and nothing else asked


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did I do 3 hours ago?", 4, 2),  # an hour either side, as "3 days ago" gets a day
        ("What happened an hour ago?", 2, 0),
        ("What happened 12 hours ago?", 15, 9),  # a quarter of the span either side, as for days
    ],
)
def test_hours_ago_is_a_window_around_that_moment(question: str, start: int, end: int) -> None:
    assert window(question, NOW) == (NOW - start * HOUR, NOW - end * HOUR)
    assert time_intent(question, NOW.timestamp()).only


def test_days_ago_keeps_its_window() -> None:
    assert window("What happened 3 days ago?", NOW) == (NOW - timedelta(days=4), NOW - timedelta(days=2))


@pytest.mark.parametrize(
    "question", ["What did the couple do in the last 2 hours?", "What did the two of them cook an hour ago?"]
)
def test_a_count_word_outside_an_hour_span_is_content(question: str) -> None:
    assert time_intent(question, NOW.timestamp()).only is False


async def test_what_happened_in_the_last_hours_is_what_was_said_then(store: str) -> None:
    said = {"Fixed the bike's brakes": 0.5, "Lunch with Ana at the pier": 5, "We adopted a cat called Miso": 50}
    async with Memory(store, scope="hours") as memory:
        ids = {text: await memory.remember(text, at=NOW - hours * HOUR) for text, hours in said.items()}
        recent = await memory.recall("What happened in the past 2 hours?", now=NOW)
        assert [hit.id for hit in recent] == [ids["Fixed the bike's brakes"]]
        lunch = await memory.recall("What happened 5 hours ago?", now=NOW)
        assert [hit.id for hit in lunch] == [ids["Lunch with Ana at the pier"]]
        day = await memory.recall("What happened in the last 24 hours?", now=NOW)
        assert {hit.id for hit in day} == {ids["Fixed the bike's brakes"], ids["Lunch with Ana at the pier"]}
