"""Probe: forget(level="all") / a list of levels forgets only the first level of the list, silently;
`jotty memory forget --level all` says "forgot 0" and exits 0 with everything still there."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jotty.memory import Memory
from tests.runmemory.test_hunt_cli import real_cli


async def test_forget_with_several_levels_forgets_all_of_them_or_refuses(store: Path) -> None:
    async with Memory(store, "conductor") as memory:
        await memory.remember("scratch note about the Faro rota", level="working")
        await memory.remember("Ada moved to Lisbon in May", level="episodic")
        await memory.remember("Bruno runs the Porto warehouse", level="semantic")
        try:
            gone = await memory.forget(level=["episodic", "semantic"])
        except Exception as exc:  # refusing is fine too
            print("refused:", exc)
            return
        left = (await memory.stats()).levels
    assert left["episodic"] == 0 and left["semantic"] == 0, (gone, left)


def test_cli_forget_level_all_empties_the_scope_or_refuses(store: Path) -> None:
    async def seed() -> None:
        async with Memory(store, "conductor") as memory:
            await memory.remember("Ada moved to Lisbon in May")
            await memory.remember("Bruno runs the Porto warehouse")

    asyncio.run(seed())
    forgot = real_cli("memory", "forget", "--level", "all", "--db", str(store))
    stats = real_cli("memory", "stats", "--db", str(store), "--json")
    print(forgot.returncode, forgot.stdout, forgot.stderr)
    said = " ".join(forgot.stderr.replace("│", " ").split())
    refused = forgot.returncode == 2 and "add --yes to confirm" in said  # refusing is a usage error
    assert refused or '"total": 0' in stats.stdout, (forgot.stdout, said, stats.stdout)
    assert refused == ('"total": 2' in stats.stdout), stats.stdout  # refused: everything is still there
