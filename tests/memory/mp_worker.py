"""Worker processes for the tests/memory/test_mp_* tests.

``reinforce STORE SCOPE TEXT SECONDS INTERVAL``: remember TEXT (the same words: a reinforcement)
every INTERVAL seconds for SECONDS, with the mean-pooling embedder the tests group by.
"""

from __future__ import annotations

import asyncio
import sys
import time

from jotty.memory import Memory, WordLlamaEmbedder


async def reinforce(store: str, scope: str, text: str, seconds: float, interval: float) -> None:
    async with Memory(store, scope=scope, embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        print("started", flush=True)
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            await memory.remember(text, metadata={"n": n})
            n += 1
            await asyncio.sleep(interval)
        print("done", n, flush=True)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "reinforce":
        asyncio.run(reinforce(rest[0], rest[1], rest[2], float(rest[3]), float(rest[4])))


async def marker(store: str, scope: str, path: str, seconds: float) -> None:
    """Remember marker i, write i to PATH (after the commit), forget marker i - 1; repeat."""
    from pathlib import Path

    async with Memory(store, scope=scope) as memory:
        print("started", flush=True)
        end, i = time.monotonic() + seconds, 0
        old = None
        while time.monotonic() < end:
            new = await memory.remember(f"Quokka report number {i} was filed", importance=0.9)
            Path(path + ".tmp").write_text(str(i))
            Path(path + ".tmp").replace(path)
            if old is not None:
                await memory.forget(old)
            old = new
            i += 1
            await asyncio.sleep(0.01)
        print("done", i, flush=True)


if __name__ == "__main__" and sys.argv[1] == "marker":
    asyncio.run(marker(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])))


async def churn_forget(store: str, scope: str, seconds: float) -> None:
    """Remember groupable episodes and forget them every way (ids, where=, level=, before=) in turn."""
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(7)
    t0 = datetime(2023, 1, 1, tzinfo=UTC)
    people = ["Caroline", "Melanie", "Dmitri", "Aiko"]
    async with Memory(store, scope=scope, embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        print("started", flush=True)
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            items = []
            for i in range(12):
                who = people[i % 4]
                items.append(
                    {
                        "text": f"{who} visited the Boston harbour museum trip {n}-{i}",
                        "at": t0 + timedelta(days=i),
                        "metadata": {"user": f"u{i % 3}", "n": n},
                    }
                )
            ids = await memory.remember_many(items)
            await asyncio.sleep(rng.random() * 0.2)
            way = n % 5
            if way == 0:
                await memory.forget([i for i in ids[:4] if i])
            elif way == 1:
                await memory.forget(where={"user": "u1"})
            elif way == 2:
                await memory.forget(level="episodic", before=t0 + timedelta(days=5))
            elif way == 3:
                await memory.forget(level="semantic")
            else:
                await memory.forget(where={"n": n - 1})
            n += 1
        print("done", n, flush=True)


if __name__ == "__main__" and sys.argv[1] == "churn_forget":
    asyncio.run(churn_forget(sys.argv[2], sys.argv[3], float(sys.argv[4])))


async def forget_killed(store: str, scope: str, memory_id: str) -> None:
    """forget(where={"user": "u1"}), pausing (for the kill) once its transaction committed and
    before embed_again writes the vectors of the rewritten memories."""
    from jotty.memory import forget as forget_module

    original = forget_module.embed_again

    def paused(*args, **kwargs):  # type: ignore[no-untyped-def]
        print("committed", flush=True)
        time.sleep(60)
        return original(*args, **kwargs)

    forget_module.embed_again = paused
    async with Memory(store, scope=scope, embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        await memory.forget(where={"user": "u1"})


if __name__ == "__main__" and sys.argv[1] == "forget_killed":
    asyncio.run(forget_killed(sys.argv[2], sys.argv[3], sys.argv[4]))
