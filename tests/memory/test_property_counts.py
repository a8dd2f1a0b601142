"""Seen counts and sightings stay consistent under mixes of remember, consolidate and forget (no
per-item marker, so items are said again and entries carry counts)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from jotty.memory import Memory, store
from tests.memory.test_property_semantic import operations

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(memory: Memory):
    return memory.database().read(
        lambda cur: cur.rows(
            "SELECT id, level, metadata, sources, seen, absorbed_into FROM jotty_memory WHERE scope = 'p'"
        )
    )


def check(memory: Memory, live: list[tuple[str, str]], op) -> None:
    per_user: Counter[str] = Counter()
    for mid, level, meta, src, seen, _absorbed in rows(memory):
        meta, src = json.loads(meta), json.loads(src)
        if store.is_consolidated(level, meta):
            own = [s for s in src if s.get("id") == mid]
            expected = len(meta["episodes"]) + sum(map(store.sightings_of, own))
            assert seen == expected, (op, "group", mid, seen, expected, meta["episodes"], src)
            for s in own:
                per_user[s["metadata"]["user"]] += store.sightings_of(s)
        else:
            total = sum(map(store.sightings_of, src))
            assert seen == total, (op, level, mid, seen, total, src)
            for s in src:
                per_user[s["metadata"]["user"]] += store.sightings_of(s)
    model = Counter(u for u, _ in live)
    assert per_user == model, (op, per_user, model)


async def play(path: str, ops) -> None:
    async with Memory(path, scope="p") as memory:
        live: list[tuple[str, str]] = []  # (user, holder id) per statement not forgotten
        for op in ops:
            if op[0] == "remember":
                _, name, fact, day, level, user = op
                mid = await memory.remember(
                    f"{name} {fact}", metadata={"user": user}, at=T0 + timedelta(days=int(day)), level=level
                )
                assert mid is not None
                live.append((user, mid))
            elif op[0] == "consolidate":
                await memory.consolidate()
            elif op[0] == "where":
                await memory.forget(where={"user": op[1]})
                live = [(u, h) for u, h in live if u != op[1]]
            elif live:
                ids = sorted({h for _, h in live})
                target = ids[int(op[1]) % len(ids)]
                await memory.forget(target)
                live = [(u, h) for u, h in live if h != target]
            check(memory, live, op)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_counts(ops) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(str(Path(folder) / "jotty.db"), ops))
