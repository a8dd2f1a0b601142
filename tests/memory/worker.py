"""A memory worker process for the multi-process tests.

``python -m tests.memory.worker remember STORE SCOPE NAME COUNT``: remembers COUNT items (in small
batches) and recalls after each batch; prints ``ok``.
``python -m tests.memory.worker consolidate STORE SCOPE MARKER DELAY``: consolidates with a summarizer
that, once its first group is written, touches MARKER and waits DELAY seconds (to be killed).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from jotty.memory import Memory


async def remember(store: str, scope: str, name: str, count: int) -> None:
    async with Memory(store, scope=scope) as memory:
        for start in range(0, count, 5):
            batch = [
                {"text": f"worker {name} noted fact number {i} about topic {name}{i}", "metadata": {"w": name, "i": i}}
                for i in range(start, min(count, start + 5))
            ]
            ids = await memory.remember_many(batch)
            assert all(ids), ids
            hits = await memory.recall(f"fact number {start} topic {name}{start}", k=5)
            assert hits, "recall found nothing"
    print("ok", flush=True)


async def consolidate(store: str, scope: str, marker: str, delay: float) -> None:
    calls = []

    def summarize(prompt: str) -> str:
        calls.append(prompt)
        if len(calls) == 2:  # the first group is written: now hang in the second
            Path(marker).touch()
            time.sleep(delay)
        return "summary: " + " ".join(line[2:] for line in prompt.splitlines() if line.startswith("- "))

    async with Memory(store, scope=scope, summarizer=summarize) as memory:
        report = await memory.consolidate(lease_seconds=1.0)
    print("ok", report.clusters, report.lease, flush=True)


if __name__ == "__main__":
    command, store, scope, *rest = sys.argv[1:]
    if command == "remember":
        asyncio.run(remember(store, scope, rest[0], int(rest[1])))
    else:
        asyncio.run(consolidate(store, scope, rest[0], float(rest[1])))
