"""Review: a question only of a time whose first word is capitalised ("Anything new lately?")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jotty.memory import Memory
from tests.runs.backends import Backend


async def test_a_time_only_question_with_a_capitalised_word_gets_the_memories_of_that_time(backend: Backend) -> None:
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    said = {"I live in Lisbon": 90, "We adopted a cat called Miso": 40, "I went hiking with my sister": 6}
    for embedder in (None, False):
        scope = "cap-plain" if embedder is False else "cap"
        async with Memory(backend.store, scope=scope, embedder=embedder) as mem:
            ids = {text: await mem.remember(text, at=now - timedelta(days=days)) for text, days in said.items()}
            for question in ("Anything new lately?", "Recently, what happened?", "What happened Last Week?"):
                hits = await mem.recall(question, k=3, now=now)
                assert hits, (scope, question)
            last_week = await mem.recall("What happened Last Week?", now=now)
            assert [h.id for h in last_week] == [ids["I went hiking with my sister"]], scope
