"""Review: a question only of a time gets the memories of that time, and no others."""

from __future__ import annotations

from datetime import UTC, datetime

from jotty.memory import Memory
from tests.runs.backends import Backend


async def test_a_named_day_month_or_year_ends_before_the_next_one_starts(backend: Backend) -> None:
    """A memory dated the next day (month, year) at midnight is not of the day (month, year) asked."""
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    async with Memory(backend.store, scope="bounds", embedder=False) as mem:
        march_first = await mem.remember("Planted tomatoes in the garden", at="2024-03-01T09:00:00+00:00")
        await mem.remember("Repainted the fence", at="2024-03-02")
        may = await mem.remember("Booked the train to Porto", at="2023-05-20")
        await mem.remember("Signed up for the marathon", at="2023-06-01")
        year = await mem.remember("Moved into the flat", at="2022-07-01")
        await mem.remember("Lost my keys at the party", at="2023-01-01")
        on_the_day = await mem.recall("What happened on 2024-03-01?", now=now)
        assert [h.id for h in on_the_day] == [march_first]
        in_may = await mem.recall("What happened in May 2023?", now=now)
        assert [h.id for h in in_may] == [may]
        in_2022 = await mem.recall("What happened in 2022?", now=now)
        assert [h.id for h in in_2022] == [year]


async def test_a_window_that_ends_now_holds_now(backend: Backend) -> None:
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    async with Memory(backend.store, scope="ends-now", embedder=False) as mem:
        held = await mem.remember("Fixed the bike's brakes", at=now)
        for question in ("What happened today?", "What happened this week?"):
            assert [h.id for h in await mem.recall(question, now=now)] == [held], question
