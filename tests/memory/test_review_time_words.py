"""Review: a time said in words ("two weeks ago") places a question in time as digits do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
