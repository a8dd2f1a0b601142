"""Consolidation on both stores: semantic memories with full provenance, fading to the archive,
the lease, and the no-double-merge guard.

The five episodes below make two groups (Caroline's three, Melanie's two) with wordllama's own mean
pooling, whose vectors lean on a text's rare words such as names: these tests take that embedder, so
what they test (provenance, the lease, the race) does not hang on the default's pooling. With the
default (unit) pooling, which weighs every token alike, only Melanie's two episodes share enough
meaning to group: ``test_the_default_pooling_groups_by_meaning``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jotty.memory import Memory, WordLlamaEmbedder
from jotty.memory.consolidate import acquire, release
from tests.runs.backends import Backend

T0 = datetime(2023, 1, 1, tzinfo=UTC)
EPISODES = [
    ("Caroline moved to Boston in May", 0, 1),
    ("Caroline started a job at a Boston hospital", 3, 2),
    ("Caroline adopted a dog named Max", 6, 3),
    ("Melanie painted a sunset over the lake", 2, 4),
    ("Melanie sold her sunset painting", 9, 5),
]


@pytest.fixture
async def memory(store: str) -> AsyncIterator[Memory]:
    """A ``Memory`` with wordllama's mean pooling (see the module's docstring)."""
    mem = Memory(store, scope="test", embedder=WordLlamaEmbedder(pooling="mean"))
    try:
        yield mem
    finally:
        await mem.close()


async def remember_episodes(memory: Memory) -> list[str | None]:
    return await memory.remember_many(
        [{"text": text, "at": T0 + timedelta(days=day), "metadata": {"i": i}} for text, day, i in EPISODES]
    )


async def test_semantic_memories_keep_every_source(memory: Memory) -> None:
    ids = await remember_episodes(memory)
    report = await memory.consolidate()
    assert report.lease and report.replayed == 5 and report.clusters == 2 and report.absorbed == 5
    semantic = [await memory.get(mid) for mid in report.memory_ids]
    by_sources = sorted(sorted(s["metadata"]["i"] for s in hit.sources) for hit in semantic if hit)
    assert by_sources == [[1, 2, 3], [4, 5]]
    caroline = next(hit for hit in semantic if hit and "Caroline" in hit.text)
    assert caroline.level == "semantic" and caroline.metadata["kind"] == "consolidated"
    assert caroline.metadata["episodes"] == ids[:3] and caroline.created_at == T0 + timedelta(days=6)
    hits = await memory.recall("what do we know about Caroline and her dog?", k=3)
    assert caroline.id in [h.id for h in hits]
    again = await memory.consolidate()
    assert again.clusters == 0 and again.absorbed == 0  # nothing is merged twice


async def test_the_default_pooling_groups_by_meaning(store: str) -> None:
    """The default embedder (unit pooling) on the same episodes: Caroline's three share a name but
    not a subject (a move, a job, a dog: cosines 0.2-0.4 against 0.45-0.76 with the mean pooling),
    so they stay episodes; Melanie's two, both about her sunset painting, still group."""
    async with Memory(store, scope="default-pooling") as memory:
        assert memory.embedder_name == "wordllama-l2_supercat-256-unit"
        ids = await remember_episodes(memory)
        report = await memory.consolidate()
        assert report.replayed == 5 and report.clusters == 1 and report.absorbed == 2
        semantic = await memory.get(report.memory_ids[0])
        assert semantic is not None and sorted(s["metadata"]["i"] for s in semantic.sources) == [4, 5]
        assert semantic.metadata["episodes"] == ids[3:]
        assert {h.id for h in await memory.recall("Caroline", k=5)} >= set(ids[:3])  # still episodes


async def test_unused_low_salience_episodes_fade_to_archive(memory: Memory) -> None:
    old = await memory.remember("the office coffee machine was broken", at=T0, importance=0.3)
    kept = await memory.remember("the release key is stored in the vault", at=T0, importance=0.9)
    await memory.remember("the quarterly review happened", at=T0 + timedelta(days=60))
    report = await memory.consolidate()
    assert report.faded == 1
    assert await memory.recall("coffee machine") == []
    archived = await memory.recall("coffee machine", level="archive")
    assert [h.id for h in archived] == [old] and archived[0].level == "archive"
    assert [h.id for h in await memory.recall("release key vault")] == [kept]
    revived = await memory.remember_detailed("The office coffee machine was broken.")
    assert revived.action == "reinforced" and revived.id == old
    assert [h.level for h in await memory.recall("coffee machine")] == ["episodic"]


