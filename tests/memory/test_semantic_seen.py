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


async def test_an_item_said_again_is_one_entry_with_its_count_and_goes_whole(memory: Memory) -> None:
    """Repeats of one item (same text and metadata) are one source entry with a count: forgetting
    that user takes all its sightings (before, one per entry: u2 three times and u1 once left 3).
    Episodes and facts stated directly alike."""
    for level in ("episodic", "semantic"):
        text = f"Priya renewed the Porto lease ({level})"
        first = await memory.remember(text, level=level, metadata={"user": "u2"})
        for _ in range(2):
            assert await memory.remember(text, level=level, metadata={"user": "u2"}) == first
        assert await memory.remember(text + "!", level=level, metadata={"user": "u1"}) == first
        hit = await memory.get(str(first))
        assert hit is not None and hit.seen == 4
        assert [(s["metadata"], s.get("count", 1)) for s in hit.sources] == [({"user": "u2"}, 3), ({"user": "u1"}, 1)]
        await memory.forget(where={"user": "u2"})
        hit = await memory.get(str(first))
        assert hit is not None and hit.seen == 1 and hit.text == text + "!"
