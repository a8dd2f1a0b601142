"""The reachability property with directly stated semantic facts and forget(where=)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jotty.memory import Memory
from tests.memory.test_property import forget_one

NAMES = ["Caroline", "Melanie"]
FACTS = ["moved to Boston", "adopted a dog", "moved to Boston!"]
USERS = ["u1", "u2"]
remember = st.tuples(
    st.just("remember"),
    st.sampled_from(NAMES),
    st.sampled_from(FACTS),
    st.integers(0, 30),
    st.sampled_from(["episodic", "semantic"]),
    st.sampled_from(USERS),
)
operations = st.lists(
    st.one_of(
        remember,
        st.just(("consolidate",)),
        st.tuples(st.just("forget"), st.integers(0, 50)),
        st.tuples(st.just("where"), st.sampled_from(USERS)),
    ),
    min_size=1,
    max_size=20,
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def reachable(memory: Memory) -> dict[int, int]:
    rows = memory.database().read(lambda cur: cur.rows("SELECT sources FROM jotty_memory WHERE scope = 'p'"))
    found: dict[int, int] = {}
    for (raw,) in rows:
        for s in json.loads(raw):
            found[s["metadata"]["marker"]] = found.get(s["metadata"]["marker"], 0) + 1
    return found


async def play(store: str, ops: list[tuple[object, ...]]) -> None:
    async with Memory(store, scope="p") as memory:
        holders: dict[int, str] = {}
        users: dict[int, str] = {}
        forgotten: set[int] = set()
        for number, op in enumerate(ops):
            if op[0] == "remember":
                _, name, fact, day, level, user = op
                mid = await memory.remember(
                    f"{name} {fact}",
                    metadata={"marker": number, "user": user},
                    at=T0 + timedelta(days=int(day)),
                    level=level,  # type: ignore[arg-type]
                )
                assert mid is not None
                holders[number], users[number] = mid, str(user)
            elif op[0] == "consolidate":
                await memory.consolidate()
            elif op[0] == "where":
                await memory.forget(where={"user": op[1]})
                for marker in [m for m, u in users.items() if u == op[1] and m in holders]:
                    forgotten.add(marker)
                    del holders[marker]
            elif holders:
                await forget_one(memory, holders, forgotten, int(op[1]))  # type: ignore[call-overload]
            found = reachable(memory)
            assert set(holders) <= set(found), (op, set(holders) - set(found))
            assert not (forgotten & set(found)), (op, forgotten & set(found))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_every_item_is_reachable_until_forgotten(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(str(Path(folder) / "jotty.db"), ops))
