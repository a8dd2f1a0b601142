"""A forget killed (kill -9) after its commit and before ``embed_again`` left the memories it
rewrote without a vector for good (a hunt's finding): the next consolidation pass embeds them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jotty.memory import Memory, WordLlamaEmbedder
from tests.memory.test_forget_traces import stored_vector

ROOT = Path(__file__).resolve().parents[2]


async def test_a_forget_killed_after_its_commit_is_repaired_by_the_next_consolidation(store: str) -> None:
    embedder = WordLlamaEmbedder(pooling="mean")
    async with Memory(store, scope="k", embedder=embedder) as memory:
        first = await memory.remember("Priya renewed the Porto lease", metadata={"user": "u1"})
        assert await memory.remember("priya renewed the porto lease.", metadata={"user": "u3"}) == first
        assert first is not None
    forgetter = subprocess.Popen(
        [sys.executable, "-m", "tests.memory.mp_worker", "forget_killed", store, "k", first],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert forgetter.stdout is not None and forgetter.stdout.readline().strip() == "committed"
    finally:
        forgetter.kill()  # SIGKILL: the forget committed, its vectors were not written yet
        forgetter.communicate()
    async with Memory(store, scope="k", embedder=embedder) as memory:
        hit = await memory.get(first)
        assert hit is not None and hit.metadata == {"user": "u3"}  # rewritten: u3's item speaks for it
        # the store goes on: remembers, recalls, a consolidation pass, another forget
        await memory.remember("Omar ordered the team lunch", metadata={"user": "u2"})
        await memory.recall("Porto lease", k=3)
        await memory.consolidate()
        await memory.forget(where={"user": "u2"})
        assert stored_vector(memory, first) is not None, "the rewritten memory has no vector, for good"
