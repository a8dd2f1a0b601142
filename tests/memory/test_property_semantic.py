"""The reachability property with directly stated semantic facts and forget(where=), alone or
narrowed by level= or before= (an item goes only from a memory they select)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jotty.memory import Memory, WordLlamaEmbedder
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
narrowing = st.one_of(
    st.tuples(st.just("level"), st.sampled_from(["episodic", "semantic"])),
    st.tuples(st.just("before"), st.integers(0, 31)),
)
operations = st.lists(
    st.one_of(
        remember,
        st.just(("consolidate",)),
        st.tuples(st.just("forget"), st.integers(0, 50)),
        st.tuples(st.just("where"), st.sampled_from(USERS), st.one_of(st.none(), narrowing)),
    ),
    min_size=6,  # shorter runs seldom consolidate a group and then forget some of it
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


def summary_of(memory: Memory) -> dict[str, str | None]:
    """Each memory's id and the summary that absorbed it (or None)."""
    rows = memory.database().read(lambda cur: cur.rows("SELECT id, absorbed_into FROM jotty_memory WHERE scope = 'p'"))
    return {str(i): None if into is None else str(into) for i, into in rows}


def strays(memory: Memory) -> list[str]:
    """The absorbed episodes missing from the ``episodes`` or the ``sources`` of their summary."""
    rows = memory.database().read(
        lambda cur: cur.rows("SELECT id, metadata, sources, absorbed_into FROM jotty_memory WHERE scope = 'p'")
    )
    summaries = {str(i): (json.loads(meta), {s["id"] for s in json.loads(raw)}) for i, meta, raw, _ in rows}
    return [
        str(i)
        for i, _, _, into in rows
        if into and not (i in summaries[into][0]["episodes"] and i in summaries[into][1])
    ]


def narrowed(narrow: object) -> dict[str, object]:
    """The forget's keywords for ``narrow``: None, ("level", level) or ("before", day)."""
    if narrow is None:
        return {}
    kind, value = narrow  # type: ignore[misc]
    return {"level": value} if kind == "level" else {"before": T0 + timedelta(days=int(value))}


def selection(memory: Memory, narrow: object) -> set[str]:
    """The ids of the memories that ``narrow`` selects (their matching items go)."""
    rows = memory.database().read(
        lambda cur: cur.rows("SELECT id, level, created_at FROM jotty_memory WHERE scope = 'p'")
    )
    keywords = narrowed(narrow)
    before = keywords["before"].timestamp() if "before" in keywords else None  # type: ignore[attr-defined]
    return {
        str(memory_id)
        for memory_id, level, created in rows
        if keywords.get("level", level) == level and (before is None or float(created) < before)
    }


async def play(store: str, ops: list[tuple[object, ...]]) -> None:
    # wordllama's mean pooling groups a name's facts (the default pooling groups none of these)
    async with Memory(store, scope="p", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
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
                selected, absorbed = selection(memory, op[2]), summary_of(memory)
                await memory.forget(where={"user": op[1]}, **narrowed(op[2]))
                kept = summary_of(memory)  # an episode still there stays in its summary (with its items)
                assert all(kept[e] == g for e, g in absorbed.items() if e in kept), (op, absorbed, kept)
                for marker in [m for m, u in users.items() if u == op[1] and holders.get(m) in selected]:
                    forgotten.add(marker)
                    del holders[marker]
            elif holders:
                await forget_one(memory, holders, forgotten, int(op[1]))  # type: ignore[call-overload]
            found = reachable(memory)
            assert set(holders) <= set(found), (op, set(holders) - set(found))
            assert not (forgotten & set(found)), (op, forgotten & set(found))
            assert not strays(memory), (op, strays(memory))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
@example(  # a group of two, then a forget(where=) of the older one only: the summary kept the newer
    [
        ("remember", "Caroline", "moved to Boston", 5, "episodic", "u1"),
        ("remember", "Caroline", "adopted a dog", 20, "episodic", "u1"),
        ("consolidate",),
        ("where", "u1", ("before", 10)),
    ]
)
def test_every_item_is_reachable_until_forgotten(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(str(Path(folder) / "jotty.db"), ops))
