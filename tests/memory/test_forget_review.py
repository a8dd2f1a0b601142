"""A review's findings about forget and its rewrites, each a test that failed before its fix: the
scope's own embedder only, embedding after the commit (a failing or slow embedder neither fails the
forget nor holds the store), a consolidation pass that read an episode before a forget rewrote it
writes no group of it, a fact that reinforced a summary survives its rebuild, the rewritten
episode's time, and a remember that does not raise after its commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory, WordLlamaEmbedder
from jotty.memory.embedders import embed_texts
from tests.memory.test_forget_traces import CAROLINE, T0, consolidated, stored_vector


class Foreign:
    """Another embedder of the same dimension as wordllama mean (256), another name."""

    name = "foreign-256"
    dimension = 256

    def embed(self, texts: Sequence[str]) -> Any:
        rng = np.random.default_rng(len(texts))
        vectors = rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Down(WordLlamaEmbedder):
    """The scope's own embedder (same name and dimension), but its service is down."""

    def embed(self, texts: Sequence[str]) -> Any:
        raise ConnectionError("embedding service unavailable")


# -- 1. forget writes another embedder's vectors into a scope -------------------------------------


async def test_forget_does_not_write_a_foreign_embedders_vectors(store: str) -> None:
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        ids, group = await consolidated(memory)
    async with Memory(store, scope="g", embedder=Foreign()) as other:
        with pytest.raises(ValidationError):  # remember and recall refuse this embedder in this scope...
            await other.remember("Melanie painted a sunset")
        await other.forget(ids[2])  # ...but forget embeds with it and writes its vectors
        vector = stored_vector(other, group.id)
        after = await other.get(group.id)
        assert after is not None
        if vector is not None:  # acceptable: no vector, or the scope's embedder's vector of the new text
            right = embed_texts(WordLlamaEmbedder(pooling="mean"), [after.text])[0]
            assert np.allclose(vector, right, atol=1e-5), "the group now holds a foreign embedder's vector"


# -- 2. forget depends on the embedder being up ----------------------------------------------------


async def test_forget_works_when_the_embedder_is_down(store: str) -> None:
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        ids, group = await consolidated(memory)
    async with Memory(store, scope="g", embedder=Down(pooling="mean")) as down:
        await down.forget(ids[2])  # e.g. a user's erasure request while the embedding API is down
        assert await down.get(ids[2]) is None, "the episode was not forgotten: forget failed on the embedder"
        after = await down.get(group.id)
        assert after is not None and "dog" not in after.text
        assert stored_vector(down, group.id) is None  # no stale vector: found by its words until re-embedded


# -- 3. a forget(where=) during a consolidation pass: the group keeps the forgotten item ---------


async def test_forget_where_during_consolidation_leaves_no_trace(store: str) -> None:
    """The pass replays the episodes, summarises (an LLM: slow), then writes the group; its check
    only counts the episodes still free, so an episode that a forget(where=) trimmed or rewrote
    meanwhile is absorbed with the forgotten items in the group's sources (and the summary)."""
    embedder = WordLlamaEmbedder(pooling="mean")
    async with Memory(store, scope="g", embedder=embedder) as memory:
        texts = [CAROLINE[0], CAROLINE[1], CAROLINE[2]]
        users = ["u1", "u1", "u2"]  # u2 said the dog episode first...
        ids = [
            str(await memory.remember(text, at=T0 + timedelta(days=3 * i), metadata={"user": user}))
            for i, (text, user) in enumerate(zip(texts, users, strict=True))
        ]
        assert await memory.remember("caroline adopted a dog!", metadata={"user": "u1"}) == ids[2]  # ...u1 too
        assert await memory.remember("caroline moved to boston in may!", metadata={"user": "u2"}) == ids[0]

        calls = []

        async def summarizer(prompt: str) -> str:
            if not calls:
                async with Memory(store, scope="g", embedder=embedder) as other:  # another process, say
                    await other.forget(where={"user": "u2"})
            calls.append(prompt)
            return "; ".join(line[2:] for line in prompt.splitlines() if line.startswith("- "))

        memory.summarizer = summarizer
        report = await memory.consolidate()
        rewritten = await memory.get(ids[2])
        assert rewritten is not None and rewritten.text == "caroline adopted a dog!"  # the forget did run
        assert report.memory_ids == [] and report.skipped_clusters == 1  # the group it read changed: not written
        report = await memory.consolidate()  # the next pass reads the episodes as they are now
        assert report.memory_ids, report
        leaked = []
        for memory_id in report.memory_ids:
            hit = await memory.get(memory_id)
            assert hit is not None
            if "Caroline adopted a dog" in hit.text or "may!" in hit.text:
                leaked.append(("text", hit.text))
            for source in hit.sources:
                if (source.get("metadata") or {}).get("user") == "u2":
                    leaked.append(("source", source["text"]))
        assert not leaked, leaked


# -- 4. a directly stated fact that reinforced a consolidated memory is lost on rebuild ----------


async def test_a_fact_that_reinforced_a_summary_survives_an_unrelated_forget(store: str) -> None:
    fact = "Caroline moved to Boston in May and works at a Boston hospital"

    async def summarizer(prompt: str) -> str:
        return fact

    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean"), summarizer=summarizer) as memory:
        ids, summary = await consolidated(memory)
        group = summary.id
        # a user states the fact directly: it reinforces the consolidated memory
        assert await memory.remember(fact, level="semantic", metadata={"user": "u3"}) == group
        before = await memory.get(group)
        assert before is not None and {"user": "u3"} in [s["metadata"] for s in before.sources]
        await memory.forget(ids[2])  # the dog episode, nothing to do with u3's fact
        after = await memory.get(group)
        assert after is not None
        held = [s["metadata"] for s in after.sources]
        assert {"user": "u3"} in held, f"u3's directly remembered fact vanished from memory: {held}"


