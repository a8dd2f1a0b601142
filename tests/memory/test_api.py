"""The public API on both stores: remember, reinforce, skip, recall with reasons, get, forget, stats,
scopes, and several Memory objects (and processes) sharing one store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jotty.memory import Memory, MemoryHit
from tests.runs.backends import Backend

MAY = datetime(2023, 5, 3, tzinfo=UTC)
OCTOBER = datetime(2023, 10, 3, tzinfo=UTC)


async def test_remember_recall_get(memory: Memory) -> None:
    mid = await memory.remember("Caroline moved to Boston in May", metadata={"source": "chat"}, at=MAY)
    assert mid is not None and mid.startswith("mem-")
    await memory.remember("Melanie paints sunsets at the lake")
    hits = await memory.recall("where does Caroline live?", k=5)
    assert hits and isinstance(hits[0], MemoryHit)
    top = hits[0]
    assert (top.id, top.text, top.level) == (mid, "Caroline moved to Boston in May", "episodic")
    assert top.metadata == {"source": "chat"} and top.created_at == MAY
    assert top.sources == [{"id": mid, "at": MAY.isoformat(), "text": top.text, "metadata": {"source": "chat"}}]
    assert top.why["lexical"] == 1.0 and top.why["vector"] > 0 and "caroline" in top.why["matched"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    got = await memory.get(mid)
    assert got is not None and got.text == top.text
    assert await memory.get("mem-missing") is None


async def test_near_duplicate_reinforces(memory: Memory) -> None:
    first = await memory.remember_detailed("Caroline moved to Boston in May", metadata={"n": 1}, at=MAY)
    again = await memory.remember_detailed("caroline moved to Boston, in May!", metadata={"n": 2}, at=OCTOBER)
    assert first.action == "stored" and again.action == "reinforced" and again.id == first.id
    assert "same words" in again.reason
    other = await memory.remember_detailed("Caroline moved to Chicago in May", metadata={"n": 3})
    assert other.action == "stored" and other.id != first.id  # an update is not a duplicate
    got = await memory.get(first.id or "")
    assert got is not None and got.seen == 2
    assert [s["metadata"] for s in got.sources] == [{"n": 1}, {"n": 2}]
    stats = await memory.stats()
    assert stats.levels["episodic"] == 2 and stats.total == 2


async def test_skipped_says_why(memory: Memory) -> None:
    outcome = await memory.remember_detailed("ok thanks")
    assert outcome.action == "skipped" and outcome.id is None and "no content words" in outcome.reason
    routine = await memory.remember_detailed("deploy ran", outcome="success", predicted=0.99, importance=0.0)
    assert routine.action == "skipped" and "importance 0" in routine.reason
    surprising = await memory.remember_detailed("the deploy failed on a full disk", outcome="failure", predicted=0.95)
    assert surprising.action == "stored" and surprising.salience > 0.8 and "surprise 0.95" in surprising.reason
    assert (await memory.stats()).total == 1


async def test_remember_many_and_levels(memory: Memory) -> None:
    ids = await memory.remember_many(
        [
            {"text": "Bob plays jazz piano", "metadata": {"d": 1}, "at": MAY},
            "Bob plays jazz piano",
            {"text": "the current task is the parser", "level": "working"},
        ]
    )
    assert ids[0] == ids[1] and ids[2] not in ids[:2]
    assert [h.id for h in await memory.recall("jazz piano")] == [ids[0]]
    assert await memory.recall("parser task") == []  # working memory is not searched by default
    working = await memory.recall("parser task", level="working")
    assert [h.id for h in working] == [ids[2]] and working[0].level == "working"


async def test_forget_by_id_filter_and_level(memory: Memory) -> None:
    a = await memory.remember("Alice likes tea", metadata={"source": "chat"})
    b = await memory.remember("Alice likes coffee", metadata={"source": "doc"})
    await memory.remember("scratch note about alice", level="working")
    assert await memory.forget(a or "") == 1
    assert await memory.get(a or "") is None
    assert await memory.forget(where={"source": "nothing"}) == 0
    assert await memory.forget(level="working") == 1
    assert [h.id for h in await memory.recall("Alice")] == [b]
    assert await memory.forget(where={"source": "doc"}) == 1
    assert (await memory.stats()).total == 0


async def test_scopes_are_separate_and_shared(store: str) -> None:
    async with Memory(store, scope="team:research") as team, Memory(store, scope="actor:coder") as coder:
        await team.remember("the team chose PostgreSQL for the queue")
        assert await coder.recall("PostgreSQL queue") == []
        same_team = coder.scoped("team:research")
        found = await same_team.recall("PostgreSQL queue")
        assert [h.text for h in found] == ["the team chose PostgreSQL for the queue"]


async def test_recency_ranks_updates_first(memory: Memory) -> None:
    old = await memory.remember("Caroline lives in Boston", at=MAY)
    new = await memory.remember("Caroline lives in Chicago", at=OCTOBER)
    hits = await memory.recall("where does Caroline live now?", k=2)
    assert [h.id for h in hits] == [new, old]
    in_may = await memory.recall("where did Caroline live in May 2023?", k=2)
    assert in_may[0].id == old and in_may[0].why["date"] == 1.0


async def test_lexical_only(backend: Backend) -> None:
    async with Memory(backend.store, scope="plain", embedder=False) as mem:
        mid = await mem.remember("The build cache lives in /var/cache/jotty")
        hits = await mem.recall("where is the build cache?")
        assert [h.id for h in hits] == [mid] and hits[0].why["vector"] == 0.0
        assert (await mem.stats()).embedded == 0
    assert backend.rows("SELECT COUNT(*) FROM jotty_memory WHERE embedding IS NULL") == [(1,)]


async def test_procedural_level_reads_the_routers_learning(store: str) -> None:
    from jotty.learning import Observation, open_store

    learning = open_store(store)
    try:
        for success in (True, True, False):
            observed = Observation("coder", ("*", "category:bugfix", "keyword:parser"), success, 1.0, 100, 2.0)
            learning.add_observation(observed, "goal-1")
    finally:
        learning.close()
    async with Memory(store, scope="any") as memory:
        hits = await memory.recall("who fixes parser bugs? bugfix", k=3, level="procedural")
        assert hits and all(h.level == "procedural" for h in hits)
        assert hits[0].metadata["actor"] == "coder" and "2 of 3 succeeded" in hits[0].text
        assert await memory.recall("who fixes parser bugs?", k=3) == []  # not searched by default


async def test_a_question_only_of_a_time_gets_the_memories_of_that_time(backend: Backend) -> None:
    now = datetime(2024, 6, 30, 12, tzinfo=UTC)
    said = {
        "I live in Lisbon": 90,
        "We adopted a cat called Miso": 40,
        "I went hiking in the mountains with my sister": 6,
        "My sister Ana visited and we cooked dinner": 1,
    }
    for embedder in (None, False):  # with the default embedder, and lexical-only
        async with Memory(backend.store, scope="time-plain" if embedder is False else "time", embedder=embedder) as mem:
            ids = {text: await mem.remember(text, at=now - timedelta(days=days)) for text, days in said.items()}
            last_week = await mem.recall("What happened last week?", now=now)
            assert [h.id for h in last_week] == [ids["I went hiking in the mountains with my sister"]]
            assert last_week[0].why["date"] == 1.0 and last_week[0].why["window"]
            lately = await mem.recall("What have I been up to lately?", k=3, now=now)
            assert [h.text for h in lately] == list(said)[::-1][:3]  # the newest first
            in_april = await mem.recall("What happened in April 2024?", now=now)
            assert [h.text for h in in_april] == ["I live in Lisbon"]
            before = await mem.recall("What happened last week?", now=now, until=now - timedelta(days=10))
            assert before == []  # the caller's bounds narrow the question's time, never widen it
            # a question about something at a time is still a question about that thing
            cooked = await mem.recall("What did we cook last week?", now=now)
            assert cooked[0].text == "My sister Ana visited and we cooked dinner"


async def test_the_words_that_place_a_question_in_time_are_not_matched_as_its_content(memory: Memory) -> None:
    """ "now" is not what "home for now" says, nor "days" what "yesterday" does: the later move wins."""
    now = datetime(2024, 6, 1, tzinfo=UTC)
    old = await memory.remember(
        "My sister Kenji signed a lease in Valencia, so that's home for now.", at=now - timedelta(60)
    )
    await memory.remember("I called Kenji yesterday but we mostly talked about the weather.", at=now - timedelta(30))
    new = await memory.remember("My sister Kenji finally got the keys to a flat in Cusco.", at=now - timedelta(10))
    for question in ("Where does Kenji live now?", "Which city is Kenji based in these days?"):
        ids = [h.id for h in await memory.recall(question, now=now)]
        assert ids.index(new) < ids.index(old), question
        assert all(h.why["coverage"] == 0.0 for h in await memory.recall(question, now=now))
