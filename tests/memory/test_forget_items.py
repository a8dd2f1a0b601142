"""forget(where=) by items, as a second review checked it: values compared as == compares them,
an empty where refused, sightings kept, and the consolidated memory that absorbed a changed episode
cleaned too (each failed before its fix)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory, WordLlamaEmbedder


async def test_where_compares_values_as_python_does(memory: Memory) -> None:
    nested = await memory.remember("Dana booked the Lisbon venue", metadata={"who": {"name": "dana", "id": 7}})
    number = await memory.remember("Omar ordered the team lunch", metadata={"priority": 2})
    assert await memory.forget(where={"who": {"id": 7, "name": "dana"}}) == 1  # another key order
    assert await memory.forget(where={"priority": 2.0}) == 1  # 2 == 2.0
    assert await memory.get(nested) is None and await memory.get(number) is None


async def test_an_empty_where_is_refused_and_nothing_goes(memory: Memory) -> None:
    kept = await memory.remember("Priya renewed the Porto lease", metadata={"user": "u1"})
    with pytest.raises(ValidationError, match=r"forget\(where=\{\}\) names no metadata"):
        await memory.forget(where={})
    assert await memory.get(kept) is not None


async def test_the_other_items_sightings_are_kept(memory: Memory) -> None:
    mid = await memory.remember("Priya renewed the Porto lease", metadata={"user": "u1"})
    for _ in range(2):
        assert await memory.remember("Priya renewed the Porto lease", metadata={"user": "u1"}) == mid
    assert await memory.remember("priya renewed the porto lease!", metadata={"user": "u2"}) == mid
    assert (hit := await memory.get(mid)) is not None and hit.seen == 4
    assert await memory.forget(where={"user": "u2"}) == 1
    assert (hit := await memory.get(mid)) is not None and hit.seen == 3


@pytest.fixture
async def grouping(store: str) -> AsyncIterator[Memory]:
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        yield memory


@pytest.mark.parametrize("narrow", ["level", "ids"])
async def test_a_forgotten_item_leaves_the_consolidated_memory_too(grouping: Memory, narrow: str) -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    texts = ["Caroline moved to Boston in May", "Caroline started a job at a Boston hospital", "Caroline adopted a dog"]
    ids = [
        await grouping.remember(t, at=start + timedelta(days=i), metadata={"user": "u1"}) for i, t in enumerate(texts)
    ]
    assert await grouping.remember("caroline moved to boston in may!", metadata={"user": "u2"}) == ids[0]
    report = await grouping.consolidate()
    semantic = [hit for hit in [await grouping.get(m) for m in report.memory_ids] if hit is not None]
    assert any({"user": "u2"} in [s["metadata"] for s in hit.sources] for hit in semantic)
    if narrow == "level":  # the consolidated memory is not of this level, nor among these ids
        assert await grouping.forget(where={"user": "u2"}, level="episodic") == 2
    else:
        assert await grouping.forget(ids[0], where={"user": "u2"}) == 2
    episode = await grouping.get(ids[0])
    assert episode is not None and [s["metadata"] for s in episode.sources] == [{"user": "u1"}]
    for memory_id in report.memory_ids:
        hit = await grouping.get(memory_id)
        assert hit is None or {"user": "u2"} not in [s["metadata"] for s in hit.sources]