async def test_recalled_episodes_do_not_fade(memory: Memory) -> None:
    used = await memory.remember("the staging database password rotates monthly", at=T0, importance=0.3)
    await memory.remember("an unrelated later event", at=T0 + timedelta(days=90))
    assert [h.id for h in await memory.recall("staging database password")] == [used]
    await memory.consolidate()
    hit = await memory.get(used or "")
    assert hit is not None and hit.level == "episodic" and hit.uses == 1


async def test_a_held_lease_stops_another_consolidator(memory: Memory) -> None:
    await remember_episodes(memory)
    database = memory.database()
    assert acquire(database, memory.scope, "someone-else", 60)
    report = await memory.consolidate()
    assert report.lease is False and report.clusters == 0
    release(database, memory.scope, "someone-else")
    assert (await memory.consolidate()).clusters == 2


async def test_an_expired_lease_is_taken_over(memory: Memory) -> None:
    await remember_episodes(memory)
    assert acquire(memory.database(), memory.scope, "crashed", 0.05)
    deadline = time.time() + 0.05
    while time.time() <= deadline:  # wait out the lease's expiry (a condition, not a fixed sleep)
        time.sleep(0.01)
    assert (await memory.consolidate()).clusters == 2


async def test_llm_summarizer_is_used_and_failure_falls_back(backend: Backend) -> None:
    prompts: list[str] = []

    async def summarize(prompt: str) -> str:
        prompts.append(prompt)
        if "Melanie" in prompt:
            raise RuntimeError("model overloaded")
        return "Caroline lives in Boston, works at a hospital and has a dog, Max."

    async with Memory(backend.store, scope="llm", summarizer=summarize, embedder=WordLlamaEmbedder()) as memory:
        await remember_episodes(memory)
        report = await memory.consolidate()
        texts = {(await memory.get(mid)).metadata["summary"] for mid in report.memory_ids}  # type: ignore[union-attr]
        assert texts == {"llm", "extractive"} and len(prompts) == 2
        found = [h.text for h in await memory.recall("who has a dog?", level="semantic")]
        assert found[0].startswith("Caroline lives in Boston")


async def test_consolidation_racing_on_one_group_merges_it_once(memory: Memory) -> None:
    """Two consolidators that both read the same episodes: the second one's group is skipped."""
    from jotty.memory.cluster import group
    from jotty.memory.consolidate import replay, write_group

    await remember_episodes(memory)
    database = memory.database()
    episodes, _ = replay(database, memory.scope, 100, 256)
    groups = [g for g in group(episodes) if len(g.members) >= 2]
    assert acquire(database, memory.scope, "first", 60)
    first = write_group(database, memory.scope, "first", 60, groups[0].members, "s", "extractive", None, None, None)
    assert first is not None
    release(database, memory.scope, "first")
    assert acquire(database, memory.scope, "second", 60)
    twice = write_group(database, memory.scope, "second", 60, groups[0].members, "s", "extractive", None, None, None)
    assert twice is None
    lost = write_group(database, memory.scope, "first", 60, groups[1].members, "s", "extractive", None, None, None)
    assert lost is None  # "first" no longer holds the lease: it writes nothing


async def test_a_pass_that_lost_its_lease_stops_calling_the_summarizer(memory: Memory) -> None:
    """A summarizer call that outlasts the lease lets another consolidator take the scope: the pass
    stops there (it went on summarizing groups it could no longer write, and faded without the lease)."""
    await remember_episodes(memory)
    calls: list[str] = []

    async def slow(prompt: str) -> str:  # an LLM slower than the lease
        calls.append(prompt)
        await asyncio.sleep(0.3)
        assert acquire(memory.database(), memory.scope, "another", 60)  # the lease expired: taken over
        return "a summary"

    memory.summarizer = slow
    report = await memory.consolidate(lease_seconds=0.2)
    assert len(calls) == 1 and report.clusters == 0 and report.more and report.faded == 0
    release(memory.database(), memory.scope, "another")
    memory.summarizer = None
    assert (await memory.consolidate()).clusters == 2  # the next pass does the work
