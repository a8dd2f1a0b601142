"""Benchmark: how fast is jotty.memory on the embedded store (SQLite)?

Rows (all on a fresh SQLite file, with the default offline embedder, wordllama 256, or all-MiniLM-L6-v2
with ``--embedder minilm``, which needs the ``memory-minilm`` extra):
- ingest: ``remember_many`` of N synthetic chat memories in batches of 1,000 (embedding and the
  near-duplicate check against everything stored included); memories per second, against the
  target of 2,000/s, for the 100,000 and for 10,000 into a fresh scope.
- recall at 100,000: p50/p99 of ``recall(query, k=10)`` over 200 queries in one scope of 100,000
  memories (after one warm-up recall, which loads the scope's vectors), target p50 < 5 ms.
  Beside it in the same run: the same queries through the vector search alone (the inverted-file
  index) and through SQLite FTS5 alone, so the table shows where the time goes.
- consolidation: one ``consolidate(max_episodes=10,000)`` over 10,000 episodes, target < 10 s.
- evidence recall@10: ``bench.memory_quality`` (its table printed below this one), target at least
  6 points above the better of bm25s and the dense retrievers.
- The Conductor's per-run memory cost is ``bench.memory_conductor``'s.

Rates and latencies are wall-clock; the CPU time of this process is printed beside them, since on a
shared machine the wall clock includes the time other processes held the CPUs.

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

from jotty.memory import Embedder, Memory, MiniLMEmbedder, WordLlamaEmbedder
from jotty.memory.embedders import DEFAULT_POOLING

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


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


async def ingest_timed(memory: Memory, count: int, rng: random.Random) -> tuple[float, float]:
    """Memories per second of wall-clock time and of this process's CPU time."""
    cpu = time.process_time()
    rate = await ingest(memory, count, rng)
    return rate, count / (time.process_time() - cpu)


async def recall_latency(memory: Memory, asked: list[str]) -> tuple[float, float, float]:
    """p50 and p99 wall-clock ms of ``recall(k=10)``, and the p50 CPU ms of this process."""
    await memory.recall(asked[0])
    samples, cpu = [], []
    for query in asked:
        started, used = time.perf_counter(), time.process_time()
        await memory.recall(query, k=10)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    p50, p99 = quantiles(samples)
    return p50, p99, statistics.median(cpu)


def peers(memory: Memory, asked: list[str]) -> dict[str, tuple[float, float]]:
    """The two halves of recall alone: the vector search (query embedding included) and FTS5."""
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
    return {
        "vector search alone (index + query embedding)": quantiles(vector_ms),
        "FTS5 alone, all the query's words": quantiles(fts_ms),
    }


Row = tuple[str, str, str, str, str]


def make_embedder(name: str) -> Embedder:
    """The embedder named on the command line: ``wordllama`` (the default) or ``minilm``."""
    return MiniLMEmbedder() if name == "minilm" else WordLlamaEmbedder(pooling=DEFAULT_POOLING)


async def speed(memories: int, folder: Path, embedder: str = "wordllama") -> list[Row]:
    rng = random.Random(0)
    rows: list[Row] = []
    async with Memory(folder / "big.db", scope="bench", embedder=make_embedder(embedder)) as memory:
        rate, cpu_rate = await ingest_timed(memory, memories, rng)
        rows.append(
            (
                f"ingest {memories:,} (batches of 1,000)",
                f"{rate:,.0f}/s",
                f"{cpu_rate:,.0f}/s of CPU time",
                ">= 2,000/s",
                verdict(rate >= 2_000),
            )
        )
        asked = queries(rng, 200)
        p50, p99, cpu = await recall_latency(memory, asked)
        rows.append(
            (
                f"recall k=10 at {memories:,}, p50",
                f"{p50:.2f} ms",
                f"p99 {p99:.2f} ms; CPU p50 {cpu:.2f} ms",
                "p50 < 5 ms",
                verdict(p50 < 5),
            )
        )
        for name, (a, b) in peers(memory, asked).items():
            rows.append((f"  peer: {name}", f"{a:.2f} ms", f"p99 {b:.2f} ms", "", ""))
    async with Memory(folder / "sleep.db", scope="bench", embedder=make_embedder(embedder)) as memory:
        rate, cpu_rate = await ingest_timed(memory, 10_000, rng)
        rows.append(
            (
                "ingest 10,000 into a fresh scope",
                f"{rate:,.0f}/s",
                f"{cpu_rate:,.0f}/s of CPU time",
                ">= 2,000/s",
                verdict(rate >= 2_000),
            )
        )
        started = time.perf_counter()
        report = await memory.consolidate(max_episodes=10_000)
        seconds = time.perf_counter() - started
        rows.append(
            (
                "consolidate 10,000 episodes",
                f"{seconds:.2f} s",
                f"{report.clusters} groups, {report.absorbed} absorbed",
                "< 10 s",
                verdict(seconds < 10),
            )
        )
    return rows


def quality(seed: int) -> tuple[Row, list[str]]:
    """The evidence-recall row and ``bench.memory_quality``'s full table."""
    from bench.memory_quality import margin, run, table

    scores = run(seed, 4)
    lead, name = margin(scores)
    best = next(s for s in scores if s.name == name)
    row = (
        "evidence recall@10 (bench.memory_quality)",
        f"{scores[0].recall['all']:.1f}",
        f"{name} {best.recall['all']:.1f}: {lead:+.1f} points",
        ">= +6 points over the better baseline",
        verdict(lead >= 6),
    )
    return row, table(scores)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="jotty.memory speed on SQLite, and evidence recall")
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0, help="the quality data's seed")
    parser.add_argument("--embedder", choices=("wordllama", "minilm"), default="wordllama")
    parser.add_argument("--no-quality", action="store_true", help="skip bench.memory_quality")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(speed(args.memories, Path(folder), args.embedder))
    details: list[str] = []
    if not args.no_quality:
        row, details = quality(args.seed)
        rows.append(row)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    model = "all-MiniLM-L6-v2" if args.embedder == "minilm" else "wordllama 256"
    print(f"jotty.memory on SQLite, {model} (load average {' '.join(load)} on {os.cpu_count()} CPUs)")
    print("| measure | value | detail | target | verdict |")
    print("|---|---|---|---|---|")
    for measured in rows:
        print("| " + " | ".join(measured) + " |")
    print("The memory cost of a Conductor run (target p50 < 1 ms at 10,000) is bench.memory_conductor's row.")
    print()
    print("\n".join(details))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
