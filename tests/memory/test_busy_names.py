"""Recall on a scope where the query's names are everywhere: the full-text half stays bounded (the
matches holding every name come first; past ``RANK_BUDGET`` the vectors choose among the newest
matches, found by the cache's word index, instead of BM25), and still finds the memory that answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from jotty.memory import Memory, store
from jotty.memory.postings import WordIndex
from tests.runs.backends import Backend

START = datetime(2024, 1, 1, tzinfo=UTC)


def chatter(name: str, count: int, offset: int = 0) -> list[dict[str, object]]:
    return [
        {"text": f"{name} walked to the market on errand {n}", "at": START + timedelta(hours=offset + n)}
        for n in range(count)
    ]


async def test_a_name_in_hundreds_of_memories_still_finds_the_answer(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "RANK_BUDGET", 100)
    taken: list[int] = []
    newest = WordIndex.newest

    def spy(index: WordIndex, *args: object, **kwargs: object) -> object:
        found = newest(index, *args, **kwargs)  # type: ignore[arg-type]
        taken.append(len(found[0]) + len(found[1]))
        return found

    monkeypatch.setattr(WordIndex, "newest", spy)
    async with Memory(backend.store, scope="busy") as memory:
        answer = {"text": "Ada adopted a grey cat named Pixel", "at": START - timedelta(days=3)}
        await memory.remember_many([answer, *chatter("Ada", 250)])
        hits = await memory.recall("what pet did Ada adopt?", k=5)
        assert hits[0].text == "Ada adopted a grey cat named Pixel"
        if backend.store.startswith("postgresql"):
            assert taken == []  # PostgreSQL ranks with ts_rank
        else:
            assert taken == [251]  # every match of the name (within 5 x 60), chosen among by meaning
            assert hits[0].why["lexical"] == 1.0


async def test_the_memories_holding_every_name_come_first(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "RANK_BUDGET", 100)
    together = [
        {"text": f"Ada and Bo painted the garden fence {colour}", "at": START - timedelta(days=30)}
        for colour in ("green", "blue", "red")
    ]
    async with Memory(backend.store, scope="pair") as memory:
        await memory.remember_many([*together, *chatter("Ada", 200), *chatter("Bo", 200, offset=500)])
        hits = await memory.recall("what did Ada and Bo paint?", k=3)
        assert sorted(hit.text for hit in hits) == sorted(str(item["text"]) for item in together)
    async with Memory(backend.store, scope="pair", embedder=False) as lexical:  # BM25 only, bounded the same way
        hits = await lexical.recall("Ada Bo fence", k=3)
        assert all("Ada and Bo" in hit.text for hit in hits)


async def test_forget_drops_the_reused_term_counts(store_path: str) -> None:
    async with Memory(store_path, scope="counted", embedder=False) as memory:
        await memory.remember_many([f"zebra crossing number {n} near the zebra house" for n in range(250)])
        await memory.recall("zebra house", k=3)
        database = memory.database()
        assert database.term_counts  # "zebra" and "house" match 250 memories: their counts are kept
        await memory.forget(everything=True)
        assert database.term_counts == {}
        await memory.remember("the zebra house was sold")
        assert [hit.text for hit in await memory.recall("zebra house", k=3)] == ["the zebra house was sold"]


@pytest.fixture
def store_path(tmp_path: object) -> str:
    return str(tmp_path) + "/memory.db"  # type: ignore[operator]


async def test_a_name_crowded_by_another_scope_is_still_matched_in_this_one(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "RANK_BUDGET", 100)
    async with Memory(backend.store, scope="mine") as mine, Memory(backend.store, scope="crowd") as crowd:
        answer = "Zed plays the cello in a string quartet"
        await mine.remember_many([{"text": answer, "at": START}, *chatter("Zed", 8, offset=10)])
        await crowd.remember_many(chatter("Zed", 400, offset=1_000))  # newer, and more than the window
        hits = await mine.recall("which instrument does Zed play?", k=5)
        assert hits[0].text == answer
        assert all("errand" in hit.text or hit.text == answer for hit in hits)
        assert hits[0].why["lexical"] > 0  # matched by the name in this scope, not only by meaning


async def test_busy_names_are_matched_as_full_text_would(store_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that is also a stopword ("Will"... "Very"), one inside a word joined by an apostrophe
    ("O'Brien"), and one written without its accent are still matched by the word index."""
    monkeypatch.setattr(store, "RANK_BUDGET", 100)
    async with Memory(store_path, scope="words", embedder=Flat()) as memory:  # vectors say nothing
        answers = [
            {"text": "Very Ltd moved its office to Ghent", "at": START - timedelta(days=3)},
            {"text": "Kim O'Brien ordered bolts from Acme", "at": START - timedelta(days=3)},
            {"text": "Jose signed the Acme lease", "at": START - timedelta(days=3)},
        ]
        crowd = [*chatter("Very", 150), *chatter("Acme", 300, offset=200)]
        await memory.remember_many([*answers, *crowd])
        assert (await memory.recall("where did Very Ltd move?", k=1))[0].text == answers[0]["text"]
        assert (await memory.recall("what did O'Brien order from Acme?", k=1))[0].text == answers[1]["text"]
        assert (await memory.recall("what did José sign for Acme?", k=1))[0].text == answers[2]["text"]
        assert (await memory.recall("what did O'Brien order from Acme?", k=1))[0].why["lexical"] == 1.0


class Flat:
    """An embedder whose vectors carry no meaning (every text the same vector)."""

    name, dimension = "flat-16", 16

    def embed(self, texts: list[str]) -> object:
        return np.ones((len(texts), 16), dtype=np.float32)
