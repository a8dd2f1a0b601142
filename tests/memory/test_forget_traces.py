"""A forget leaves no trace of what it forgot: a consolidated memory is summarised again from the
items it still holds (or deleted when none is left), and a memory whose text changes gets the vector
of its new text (before, the summary kept the forgotten episode's words, names and dates, and a
rewritten episode kept the forgotten item's vector)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from jotty.memory import Memory, MemoryHit, WordLlamaEmbedder
from jotty.memory.embedders import embed_texts

T0 = datetime(2023, 1, 1, tzinfo=UTC)
CAROLINE = ["Caroline moved to Boston in May", "Caroline started a job at a Boston hospital", "Caroline adopted a dog"]


@pytest.fixture
async def grouping(store: str) -> AsyncIterator[Memory]:
    """Wordllama's mean pooling groups Caroline's three episodes (see test_consolidate)."""
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        yield memory


async def consolidated(memory: Memory, user: str = "u1") -> tuple[list[str], MemoryHit]:
    ids = [
        str(await memory.remember(text, at=T0 + timedelta(days=3 * i), metadata={"user": user}))
        for i, text in enumerate(CAROLINE)
    ]
    report = await memory.consolidate()
    groups = [hit for hit in [await memory.get(m) for m in report.memory_ids] if hit is not None]
    assert len(groups) == 1 and groups[0].metadata["episodes"] == ids
    assert memory.summarizer is not None or "dog" in groups[0].text
    return ids, groups[0]


def stored_vector(memory: Memory, memory_id: str) -> np.ndarray | None:
    rows = memory.database().read(lambda cur: cur.rows("SELECT embedding FROM jotty_memory WHERE id = ?", (memory_id,)))
    blob = rows[0][0]
    return None if blob is None else np.frombuffer(bytes(blob), dtype=np.float32)


def assert_embedded(memory: Memory, memory_id: str, text: str) -> None:
    assert memory.embedder is not None
    vector = stored_vector(memory, memory_id)
    assert vector is not None
    assert np.allclose(vector, embed_texts(memory.embedder, [text])[0], atol=1e-6)


async def test_a_forgotten_episode_leaves_the_summary(grouping: Memory) -> None:
    ids, group = await consolidated(grouping)
    assert await grouping.forget(ids[2]) == 1  # the episode went (the summary changed)
    after = await grouping.get(group.id)
    assert after is not None
    assert "dog" not in after.text and "hospital" in after.text and "Boston" in after.text
    assert after.metadata["episodes"] == ids[:2] and after.metadata["summary"] == "extractive"
    assert after.metadata["span"][1].startswith("2023-01-04") and after.created_at == T0 + timedelta(days=3)
    assert after.seen == 2 and [s["id"] for s in after.sources] == ids[:2]
    assert_embedded(grouping, group.id, after.text)
    hits = await grouping.recall("Caroline's dog", k=10, level="all")
    assert all("dog" not in hit.text for hit in hits)


async def test_a_summary_left_without_episodes_goes(grouping: Memory) -> None:
    ids, group = await consolidated(grouping)
    kept = await grouping.remember("Melanie painted a sunset over the lake", metadata={"user": "u1"})
    assert await grouping.forget(ids) == 4  # three episodes and their summary
    assert await grouping.get(group.id) is None
    assert (await grouping.stats()).total == 1 and await grouping.get(str(kept)) is not None


async def test_forget_where_rewrites_and_embeds_the_episode_and_its_summary(grouping: Memory) -> None:
    ids, group = await consolidated(grouping)
    assert await grouping.remember("caroline moved to boston in may!", metadata={"user": "u2"}) == ids[0]
    assert await grouping.forget(where={"user": "u1"}) == 4  # two episodes went, one and the summary changed
    episode = await grouping.get(ids[0])
    assert episode is not None and episode.text == "caroline moved to boston in may!"
    assert_embedded(grouping, ids[0], episode.text)
    after = await grouping.get(group.id)
    assert after is not None and "may!" in after.text
    assert "hospital" not in after.text and "dog" not in after.text and after.metadata["episodes"] == [ids[0]]
    assert_embedded(grouping, group.id, after.text)


async def test_without_an_embedder_a_rewritten_memory_keeps_no_vector(store: str) -> None:
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        ids, group = await consolidated(memory)
    async with Memory(store, scope="g", embedder=False) as words_only:
        assert await words_only.forget(ids[2]) == 1
        assert stored_vector(words_only, group.id) is None
        after = await words_only.get(group.id)
        assert after is not None and "dog" not in after.text


async def test_a_semantic_memory_remembered_directly_is_not_rebuilt(memory: Memory) -> None:
    """Only a consolidated memory is summarised again: a semantic memory written by ``remember``
    that loses another user's item keeps its own text and stays."""
    fact = await memory.remember("Priya renewed the Porto lease", level="semantic", metadata={"user": "u1"})
    assert await memory.remember("priya renewed the porto lease!", level="semantic", metadata={"user": "u2"}) == fact
    assert await memory.forget(where={"user": "u2"}) == 1
    kept = await memory.get(str(fact))
    assert kept is not None and kept.text == "Priya renewed the Porto lease"
    assert [s["metadata"] for s in kept.sources] == [{"user": "u1"}]
