"""forget(where=) narrowed by before=, level= or ids: an item is forgotten only from a memory the
other criteria select, so a rebuilt summary keeps (text and ``sources``) the matching items of the
episodes they left out, and the facts stated to a summary they left out (each failed before)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from jotty.memory import Memory, MemoryHit, WordLlamaEmbedder
from tests.memory.test_forget_traces import CAROLINE, T0

USERS = ["u1", "u2", "u1"]


@pytest.fixture
async def grouping(store: str) -> AsyncIterator[Memory]:
    """Wordllama's mean pooling groups Caroline's three episodes (see test_forget_traces)."""
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        yield memory


async def mixed(memory: Memory) -> tuple[list[str], MemoryHit]:
    """Caroline's episodes on days 0, 3 and 6, said by u1, u2 and u1, consolidated into one summary."""
    ids = [
        str(await memory.remember(text, at=T0 + timedelta(days=3 * i), metadata={"user": user}))
        for i, (text, user) in enumerate(zip(CAROLINE, USERS, strict=True))
    ]
    report = await memory.consolidate()
    groups = [hit for hit in [await memory.get(m) for m in report.memory_ids] if hit is not None]
    assert len(groups) == 1 and groups[0].metadata["episodes"] == ids
    return ids, groups[0]


@pytest.mark.parametrize("narrow", ["before", "ids"])
async def test_a_left_out_episodes_matching_item_stays_in_the_summary(grouping: Memory, narrow: str) -> None:
    ids, group = await mixed(grouping)
    if narrow == "before":
        assert await grouping.forget(where={"user": "u1"}, before=T0 + timedelta(days=4)) == 2  # day 0, summary
    else:
        assert await grouping.forget(ids[:2], where={"user": "u1"}) == 2
    assert await grouping.get(ids[0]) is None and await grouping.get(ids[2]) is not None
    after = await grouping.get(group.id)
    assert after is not None
    assert "May" not in after.text and "hospital" in after.text and "dog" in after.text
    assert after.metadata["episodes"] == ids[1:] and [s["id"] for s in after.sources] == ids[1:]
    assert after.seen == 2 and after.created_at == T0 + timedelta(days=6)


async def test_level_keeps_the_episodes_items_in_a_summary_it_selects(grouping: Memory) -> None:
    """level="semantic" selects the summary, not its episodes: their items stay (in the summary too)."""
    ids, group = await mixed(grouping)
    assert await grouping.forget(where={"user": "u1"}, level="semantic") == 0
    after = await grouping.get(group.id)
    assert after is not None and (after.text, after.sources, after.seen) == (group.text, group.sources, 3)
    assert after.metadata["episodes"] == ids


async def test_a_fact_stated_to_a_summary_the_criteria_leave_out_stays(store: str) -> None:
    fact = "Caroline moved to Boston in May and works at a Boston hospital"

    async def summarizer(prompt: str) -> str:
        return fact

    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean"), summarizer=summarizer) as memory:
        ids, group = await mixed(memory)
        assert await memory.remember(fact, level="semantic", metadata={"user": "u1"}) == group.id
        assert await memory.forget(where={"user": "u1"}, level="episodic") == 3  # two episodes, the summary
        after = await memory.get(group.id)
        assert after is not None
        assert [(s["id"], s["metadata"]) for s in after.sources] == [
            (ids[1], {"user": "u2"}),
            (group.id, {"user": "u1"}),
        ]
        assert fact in after.text and after.seen == 2
        # the summary itself selected: its stated fact goes, its episode's item stays
        assert await memory.forget(where={"user": "u1"}, level="semantic") == 1
        after = await memory.get(group.id)
        assert after is not None and [s["id"] for s in after.sources] == [ids[1]] and after.seen == 1
