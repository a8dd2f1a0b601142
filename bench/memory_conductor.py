"""Benchmark: what memory adds to a Conductor run, with 10,000 memories in the conductor's scope.

One SQLite file holds 10,000 memories of earlier runs (goal -> output texts about named customers,
cities and products, embedded with the default offline embedder). Two Conductors over the same
actor run new goals (no cache hit): ``memory=False`` (the peer) and
``memory=Memory(store, "conductor")``. The actor reads ``ctx.data["memory"]`` as a real one would.
Target: the p50 difference under 1 ms.

The modes run in blocks of ``--block`` runs, in turn, round after round: the peer, memory on, and
each half of memory alone (runs that recall but remember nothing, and runs that remember but reuse
one recall). A run's remembering happens after it, on the writer thread, so it costs the runs that
follow: in blocks it lands on runs of the same mode (interleaving run by run would put it on the
peer's runs and hide it). After each block the writer is drained, timed, and that time is shown per
run of the block. ``--agent-ms`` makes the actor wait that long on I/O (an HTTP call, an LLM) first,
as real agents do.

Rows, p50 and p99: each mode's whole ``await conductor.run(goal)``, with the process's CPU time per
run (every thread's, the writer's drain included); ``Memory.recall`` alone on the same kind of
goals; the write-behind hand-off (``RunMemory.remember``, the only remembering on the run's path).

Run: ``python -m bench.memory_conductor`` (``--runs``, ``--block``, ``--memories``, ``--agent-ms``).
Prints the load average. ``--recall vector-only`` swaps in a recall cut to what any vector search must
do (one embedding, the cache's freshness check, the nearest ``k``, their rows: no words, names, time
or fusion) and ``--recall none`` one that finds nothing: the floor under what a recall can add.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see bench/memory.py: small BLAS calls on a busy machine

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory, MemoryHit, store
from jotty.memory.cache import fresh_cache
from jotty.memory.embedders import embed_texts
from jotty.memory.retrieve import Query, to_hit
from jotty.orchestration import AgentConfig, Conductor
from jotty.runmemory import MemoryReport

VERBS = ("summarize", "reconcile", "forecast", "audit", "draft", "review", "price", "schedule", "translate", "triage")
THINGS = ("invoices", "shipments", "support tickets", "contracts", "sales report", "inventory", "payroll", "roadmap")
CITIES = ("Lisbon", "Porto", "Faro", "Braga", "Madrid", "Seville", "Lyon", "Turin", "Ghent", "Leeds", "Cork", "Bern")


def goal(rng: random.Random) -> str:
    """A task goal naming a customer, a city and a kind of work."""
    customer = f"{rng.choice(('Acme', 'Lumen', 'Orbit', 'Nimbus', 'Vega', 'Quarry'))}-{rng.randrange(2000)}"
    return f"{rng.choice(VERBS)} the {rng.choice(THINGS)} for {customer} in {rng.choice(CITIES)}"


def outcome(rng: random.Random, text: str) -> str:
    return f"{text} -> done: {rng.randrange(3, 90)} items, {rng.choice(('on time', 'late', 'flagged'))}"


def actor(wait: float = 0.0) -> AgentConfig:
    """The worker: reads what was recalled; with ``wait`` seconds, first waits that long on I/O."""

    async def work(value: Any, ctx: RunContext) -> str:
        recalled = ctx.data.get("memory", {}).get("items", [])
        if wait:
            await asyncio.sleep(wait)
        return f"done {value} ({len(recalled)} recalled)"

    return AgentConfig("worker", FunctionAgent(work, name="worker", thread=False))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def fill(store: Path, count: int, rng: random.Random) -> float:
    async with Memory(store, "conductor") as memory:
        began = time.perf_counter()
        for start in range(0, count, 1000):
            items = [
                {"text": outcome(rng, goal(rng)), "metadata": {"kind": "run", "outcome": "success"}}
                for _ in range(min(1000, count - start))
            ]
            await memory.remember_many(items)
        stats = await memory.stats()
        assert stats.total >= count * 0.9, stats
        return time.perf_counter() - began


MODES = ("off", "on", "recall_only", "remember_only")


def vector_only(memory: Memory, query: Query) -> list[MemoryHit]:
    """A recall cut to its floor: the ``query.k`` nearest vectors of the scope, and their rows."""
    embedder = memory.embedder
    assert embedder is not None and memory.embedder_name is not None
    vector = embed_texts(embedder, [query.text])[0]
    database = memory.database()
    with fresh_cache(database, memory.scope, memory.embedder_name, embedder.dimension) as cache:
        near = cache.nearest(vector, query.k, query.levels)
    rows = database.read(lambda cur: store.fetch(cur, memory.scope, [seq for seq, _ in near]))
    return [to_hit(rows[seq], cosine, {"vector": cosine}) for seq, cosine in near if seq in rows]


RECALLS = {"full": None, "vector-only": vector_only, "none": lambda memory, query: []}
"""``--recall``: the real recall, or a floor swapped in for ``Memory.recall_query``."""


async def measure(store: Path, runs: int, block: int, wait: float, rng: random.Random) -> dict[str, list[float]]:
    """Per mode, each run's seconds (``runs`` in blocks of ``block``); ``<mode>_drain``: the
    writer's drain after each block, per run of the block; ``<mode>_cpu``: the process's CPU time
    (every thread, the drain included) per run of each block; ``recall`` and ``handoff`` alone."""
    keys = (*MODES, *(f"{m}_drain" for m in MODES), *(f"{m}_cpu" for m in MODES), "recall", "handoff")
    times: dict[str, list[float]] = {key: [] for key in keys}
    memory = Memory(store, "conductor")
    off = Conductor([actor(wait)], store=store, memory=False)
    on = Conductor([actor(wait)], store=store, memory=memory)
    assert on.memory is not None
    used = on.memory
    remember, recall = used.remember, used.recall_now
    fixed = recall("warm-up goal", {})

    def reuse(goal: str, data: Any) -> Any:
        return fixed

    halves = {
        "off": (remember, recall),
        "on": (remember, recall),
        "recall_only": (lambda *a, **k: None, recall),
        "remember_only": (remember, reuse),
    }
    try:
        for _ in range(20):  # warm-up: the model, the scope's vectors, the router's tables
            text = goal(rng)
            await off.run(text)
            await on.run(text)
        used.writer.flush()
        for _ in range(max(1, runs // block)):
            for mode in MODES:
                used.remember, used.recall_now = halves[mode]  # type: ignore[method-assign]
                conductor = off if mode == "off" else on
                cpu = time.process_time()
                for _ in range(block):
                    text = goal(rng)
                    began = time.perf_counter()
                    await conductor.run(text)
                    times[mode].append(time.perf_counter() - began)
                began = time.perf_counter()
                used.writer.flush()
                times[f"{mode}_drain"].append((time.perf_counter() - began) / block)
                times[f"{mode}_cpu"].append((time.process_time() - cpu) / block)
        used.remember, used.recall_now = remember, recall  # type: ignore[method-assign]
        for _ in range(runs):
            text = goal(rng)
            began = time.perf_counter()
            await memory.recall(text, k=10)
            times["recall"].append(time.perf_counter() - began)
            report = MemoryReport("conductor")
            began = time.perf_counter()
            used.remember(report, text, {}, run_id="bench", ok=True, output="done", error=None, actor="worker")
            times["handoff"].append(time.perf_counter() - began)
            used.writer.flush()
    finally:
        off.close()
        on.close()
        await memory.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per mode")
    parser.add_argument("--block", type=int, default=25, help="runs of one mode in a row")
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--agent-ms", type=float, default=0.0, help="the actor first waits this long on I/O")
    parser.add_argument("--recall", choices=RECALLS, default="full", help="the real recall, or a floor (see above)")
    args = parser.parse_args()
    floor = RECALLS[args.recall]
    if floor is not None:
        Memory.recall_query = lambda memory, query: floor(memory, query)  # type: ignore[method-assign]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.db"
        filled = asyncio.run(fill(store, args.memories, rng))
        times = asyncio.run(measure(store, args.runs, args.block, args.agent_ms / 1000, rng))
    load = os.getloadavg()[0]
    print(f"memory in a Conductor run: {args.memories:,} memories in scope (filled in {filled:.1f} s), agent waits")
    print(f"{args.agent_ms:g} ms; {args.runs} runs a mode in blocks of {args.block}, load average {load:.2f}, ")
    print(f"{os.cpu_count()} CPUs; recall: {args.recall}\n")
    print("| measure | p50 ms | p99 ms | writer drain ms/run | CPU ms/run |")
    print("|---|---:|---:|---:|---:|")
    for label, key in (
        ("run, memory off (peer)", "off"),
        ("run, memory on", "on"),
        ("run, recall only (nothing remembered)", "recall_only"),
        ("run, remember only (one recall reused)", "remember_only"),
    ):
        drain, cpu = (statistics.mean(times[f"{key}_{part}"]) * 1000 for part in ("drain", "cpu"))
        print(f"| {label} | {pct(times[key], 0.5):.3f} | {pct(times[key], 0.99):.3f} | {drain:.3f} | {cpu:.3f} |")
    for label, key in (("`Memory.recall` alone (k=10)", "recall"), ("write-behind hand-off", "handoff")):
        print(f"| {label} | {pct(times[key], 0.5):.3f} | {pct(times[key], 0.99):.3f} | | |")
    for label, key in (
        ("**memory adds** (on - off)", "on"),
        ("  the recall half adds", "recall_only"),
        ("  the remember half adds", "remember_only"),
    ):
        adds = [pct(times[key], q) - pct(times["off"], q) for q in (0.5, 0.99)]
        cpu = (statistics.mean(times[f"{key}_cpu"]) - statistics.mean(times["off_cpu"])) * 1000
        print(f"| {label} | {adds[0]:.3f} | {adds[1]:.3f} | | {cpu:.3f} |")
    adds = pct(times["on"], 0.5) - pct(times["off"], 0.5)
    if args.recall != "full":
        print(f"\nwith the recall cut to {args.recall}, memory adds {adds:.3f} ms p50 (a floor: no verdict)")
        return
    verdict = "met" if adds < 1.0 else "**not met**"
    print(f"\ntarget: memory adds < 1 ms p50: {verdict} ({adds:.3f} ms)")


if __name__ == "__main__":
    main()
