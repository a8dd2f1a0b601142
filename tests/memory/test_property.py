"""Property: whatever sequence of remember, consolidate and forget happens, every remembered item
stays reachable through some memory's ``sources`` (its own episode, the memory it reinforced, or the
semantic memory that absorbed it) until it is forgotten, and is gone from every ``sources`` after."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jotty.memory import Memory

NAMES = ["Caroline", "Melanie", "Bob"]
FACTS = ["moved to Boston", "adopted a dog", "started a new job", "painted a sunset", "moved to Boston!"]
remember = st.tuples(st.just("remember"), st.sampled_from(NAMES), st.sampled_from(FACTS), st.integers(0, 90))
operations = st.lists(
    st.one_of(remember, st.just(("consolidate",)), st.tuples(st.just("forget"), st.integers(0, 50))),
    min_size=1,
    max_size=25,
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def reachable(memory: Memory) -> set[int]:
    rows = memory.database().read(lambda cur: cur.rows("SELECT sources FROM jotty_memory WHERE scope = 'p'"))
    import json

    return {s["metadata"]["marker"] for (raw,) in rows for s in json.loads(raw)}


async def play(store: str, ops: list[tuple[object, ...]]) -> None:
    async with Memory(store, scope="p") as memory:
        holders: dict[int, str] = {}
        forgotten: set[int] = set()
        for number, op in enumerate(ops):
            if op[0] == "remember":
                _, name, fact, day = op
                mid = await memory.remember(
                    f"{name} {fact}",
                    metadata={"marker": number},
                    at=T0 + timedelta(days=int(day)),  # type: ignore[call-overload]
                )
                assert mid is not None
                holders[number] = mid
            elif op[0] == "consolidate":
                await memory.consolidate()
            elif holders:
                await forget_one(memory, holders, forgotten, int(op[1]))  # type: ignore[call-overload]
            found = await reachable(memory)
            assert set(holders) <= found
            assert not (forgotten & found)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_every_item_is_reachable_until_forgotten(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(str(Path(folder) / "jotty.db"), ops))


async def forget_one(memory: Memory, holders: dict[int, str], forgotten: set[int], pick: int) -> None:
    """Forget one of the memories that hold the markers (the ``pick``-th, cyclically), and move the
    markers it held from ``holders`` to ``forgotten``."""
    target = sorted(set(holders.values()))[pick % len(set(holders.values()))]
    await memory.forget(target)
    for marker, holder in list(holders.items()):
        if holder == target:
            forgotten.add(marker)
            del holders[marker]
