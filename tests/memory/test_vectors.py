"""The per-process vector cache: the inverted-file index agrees with the exact scan, stays right as
rows are added, updated and re-sorted, and another process's writes and forgets reach it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jotty.memory import Memory, vectors
from jotty.memory.vectors import VectorCache, to_blob
from tests.runs.backends import Backend

ROOT = Path(__file__).resolve().parents[2]
DIM = 32


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 random directions (like embeddings of related texts)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIM))
    rows = centres[rng.integers(0, 40, count)] + 0.6 * rng.normal(size=(count, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def rows_of(matrix: np.ndarray, first_seq: int = 1, level: str = "episodic") -> list[tuple[int, str, float, bytes]]:
    return [(first_seq + i, level, float(first_seq + i), to_blob(v)) for i, v in enumerate(matrix)]


def exact(matrix: np.ndarray, query: np.ndarray, k: int, first_seq: int = 1) -> list[int]:
    return [first_seq + int(i) for i in np.argsort(-(matrix @ query))[:k]]


def test_index_agrees_with_the_exact_scan_and_follows_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "IVF_MIN", 500)
    data = clustered(3_000)
    cache = VectorCache(DIM)
    cache.upsert(rows_of(data[:2_000]))
    assert cache.centroids is not None and cache.sorted == 2_000
    queries = clustered(50, seed=1)
    overlap = [
        len(set(exact(data[:2_000], q, 10)) & {s for s, _ in cache.nearest(q, 10, ["episodic"])}) for q in queries
    ]
    assert sum(overlap) / (10 * len(queries)) >= 0.9
    for i in (0, 777, 1_999):  # a stored vector finds itself, with cosine 1
        assert cache.nearest(data[i], 1, ["episodic"])[0][0] == i + 1
    # new rows wait in the tail, labelled with a group, and are found before the next sort
    cache.upsert(rows_of(data[2_000:2_100], first_seq=2_001))
    assert cache.sorted == 2_000 and cache.n == 2_100
    assert cache.nearest(data[2_050], 1, ["episodic"])[0][0] == 2_051
    # past a sixteenth the matrix is re-sorted: positions stay right
    cache.upsert(rows_of(data[2_100:], first_seq=2_101))
    assert cache.sorted == 3_000
    for seq in (1, 1_500, 2_051, 3_000):
        assert cache.cosines(data[seq - 1], [seq])[0][seq] == pytest.approx(1.0, abs=1e-5)
    wanted = np.array([0, 1, 1_500, 2_051, 3_000, 3_001, 10**9])  # the array lookup agrees with the dict
    assert cache.positions_of(wanted).tolist() == [cache.position.get(int(seq), -1) for seq in wanted]
    # an update changes the level in place; a filter that leaves too few falls back to the exact scan
    cache.upsert([(5, "archive", 4.0, to_blob(data[4]))])
    assert cache.n == 3_000
    assert cache.nearest(data[4], 1, ["archive"]) == [(5, pytest.approx(1.0, abs=1e-5))]
    assert cache.nearest(data[4], 1, ["episodic"])[0][0] != 5
    assert cache.nearest(data[10], 3, ["episodic"], since=2_500.0)[0][0] >= 2_501


def test_near_duplicates_are_found_through_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "IVF_MIN", 500)
    data = clustered(2_000)
    cache = VectorCache(DIM)
    cache.upsert(rows_of(data))
    found = cache.similar(data[[3, 900, 1_999]], 0.99, ["episodic"])
    assert [hits[0][0] for hits in found] == [4, 901, 2_000]
    assert cache.similar(data[[3]], 0.99, ["semantic"]) == [[]]
    fresh = clustered(5, seed=7)
    assert all(hits == [] or hits[0][1] < 1.0 - 1e-6 for hits in cache.similar(fresh, 0.999, ["episodic"]))


WRITER = """
import asyncio, sys
from jotty.memory import Memory
async def main(store, action):
    async with Memory(store, scope="shared") as memory:
        if action == "add":
            await memory.remember_many(["the lighthouse keeper painted the door teal"])
        elif action == "recall":
            await memory.recall("lighthouse keeper door colour", k=1)  # its use is written on close
        else:
            await memory.forget(where={"n": 7})
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.slow
async def test_another_processs_writes_and_forgets_reach_the_cache(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "IVF_MIN", 100)
    items = [
        {"text": f"note {n}: the harbour crane lifted crate {n} of oranges", "metadata": {"n": n}} for n in range(300)
    ]
    items[7] = {"text": "the harbour crane dropped a grand piano into the sea", "metadata": {"n": 7}}

    def other(action: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", WRITER, backend.store, action], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr

    async with Memory(backend.store, scope="shared") as memory:
        await memory.remember_many(items)
        before = await memory.recall("lighthouse keeper door colour", k=3)  # loads this process's cache
        assert all("lighthouse" not in hit.text for hit in before)
        cache = memory.database().caches["shared"]
        assert cache.centroids is not None
        other("add")
        after = await memory.recall("lighthouse keeper door colour", k=3)
        assert "lighthouse" in after[0].text
        hits = await memory.recall("a piano fell into the sea", k=3)
        assert hits[0].metadata == {"n": 7}
        other("forget")
        hits = await memory.recall("a piano fell into the sea", k=10)
        assert all(hit.metadata.get("n") != 7 for hit in hits)
        assert cache.n == 300  # 300 notes + the lighthouse - the forgotten one, after a full reload


async def test_full_text_finds_a_small_scope_beside_a_big_one(store: str) -> None:
    async with Memory(store, scope="big", embedder=False) as big:
        await big.remember_many([f"zebra zebra {n}" for n in range(300)])  # they outrank the small scope's
        small = big.scoped("small")
        await small.remember_many(["a zebra crossed the river at dawn", "my zebra mug broke", "nothing here"])
        for query in ("zebra", "zebra river dawn"):
            hits = await small.recall(query, k=10)
            assert sorted(hit.text for hit in hits)[:2] == ["a zebra crossed the river at dawn", "my zebra mug broke"]
        assert len(await big.recall("zebra", k=10)) == 10


@pytest.mark.slow
async def test_what_ranking_reads_comes_from_the_cache_and_follows_recall_counts(backend: Backend) -> None:
    async with Memory(backend.store, scope="shared") as memory:
        await memory.remember_many(
            ["the lighthouse keeper painted the door teal", "the baker sold rye bread", "the mayor opened a bridge"]
        )
        first = (await memory.recall("lighthouse keeper door colour", k=1))[0]
        cache = memory.database().caches["shared"]
        seq = next(s for s, brief in cache.briefs.items() if brief.text == first.text)
        assert len(cache.briefs) == 3 and cache.briefs[seq].uses == 0
        await memory.stats()  # writes this process's recall counts now
        second = (await memory.recall("lighthouse keeper door colour", k=1))[0]
        assert cache.briefs[seq].uses == 1 and second.why["strength"] > first.why["strength"]
        command = [sys.executable, "-c", WRITER, backend.store, "recall"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        third = (await memory.recall("lighthouse keeper door colour", k=1))[0]
        assert cache.briefs[seq].uses == 2  # the other process's use reached this cache (this one's 2nd waits)
        assert third.why["strength"] > second.why["strength"]


async def test_recall_counts_leave_the_memory_rows_alone(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting a recall writes a narrow row of its own (not the memory with its vector), a cache
    reads back only the counts, counts written before schema 9 still add, and forgetting a memory
    removes its counts (a count still pending for it writes nothing)."""
    async with Memory(backend.store, scope="counted") as memory:
        ids = await memory.remember_many(["the lighthouse keeper painted the door teal", "the baker sold rye bread"])
        database = memory.database()

        def read(sql: str) -> list[tuple[object, ...]]:
            return [tuple(row) for row in database.read(lambda cur: cur.rows(sql))]

        before = read("SELECT id, rev FROM jotty_memory ORDER BY seq")
        await memory.recall("lighthouse door", k=1)  # fills the cache
        reloaded: list[int] = []
        upsert = VectorCache.upsert
        monkeypatch.setattr(VectorCache, "upsert", lambda self, rows: reloaded.append(len(list(rows))))
        await memory.stats()  # writes the recall count
        hit = (await memory.recall("lighthouse door", k=1))[0]
        assert hit.id == ids[0] and hit.uses == 1
        assert sum(reloaded) == 0 and read("SELECT id, rev FROM jotty_memory ORDER BY seq") == before
        assert read("SELECT uses FROM jotty_memory_uses") == [(1,)]
        monkeypatch.setattr(VectorCache, "upsert", upsert)

        database.write(lambda cur: cur.run("UPDATE jotty_memory SET uses = 5 WHERE id = ?", (ids[0],)))
        assert (await memory.get(ids[0])).uses == 6  # type: ignore[union-attr]  # 5 before schema 9, 1 since

        await memory.recall("lighthouse door", k=1)  # a third count, pending
        assert await memory.forget(ids[0]) == 1
        await memory.stats()  # the pending count's memory is gone: nothing is written for it
        assert read("SELECT COUNT(*) FROM jotty_memory_uses") == [(0,)]


HOLDER = """
import sys, time
store, scope = sys.argv[1], sys.argv[2]
if store.startswith("postgresql"):
    import psycopg
    conn = psycopg.connect(store)
    conn.execute("UPDATE jotty_memory_scopes SET rev = rev WHERE scope = %s", (scope,))  # the scope's row lock
else:
    import sqlite3
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # the file's write lock
print("held", flush=True)
time.sleep(3)
conn.commit() if store.startswith("postgresql") else conn.execute("COMMIT")
"""


async def test_a_recall_does_not_wait_for_another_writer_to_count_its_uses(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jotty.memory.memory.USE_FLUSH_SECONDS", 0.0)  # every recall writes its counts
    async with Memory(backend.store, scope="held") as memory:
        await memory.remember_many(["the lighthouse keeper painted the door teal", "the baker sold rye bread"])
        await memory.recall("lighthouse door", k=1)  # counted and written
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, backend.store, "held"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            hit = (await memory.recall("lighthouse door", k=1))[0]
            assert time.monotonic() - started < 1.5  # not the 3 s the other process holds the store
            assert list(memory._pending.values()) == [1]  # kept for a later write
        finally:
            assert holder.wait(timeout=30) == 0
        await memory.recall("lighthouse door", k=1)  # the store is free: all three counts are written
        assert memory._pending == {}
        assert (await memory.get(hit.id)).uses == 3  # type: ignore[union-attr]


async def test_a_remember_leaves_this_processs_cache_current(store: str) -> None:
    """The write brings the cache up to date, so the next recall reads no changes; with
    ``dedupe=False`` the scope was never searched here, and nothing loads it."""
    from jotty.memory import store as rows

    async with Memory(store, scope="fresh") as memory:
        await memory.remember("the ferry to the island leaves at dawn")
        cache = memory.database().caches["fresh"]
        for text in ("the lighthouse keeper painted the door teal", "the baker sold rye bread"):
            await memory.remember(text)
            state = memory.database().read(lambda cur: rows.scope_state(cur, "fresh"))
            assert state is not None and cache.rev == state.rev
            assert cache.briefs[max(cache.briefs)].text == text
        hits = await memory.recall("what colour is the lighthouse door", k=1)
        assert hits[0].text == "the lighthouse keeper painted the door teal"
    async with Memory(store, scope="unsearched", dedupe=False) as plain:
        await plain.remember("a note nobody searched")
        assert "unsearched" not in plain.database().caches
