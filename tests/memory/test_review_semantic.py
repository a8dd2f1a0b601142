"""Semantic facts stated directly, from a review (each test failed before its fix): one equal to an
episode's item is its own entry of the consolidated memory it reinforced, so it outlives a forget
of that episode; forget(where=) of the user who said it first leaves the fact to the others who
said it too."""

from __future__ import annotations

from jotty.memory import Memory, WordLlamaEmbedder
from tests.memory.test_forget_traces import CAROLINE, consolidated

# -- M1. a stated fact whose (text, metadata) equals an item of an absorbed episode is never kept
#        as the group's own source (merge_sources dedupes it), so summarise_again cannot find it ----


async def test_a_stated_fact_equal_to_an_episodes_item_survives_that_episodes_forget(store: str) -> None:
    fact = CAROLINE[0]

    async def summarizer(prompt: str) -> str:
        return fact  # an LLM that sums the group up with its first sentence

    async with Memory(store, scope="g", embedder=WordLlamaEmbedder(pooling="mean"), summarizer=summarizer) as memory:
        ids, summary = await consolidated(memory)
        group = summary.id
        # u1 states the fact directly, as a semantic memory: "reinforced" the group, said remember
        assert await memory.remember(fact, level="semantic", metadata={"user": "u1"}) == group
        await memory.forget(ids[0])  # the episode (an event log entry), not the stated fact
        held = [h for h in await memory.recall("Caroline moved to Boston in May", k=10, level="all") if fact in h.text]
        assert held, "the directly stated semantic fact is gone: it was only ever merged away as a duplicate source"


# -- M2. forget(where=) deletes a directly remembered semantic memory whose first item matches, with
#        the other users' items that reinforced it (the docstring says: a *consolidated* memory) ---


async def test_forget_where_keeps_another_users_reinforcement_of_a_semantic_fact(store: str) -> None:
    async with Memory(store, scope="s", embedder=WordLlamaEmbedder(pooling="mean")) as memory:
        first = await memory.remember(
            "Alice prefers green tea in the morning", level="semantic", metadata={"user": "u2"}
        )
        again = await memory.remember(
            "Alice prefers green tea in the morning!", level="semantic", metadata={"user": "u1"}
        )
        assert again == first  # u1's statement reinforced u2's
        await memory.forget(where={"user": "u2"})
        hits = await memory.recall("Alice green tea", k=5, level="all")
        assert [h for h in hits if "green tea" in h.text], "u1's own statement went with u2's"
