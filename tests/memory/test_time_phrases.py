"""Spans of time a question names besides dates: "in the last 3 days", "a few weeks ago", weekends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jotty.memory import Memory
from jotty.memory.timeq import time_intent
from tests.support.timewindow import window

WEDNESDAY = datetime(2024, 6, 26, 15, tzinfo=UTC)
SUNDAY = datetime(2024, 6, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("What did I do in the last 3 days?", 3),
        ("anything over the past two weeks?", 14),
        ("What happened in the last few days?", 3),
        ("Remind me of the past couple of months", 2 * 30.4),
        ("What happened in the LAST 10 DAYS?", 10),
    ],
)
def test_the_last_n_days_is_the_span_up_to_now(question: str, days: float) -> None:
    intent = time_intent(question, WEDNESDAY.timestamp())
    assert window(question, WEDNESDAY) == (WEDNESDAY - timedelta(days=days), WEDNESDAY)
    assert not intent.recent  # it names a span gone by, not the present state


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("What happened in the past week?", 7),
        ("what did I do over the past month", 30.4),
        ("anything new in the past year?", 365.25),
        ("What did Greta say in the last week?", 7),
        ("Anything over the last day?", 1),
        ("What happened during the past day?", 1),
    ],
)
def test_the_past_week_without_a_count_is_the_span_up_to_now(question: str, days: float) -> None:
    intent = time_intent(question, WEDNESDAY.timestamp())
    assert window(question, WEDNESDAY) == (WEDNESDAY - timedelta(days=days), WEDNESDAY)
    assert not intent.recent


@pytest.mark.parametrize(
    "question", ["What happened in the last day of March?", "What did we do in the last week before the move?"]
)
def test_the_last_day_of_something_else_is_no_span_up_to_now(question: str) -> None:
    found = window(question, WEDNESDAY)
    assert found is None or found[1] < WEDNESDAY - timedelta(days=2)


def test_last_week_alone_is_still_the_week_before() -> None:
    before = (WEDNESDAY - timedelta(days=14), WEDNESDAY - timedelta(days=3.5))  # not up to now
    assert window("What happened last week?", WEDNESDAY) == before
    assert time_intent("What happened in the past week?", WEDNESDAY.timestamp()).only


@pytest.mark.parametrize(("count", "days"), [("a few", 3), ("a couple of", 2), ("few", 3), ("2", 2)])
def test_a_count_in_words_of_days_ago(count: str, days: int) -> None:
    start, end = window(f"What happened {count} days ago?", WEDNESDAY) or (None, None)
    assert start is not None and end is not None
    assert start < WEDNESDAY - timedelta(days=days) < end


@pytest.mark.parametrize(
    ("question", "now", "saturday", "until"),
    [
        (
            "What did I do last weekend?",
            WEDNESDAY,
            datetime(2024, 6, 22, tzinfo=UTC),
            datetime(2024, 6, 24, tzinfo=UTC),
        ),
        ("How was this weekend?", WEDNESDAY, datetime(2024, 6, 22, tzinfo=UTC), datetime(2024, 6, 24, tzinfo=UTC)),
        ("What did I do this weekend?", SUNDAY, datetime(2024, 6, 29, tzinfo=UTC), SUNDAY),
        ("What did I do last weekend?", SUNDAY, datetime(2024, 6, 22, tzinfo=UTC), datetime(2024, 6, 24, tzinfo=UTC)),
    ],
)
def test_weekends(question: str, now: datetime, saturday: datetime, until: datetime) -> None:
    assert window(question, now) == (saturday, until)


@pytest.mark.parametrize(
    "question", ["What happened in the last 3 days?", "What did I do last weekend?", "anything a few days ago?"]
)
def test_a_question_of_such_a_span_only_asks_about_that_time(question: str) -> None:
    assert time_intent(question, WEDNESDAY.timestamp()).only


def test_a_count_too_big_for_the_calendar_places_nothing_in_time() -> None:
    assert window("What happened in the last 99999999999 years?", WEDNESDAY) is None


async def test_what_happened_in_the_last_days_is_what_was_said_then(store: str) -> None:
    said = {"We adopted a cat called Miso": 40, "I went hiking with my sister": 2, "Lunch with Ana at the pier": 4}
    async with Memory(store, scope="spans") as memory:
        ids = {text: await memory.remember(text, at=WEDNESDAY - timedelta(days=days)) for text, days in said.items()}
        recent = await memory.recall("What did I do in the last 3 days?", now=WEDNESDAY)
        assert [hit.id for hit in recent] == [ids["I went hiking with my sister"]]
        weekend = await memory.recall("What did I do last weekend?", now=WEDNESDAY)  # Saturday 22 to Monday 24
        assert [hit.id for hit in weekend] == [ids["Lunch with Ana at the pier"]]
        week = await memory.recall("What happened in the past week?", now=WEDNESDAY)
        assert {hit.id for hit in week} == {ids["I went hiking with my sister"], ids["Lunch with Ana at the pier"]}


async def test_now_at_the_epoch_is_1970_not_the_present(store: str) -> None:
    async with Memory(store, scope="epoch") as memory:
        await memory.remember("Moon landing party", at=datetime(1969, 12, 30, tzinfo=UTC))
        await memory.remember("Bought a phone", at=datetime(2024, 6, 1, tzinfo=UTC))
        hits = await memory.recall("What happened in the last 3 days?", now=0)
        assert [hit.text for hit in hits] == ["Moon landing party"]


@pytest.mark.parametrize(
    "question",
    [
        "What did the couple do last weekend?",
        "What did the couple say in the last 3 days?",
        "Which few tickets were closed last week?",
        "What did the two of them cook 3 days ago?",
    ],
)
def test_a_count_word_outside_a_span_is_content(question: str) -> None:
    """ "couple", "few" and "two" are of the time only in a count of it ("a couple of days ago"):
    elsewhere they are what the question asks about, so it is not a question only of a time."""
    assert time_intent(question, WEDNESDAY.timestamp()).only is False


@pytest.mark.parametrize(
    ("question", "days"),
    [("What happened in the last 1 day?", 1), ("anything over the past one week?", 7), ("the last 1 year", 365.25)],
)
def test_a_span_of_one_unit_is_named_in_the_singular(question: str, days: float) -> None:
    intent = time_intent(question, WEDNESDAY.timestamp())
    assert window(question, WEDNESDAY) == (WEDNESDAY - timedelta(days=days), WEDNESDAY)
    assert intent.only and not intent.recent
