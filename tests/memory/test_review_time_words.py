"""Review: a time said in words ("two weeks ago") places a question in time as digits do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory
from tests.runs.backends import Backend


async def test_a_time_ago_in_words_is_a_question_only_of_that_time(backend: Backend) -> None:
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    async with Memory(backend.store, scope="words-ago", embedder=False) as mem:
        then = await mem.remember("Went hiking in the mountains", at=now - timedelta(days=14))
        await mem.remember("We have two cats at home", at=now - timedelta(days=90))
        for question in ("What happened two weeks ago?", "What happened 2 weeks ago?"):
            hits = await mem.recall(question, now=now)
            assert [h.id for h in hits] == [then], question


async def test_a_time_out_of_the_calendars_range_is_no_time(memory: Memory) -> None:
    """A date before year 1 or after 9999 places nothing in time: recall answers, it does not raise."""
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    held = await memory.remember("We dug up a Roman coin in the garden", at=now - timedelta(days=3))
    for question in (
        "What happened 3000 years ago?",
        "What happened 99999999999 days ago?",
        "Which coin was dated 9999-12-31?",
        "Which coin was minted in December 9999?",
    ):
        hits = await memory.recall(question, now=now)
        assert "window" not in (hits[0].why if hits else {}), question
    assert [h.id for h in await memory.recall("Which coin was dug in December 9999?", now=now)] == [held]


async def test_a_moment_out_of_the_calendars_range_is_a_validation_error(memory: Memory) -> None:
    """Epoch seconds past year 9999 are refused as bad input (they raised OverflowError mid-recall)."""
    for far in (1e20, -1e20):
        with pytest.raises(ValidationError, match="epoch seconds"):
            await memory.recall("What happened last week?", now=far)
        with pytest.raises(ValidationError, match="epoch seconds"):
            await memory.remember("The far future cat", at=far)
    assert await memory.recall("cat") == []  # nothing was written


@pytest.mark.parametrize(
    "edge",
    [
        "9999-12-31T23:00:00-05:00",  # 10000-01-01 04:00 UTC
        "0001-01-01T01:00:00+05:00",  # year 0 in UTC
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
async def test_a_time_whose_offset_takes_it_out_of_the_calendar_is_a_validation_error(
    memory: Memory, edge: str | datetime
) -> None:
    """A date within years 1-9999 as written, out of them in UTC, is refused as bad input, as epoch
    seconds out of the range are (it raised ValueError 'year 10000 is out of range' mid-recall)."""
    with pytest.raises(ValidationError, match="between the years 1 and 9999"):
        await memory.recall("What happened last week?", now=edge)
    with pytest.raises(ValidationError, match="between the years 1 and 9999"):
        await memory.remember("The far future cat", at=edge)
    assert await memory.recall("cat") == []