# -- 5. a failure after the commit (cache refresh) makes remember raise: callers write again -----


async def test_remember_does_not_raise_after_its_commit(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from jotty.memory import ingest

    async with Memory(store, scope="c", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        await memory.remember("the Faro office closes on Fridays")  # the cache is used from now on
        await memory.recall("Faro office")

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("connection lost while reading")  # e.g. PostgreSQL dropped us after COMMIT

        monkeypatch.setattr(ingest, "fresh_cache", _after_first(ingest.fresh_cache, broken))
        text = "Priya renewed the Porto lease for two years"
        try:
            await memory.remember(text)
        except ConnectionError:
            monkeypatch.undo()
            await memory.remember(text)  # what MemoryWriter (and any careful caller) does: write again
        hits = [h for h in await memory.recall("Priya Porto lease", k=3) if h.text == text]
        assert hits and hits[0].seen == 1, f"committed, raised, written again: seen={hits[0].seen if hits else None}"


def _after_first(real: Any, broken: Any) -> Any:
    """``fresh_cache`` as it is inside the write's planning, broken in the refresh after the commit."""
    calls = [0]

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs) if calls[0] == 1 else broken(*args, **kwargs)

    return patched


# -- 7. forget embeds inside its write transaction: every writer (on SQLite every reader of the
#       process too) waits for the embedder ------------------------------------------------------


class Slow(WordLlamaEmbedder):
    """The scope's own embedder, as slow as a remote embedding API under load."""

    calls = 0

    def embed(self, texts: Sequence[str]) -> Any:
        import time

        Slow.calls += 1
        time.sleep(1.5)
        return super().embed(texts)


async def test_a_forget_does_not_hold_the_store_while_it_embeds(store: str) -> None:
    import asyncio
    import threading
    import time

    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        ids, _ = await consolidated(memory)
    slow = Memory(store, scope="g", embedder=Slow(pooling="mean"))
    other = Memory(store, scope="g", embedder=False)
    try:
        await other.remember("warm up the store")
        forgetting = threading.Thread(target=lambda: asyncio.run(slow.forget(ids[2])))
        forgetting.start()
        await asyncio.sleep(0.3)  # the forget is in its transaction, embedding the new summary
        began = time.monotonic()
        await other.remember("Melanie painted a sunset over the lake")
        waited = time.monotonic() - began
        forgetting.join(20)
        assert waited < 0.5, f"a remember of the scope waited {waited:.2f} s for the forget's embedder"
    finally:
        await slow.close()
        await other.close()


# -- 8. an episode that takes its next item's text keeps the forgotten item's date ---------------


async def test_a_rewritten_episode_and_its_summary_lose_the_forgotten_items_date(store: str) -> None:
    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        secret_day = T0 - timedelta(days=20)  # u2 said it first, on a day only u2's item has
        first = await memory.remember(CAROLINE[0], at=secret_day, metadata={"user": "u2"})
        assert await memory.remember(CAROLINE[0] + "!", at=T0, metadata={"user": "u1"}) == first
        for i, text in enumerate(CAROLINE[1:], start=1):
            await memory.remember(text, at=T0 + timedelta(days=3 * i), metadata={"user": "u1"})
        report = await memory.consolidate()
        assert len(report.memory_ids) == 1
        await memory.forget(where={"user": "u2"})
        episode = await memory.get(str(first))
        assert episode is not None and [s["metadata"] for s in episode.sources] == [{"user": "u1"}]
        group = await memory.get(report.memory_ids[0])
        assert group is not None
        day = secret_day.date().isoformat()
        found = [
            where
            for where, value in [
                ("episode created_at", episode.created_at.date().isoformat()),
                ("summary", group.text),
                ("span", " ".join(group.metadata["span"])),
            ]
            if day in value
        ]
        assert not found, f"the forgotten item's date {day} survives in {found}"


async def test_forget_where_in_another_process_during_consolidation_leaves_no_trace(store: str) -> None:
    """Test 3 with the forget in a real second process."""
    import asyncio
    import subprocess
    import sys

    embedder = WordLlamaEmbedder(pooling="mean")
    code = (
        "import asyncio, sys\n"
        "from jotty.memory import Memory, WordLlamaEmbedder\n"
        "async def main():\n"
        "    async with Memory(sys.argv[1], scope='g', embedder=WordLlamaEmbedder(pooling='mean')) as m:\n"
        "        print(await m.forget(where={'user': 'u2'}))\n"
        "asyncio.run(main())\n"
    )
    async with Memory(store, scope="g", embedder=embedder) as memory:
        ids = [
            str(await memory.remember(text, at=T0 + timedelta(days=3 * i), metadata={"user": "u1"}))
            for i, text in enumerate(CAROLINE)
        ]
        assert await memory.remember("caroline moved to boston in may!", metadata={"user": "u2"}) == ids[0]

        calls = []

        async def summarizer(prompt: str) -> str:
            if not calls:
                done = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-c", code, store], capture_output=True, text=True, timeout=120
                )
                assert done.returncode == 0, done.stderr
            calls.append(prompt)
            return "; ".join(line[2:] for line in prompt.splitlines() if line.startswith("- "))

        memory.summarizer = summarizer
        report = await memory.consolidate()
        assert report.memory_ids == [] and report.skipped_clusters == 1
        report = await memory.consolidate()
        assert report.memory_ids, report
        hit = await memory.get(report.memory_ids[0])
        assert hit is not None
        leaked = [s["text"] for s in hit.sources if (s.get("metadata") or {}).get("user") == "u2"]
        leaked += [hit.text] if "may!" in hit.text else []
        assert not leaked, leaked
