"""A registry worker process for the multi-process tests.

``python -m tests.registry.worker register STORE NAME COUNT``: registers COUNT run outputs
``NAME/i`` one by one, each with words of its own; prints ``ok``.
``python -m tests.registry.worker churn STORE NAME MARKER``: re-registers ``NAME/0..9`` over and over
(each an update: a new index entry, the row, the old entry removed), touching MARKER after the first
round, until killed.
``python -m tests.registry.worker discover STORE QUERY``: prints the names found, best first.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from jotty.registry import DataRegistry

WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "jasper"]


def words(name: str, i: int) -> str:
    """Words unique to item ``i`` of worker ``name``."""
    return f"{name} ledger {WORDS[i % 10]} batch{i}"


async def register(store: str, name: str, count: int) -> None:
    async with DataRegistry(store) as registry:
        for i in range(count):
            await registry.add_artifact(f"{name}/{i}", {"i": i}, description=words(name, i), run_id=name, step="s")
    print("ok", flush=True)


async def churn(store: str, name: str, marker: str) -> None:
    async with DataRegistry(store) as registry:
        round_ = 0
        while True:
            for i in range(10):
                await registry.add_artifact(f"{name}/{i}", {"round": round_}, description=words(name, i))
            round_ += 1
            Path(marker).touch()


async def discover(store: str, query: str) -> None:
    async with DataRegistry(store) as registry:
        print(" ".join(h.source.name for h in await registry.discover(query, k=5)), flush=True)


if __name__ == "__main__":
    command, store, *rest = sys.argv[1:]
    if command == "register":
        asyncio.run(register(store, rest[0], int(rest[1])))
    elif command == "churn":
        asyncio.run(churn(store, rest[0], rest[1]))
    else:
        asyncio.run(discover(store, rest[0]))
