"""An episode reinforced by another process more often than a pass takes (an LLM summarizer's
call) starved its group: write_group skipped a group whose member changed since the pass read it,
pass after pass (a hunt's finding). A member only reinforced is now taken as it is."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from jotty.memory import Memory, WordLlamaEmbedder
from tests.memory.test_forget_traces import CAROLINE, T0

ROOT = Path(__file__).resolve().parents[2]


async def test_a_reinforced_episode_is_still_consolidated(store: str) -> None:
    async def summarizer(prompt: str) -> str:  # an LLM: about half a second a call
        await asyncio.sleep(0.5)
        return "Caroline moved to Boston, works at a Boston hospital and has a dog."

    memory = Memory(store, scope="s", embedder=WordLlamaEmbedder(pooling="mean"), summarizer=summarizer)
    async with memory:
        for i, text in enumerate(CAROLINE):
            await memory.remember(text, at=T0 + timedelta(days=3 * i))
        # another worker process reinforces one episode every 0.2 s (a goal that repeats)
        reinforcer = subprocess.Popen(
            [sys.executable, "-m", "tests.memory.mp_worker", "reinforce", store, "s", CAROLINE[0], "12", "0.2"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert reinforcer.stdout is not None and reinforcer.stdout.readline().strip() == "started"
            reports = [await memory.consolidate() for _ in range(8)]
        finally:
            reinforcer.kill()
            reinforcer.communicate()
        print([(r.clusters, r.skipped_clusters) for r in reports])
        # eight passes over the same three related episodes: none wrote the group
        assert sum(r.clusters for r in reports) >= 1, [(r.clusters, r.skipped_clusters) for r in reports]
