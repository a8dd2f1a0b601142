"""Benchmark: does ``DataRegistry.discover`` find the right data, and how fast?

A generated catalogue (``bench.registry_catalog``: 1,000 CSV sources over 28 topics by default, each
a real file with a description, columns and tags) is registered in a fresh SQLite store. Each topic
has a keyword question and a paraphrase question; a hit is right when it is a source of the asked
topic. Measured: precision@5 per question style, and search latency p50/p99 (every question four
times, after one warm-up).

Peer, in the same run: the original project's approach, a plain substring scan (a source scores the
number of the question's words found in its name, description, columns and tags; best first), over
the same sources already in memory (so its latency leaves out loading them). Targets (issue 10):
precision@5 >= 0.9 and search p50 < 5 ms at 1,000 sources.

Run: ``python -m bench.registry`` (``--sources N``, ``--embedder NAME``). Prints the load average.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one-row vector searches: see bench.memory

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.memory import quantiles
from bench.registry_catalog import Entry, catalogue, questions
from jotty.memory import Embedder, MiniLMEmbedder, MiniLMInt8Embedder, WordLlamaEmbedder
from jotty.registry import DataRegistry


def substring_scan(entries: list[Entry], question: str, k: int) -> list[Entry]:
    """The peer: count the question's words found (as substrings) in each source's text."""
    words = [w for w in question.lower().replace(",", " ").split() if len(w) > 2]
    scored = []
    for entry in entries:
        haystack = " ".join([entry.name, entry.description, *entry.columns, *entry.tags]).lower()
        score = sum(1 for w in words if w in haystack)
        if score:
            scored.append((-score, entry.name, entry))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in scored[:k]]


def mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f}"


def precision(found: list[str], topic: str, by_name: dict[str, Entry], k: int = 5) -> float:
    return sum(1 for name in found[:k] if name in by_name and by_name[name].topic == topic) / k


async def build(registry: DataRegistry, entries: list[Entry], folder: Path) -> float:
    started = time.perf_counter()
    for entry in entries:
        path = folder / entry.name.replace("/", "__")
        path.write_text(",".join(entry.columns) + "\n" + ",".join("1" for _ in entry.columns) + "\n")
        await registry.add_file(path, entry.name, description=entry.description, tags=entry.tags)
    return time.perf_counter() - started


EMBEDDERS = {
    "default": "the registry's default",
    "minilm-int8": "all-MiniLM-L6-v2 int8 (onnxruntime)",
    "wordllama": "wordllama 256",
    "wordllama-unit": "wordllama 256, unit pooling",
    "minilm": "all-MiniLM-L6-v2 (PyTorch)",
}


def embedder_of(name: str) -> Embedder | None:
    """The index's embedder: ``default`` (``index_embedder()``: MiniLM int8 where
    ``jotty[memory-minilm]`` is installed, else wordllama with its own mean pooling), or one of
    them named, wordllama with memory's unit pooling, or MiniLM on PyTorch."""
    if name == "minilm-int8":
        return MiniLMInt8Embedder()
    if name == "wordllama":
        return WordLlamaEmbedder(pooling="mean")
    if name == "wordllama-unit":
        return WordLlamaEmbedder(pooling="unit")
    if name == "minilm":
        return MiniLMEmbedder()
    return None


async def measure(sources: int, folder: Path, embedder: str = "default") -> tuple[list[tuple[str, ...]], str]:
    """The table's rows, and the name of the embedder the index used."""
    entries = catalogue(sources)
    by_name = {e.name: e for e in entries}
    asked = questions()
    rows: list[tuple[str, ...]] = []
    async with DataRegistry(folder / "jotty.db", embedder=embedder_of(embedder)) as registry:
        seconds = await build(registry, entries, folder)
        used = str(registry.index.embedder_name)
        await registry.discover(asked[0][1], k=5)
        ours: dict[str, list[float]] = {"keyword": [], "paraphrase": []}
        theirs: dict[str, list[float]] = {"keyword": [], "paraphrase": []}
        ours_ms: list[float] = []
        theirs_ms: list[float] = []
        for _ in range(4):
            for style, question, topic in asked:
                started = time.perf_counter()
                hits = await registry.discover(question, k=5)
                ours_ms.append((time.perf_counter() - started) * 1000)
                ours[style].append(precision([h.source.name for h in hits], topic, by_name))
                started = time.perf_counter()
                found = substring_scan(entries, question, 5)
                theirs_ms.append((time.perf_counter() - started) * 1000)
                theirs[style].append(precision([e.name for e in found], topic, by_name))
    rows.append(
        (
            f"precision@5, keyword questions ({len(asked) // 2})",
            mean(ours["keyword"]),
            mean(theirs["keyword"]),
            ">= 0.9",
        )
    )
    rows.append(
        (
            f"precision@5, paraphrase questions ({len(asked) // 2})",
            mean(ours["paraphrase"]),
            mean(theirs["paraphrase"]),
            "",
        )
    )
    rows.append(
        (
            "precision@5, all questions",
            mean(ours["keyword"] + ours["paraphrase"]),
            mean(theirs["keyword"] + theirs["paraphrase"]),
            ">= 0.9",
        )
    )
    p50, p99 = quantiles(ours_ms)
    t50, t99 = quantiles(theirs_ms)
    rows.append(("search latency p50 (ms)", f"{p50:.2f}", f"{t50:.2f}", "< 5"))
    rows.append(("search latency p99 (ms)", f"{p99:.2f}", f"{t99:.2f}", ""))
    rows.append((f"register {sources:,} files (s, inspect + index each)", f"{seconds:.1f}", "-", ""))
    return rows, used


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="jotty.registry discovery quality and speed")
    parser.add_argument("--sources", type=int, default=1_000)
    parser.add_argument(
        "--embedder",
        choices=list(EMBEDDERS),
        default="default",
        help="the index's embedder (default: the registry's own, MiniLM int8 where jotty[memory-minilm] is "
        "installed, else wordllama 256)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows, used = asyncio.run(measure(args.sources, Path(folder), args.embedder))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    model = f"{EMBEDDERS[args.embedder]}: {used}"
    print(f"Data registry, {args.sources:,} sources, SQLite, {model} (load average {' '.join(load)})")
    print("| measure | jotty discover | substring scan (original) | target |")
    print("|---|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
