"""Benchmark: how fast is jotty.memory on the embedded store (SQLite)?

Rows (all on a fresh SQLite file, with the default offline embedder, wordllama 256):
- ingest: ``remember_many`` of N synthetic chat memories in batches of 1,000 (embedding and the
  near-duplicate check against everything stored included); memories per second, against the
  target of 2,000/s, for the 100,000 and for 10,000 into a fresh scope.
- recall at 100,000: p50/p99 of ``recall(query, k=10)`` over 200 queries in one scope of 100,000
  memories (after one warm-up recall, which loads the scope's vectors), target p50 < 5 ms.
  Peer in the same run: the same queries through the vector search alone (numpy, exact) and through
  SQLite FTS5 alone, so the table shows where the time goes.
- consolidation: one ``consolidate(max_episodes=10,000)`` over 10,000 episodes, target < 10 s.
- per run at 10,000: what the Conductor adds per run (one ``recall`` and one ``remember_detailed``)
  in a scope of 10,000 memories, p50 over 200 runs, target < 1 ms.

The run sets ``OPENBLAS_NUM_THREADS=1`` (unless set): a one-row vector search is far slower when
numpy's BLAS wakes a thread per core on a busy machine (measured: 47 ms vs 18 ms per recall and
remember at 10,000, load 4.5 on 2 cores).

Run: ``python -m bench.memory`` (``--memories`` to change the 100,000). Prints the load average,
since timings on a shared machine are noisy.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported; see the module doc

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jotty.memory import Memory

NAMES = [
    a + b + c
    for a in ("Ka", "Lo", "Mi", "Ra", "Te", "Su", "Vo", "Ne", "Da", "Pi", "Jo", "Ba", "Fe", "Gu")
    for b in ("ren", "lia", "mon", "dra", "vik", "nes", "tor", "sha", "bel", "lin")
    for c in ("", "a", "o")
]
"""420 distinct one-word names (a name is a word, as in real conversations)."""
ACTS = [
    "moved to {city}",
    "started a new job in {city}",
    "adopted a dog named {pet}",
    "is learning the {instrument}",
    "went hiking near {city} with {other}",
    "bought a secondhand {instrument}",
    "painted the harbour of {city}",
    "had dinner with {other} in {city}",
    "signed a lease in {city}",
    "named the new cat {pet}",
]
CITIES = ["Boston", "Denver", "Lisbon", "Osaka", "Nairobi", "Quito", "Oslo", "Perth", "Austin", "Leeds"]
PETS = ["Max", "Luna", "Pip", "Nora", "Rex", "Tofu"]
INSTRUMENTS = ["harp", "cello", "violin", "piano", "drums", "flute"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def sentence(rng: random.Random, index: int) -> dict[str, object]:
    act = rng.choice(ACTS).format(
        city=rng.choice(CITIES), pet=rng.choice(PETS), instrument=rng.choice(INSTRUMENTS), other=rng.choice(NAMES)
    )
    text = f"{rng.choice(NAMES)} {act} (note {index})"
    return {"text": text, "metadata": {"n": index}, "at": T0 + timedelta(minutes=index)}


def queries(rng: random.Random, count: int) -> list[str]:
    shapes = [
        "where does {n} live now?",
        "what instrument is {n} learning?",
        "when did {n} adopt a dog?",
        "who did {n} have dinner with in {c}?",
        "what did {n} buy?",
    ]
    return [rng.choice(shapes).format(n=rng.choice(NAMES), c=rng.choice(CITIES)) for _ in range(count)]


def quantiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def ingest(memory: Memory, count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    for start in range(0, count, 1_000):
        await memory.remember_many([sentence(rng, i) for i in range(start, min(count, start + 1_000))])
    return count / (time.perf_counter() - started)


async def recall_latency(memory: Memory, asked: list[str]) -> tuple[float, float]:
    await memory.recall(asked[0])
    samples = []
    for query in asked:
        started = time.perf_counter()
        await memory.recall(query, k=10)
        samples.append((time.perf_counter() - started) * 1000)
    return quantiles(samples)


def peers(memory: Memory, asked: list[str]) -> dict[str, tuple[float, float]]:
    """The two halves of recall alone: exact numpy vector search, and FTS5 over the same rows."""
    from jotty.memory.cache import fresh_cache
    from jotty.memory.embedders import embed_texts
    from jotty.memory.store import lexical
    from jotty.memory.text import terms

    assert memory.embedder is not None
    database = memory.database()
    vector_ms, fts_ms = [], []
    for query in asked:
        started = time.perf_counter()
        vector = embed_texts(memory.embedder, [query])[0]
        with fresh_cache(database, memory.scope, memory.embedder.name, memory.embedder.dimension) as cache:
            cache.nearest(vector, 40, ("episodic", "semantic"))
        vector_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        words = terms(query)
        database.read(
            lambda cur, w=words: lexical(cur, "sqlite", memory.scope, w, ("episodic", "semantic"), None, None, 40)
        )
        fts_ms.append((time.perf_counter() - started) * 1000)
    return {"vector search alone (numpy)": quantiles(vector_ms), "FTS5 alone": quantiles(fts_ms)}


async def per_run(memory: Memory, asked: list[str], rng: random.Random) -> tuple[float, float]:
    await memory.recall(asked[0])
    samples = []
    for index, query in enumerate(asked):
        started = time.perf_counter()
        await memory.recall(query, k=5)
        await memory.remember_detailed(
            f"run {index}: answered {query!r} with {rng.choice(CITIES)}", outcome="success", predicted=0.5
        )
        samples.append((time.perf_counter() - started) * 1000)
    return quantiles(samples)


async def run(memories: int, folder: Path) -> list[tuple[str, str, str, str]]:
    rng = random.Random(0)
    rows = []
    async with Memory(folder / "big.db", scope="bench") as memory:
        rate = await ingest(memory, memories, rng)
        rows.append((f"ingest {memories:,} (batches of 1,000)", f"{rate:,.0f}/s", "", ">= 2,000/s"))
        asked = queries(rng, 200)
        p50, p99 = await recall_latency(memory, asked)
        rows.append((f"recall k=10 at {memories:,}", f"{p50:.2f} ms", f"{p99:.2f} ms", "p50 < 5 ms"))
        for name, (a, b) in peers(memory, asked).items():
            rows.append((f"  peer: {name}", f"{a:.2f} ms", f"{b:.2f} ms", ""))
    async with Memory(folder / "sleep.db", scope="bench") as memory:
        rate = await ingest(memory, 10_000, rng)
        rows.append(("ingest 10,000 into a fresh scope", f"{rate:,.0f}/s", "", ">= 2,000/s"))
        started = time.perf_counter()
        report = await memory.consolidate(max_episodes=10_000)
        seconds = time.perf_counter() - started
        rows.append(
            (
                "consolidate 10,000 episodes",
                f"{seconds:.2f} s",
                f"{report.clusters} groups, {report.absorbed} absorbed",
                "< 10 s",
            )
        )
    async with Memory(folder / "run.db", scope="bench") as memory:
        await ingest(memory, 10_000, rng)
        p50, p99 = await per_run(memory, queries(rng, 200), rng)
        rows.append(("recall + remember per run at 10,000", f"{p50:.2f} ms", f"{p99:.2f} ms", "p50 < 1 ms"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="jotty.memory speed on SQLite")
    parser.add_argument("--memories", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(run(args.memories, Path(folder)))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"| measure | p50 / value | p99 / detail | target |  (load average {' '.join(load)})")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
