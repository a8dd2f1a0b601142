"""forget(where=) of the first user of a directly stated semantic fact keeps the fact for the others
and drops the forgotten user's sighting from its seen count (a review's finding)."""

from __future__ import annotations

from jotty.memory import Memory


async def test_seen_drops_with_the_forgotten_statement(store: str) -> None:
    async with Memory(store, scope="s") as memory:
        first = await memory.remember(
            "Alice prefers green tea in the morning", level="semantic", metadata={"user": "u2"}
        )
        again = await memory.remember(
            "Alice prefers green tea in the morning", level="semantic", metadata={"user": "u1"}
        )
        assert again == first
        assert (await memory.get(first)).seen == 2
        await memory.forget(where={"user": "u2"})
        hit = await memory.get(first)
        assert hit is not None and [s["metadata"] for s in hit.sources] == [{"user": "u1"}]
        assert hit.metadata == {"user": "u1"}
        assert hit.seen == 1, hit.seen  # an episode in the same case says 1
