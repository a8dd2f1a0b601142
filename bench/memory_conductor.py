"""Benchmark: what memory adds to a Conductor run, with 10,000 memories in the conductor's scope.

One SQLite file holds 10,000 memories of earlier runs (goal -> output texts about named customers,
cities and products, embedded with the default offline embedder). Two Conductors over the same
actor run the same goals in the same loop, interleaved run by run: ``memory=False`` (the peer) and
``memory=Memory(store, "conductor")``. Each goal is new (no cache hit). The actor reads
``ctx.data["memory"]`` as a real one would. Target: the p50 difference under 1 ms.

Rows, p50 and p99 over ``--runs`` runs (after a warm-up that loads the model and the scope):
- run, memory off / on: the whole ``await conductor.run(goal)``;
- where the time goes: ``Memory.recall`` alone on the same kind of goals (what the one recall per
  run costs), and the write-behind hand-off (``RunMemory.remember``: the only remembering on the
  run's path; the write itself happens on the writer thread);
- each half alone, against the peer again (``--runs``/2 runs each, interleaved): the Conductor with
  memory whose runs recall but remember nothing, and whose runs remember but reuse one recall. The
  write-behind runs on another thread, but on a busy machine (and under the GIL) it competes with
  the runs that follow, so it is measured as what it adds to them.

Run: ``python -m bench.memory_conductor`` (``--runs``, ``--memories``). Prints the load average.
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
from jotty.memory import Memory
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


def actor() -> AgentConfig:
    def work(value: Any, ctx: RunContext) -> str:
        recalled = ctx.data.get("memory", {}).get("items", [])
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


async def measure(store: Path, runs: int, rng: random.Random) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": [], "recall": [], "handoff": []}
    memory = Memory(store, "conductor")
    off = Conductor([actor()], store=store, memory=False)
    on = Conductor([actor()], store=store, memory=memory)
    assert on.memory is not None
    try:
        for _ in range(20):  # warm-up: the model, the scope's vectors, the router's tables
            text = goal(rng)
            await off.run(text)
            await on.run(text)
        for _ in range(runs):
            text = goal(rng)
            began = time.perf_counter()
            await off.run(text)
            times["off"].append(time.perf_counter() - began)
            text = goal(rng)
            began = time.perf_counter()
            await on.run(text)
            times["on"].append(time.perf_counter() - began)
        for _ in range(runs):
            text = goal(rng)
            began = time.perf_counter()
            await memory.recall(text, k=10)
            times["recall"].append(time.perf_counter() - began)
            report = MemoryReport("conductor")
            began = time.perf_counter()
            on.memory.remember(report, text, {}, run_id="bench", ok=True, output="done", error=None, actor="worker")
            times["handoff"].append(time.perf_counter() - began)
        on.memory.writer.flush()
        await split(off, on, runs, rng, times)
    finally:
        off.close()
        on.close()
        await memory.close()
    return times


async def split(off: Conductor, on: Conductor, runs: int, rng: random.Random, times: dict[str, list[float]]) -> None:
    """The two halves of memory in a run, each alone (interleaved with the peer): runs that recall
    but remember nothing, and runs that remember but reuse one recall (no search)."""
    assert on.memory is not None
    memory = on.memory
    remember, recall = memory.remember, memory.recall
    fixed = await recall("warm-up goal", {})

    async def reuse(goal: str, data: Any) -> Any:
        return fixed

    for key, halves in (("recall_only", (lambda *a, **k: None, recall)), ("remember_only", (remember, reuse))):
        memory.remember, memory.recall = halves  # type: ignore[method-assign]
        times[key], times[f"{key}_peer"] = [], []
        for _ in range(runs // 2):
            for conductor, into in ((off, f"{key}_peer"), (on, key)):
                text = goal(rng)
                began = time.perf_counter()
                await conductor.run(text)
                times[into].append(time.perf_counter() - began)
        memory.writer.flush()
    memory.remember, memory.recall = remember, recall  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--memories", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.db"
        filled = asyncio.run(fill(store, args.memories, rng))
        times = asyncio.run(measure(store, args.runs, rng))
    load = os.getloadavg()[0]
    overhead = [pct(times["on"], q) - pct(times["off"], q) for q in (0.5, 0.99)]
    print(f"memory in a Conductor run: {args.memories:,} memories in scope (filled in {filled:.1f} s), ")
    print(f"{args.runs} runs each, interleaved, load average {load:.2f}, {os.cpu_count()} CPUs\n")
    print("| measure | p50 ms | p99 ms |")
    print("|---|---|---|")
    for label, key in (
        ("run, memory off (peer)", "off"),
        ("run, memory on", "on"),
        ("  where it goes: Memory.recall alone (k=10)", "recall"),
        ("  where it goes: write-behind hand-off", "handoff"),
    ):
        print(f"| {label} | {pct(times[key], 0.5):.3f} | {pct(times[key], 0.99):.3f} |")
    verdict = "met" if overhead[0] < 1.0 else "**not met**"
    print(f"| **memory adds** (on - off) | {overhead[0]:.3f} | {overhead[1]:.3f} |")
    for label, key in (
        ("  the recall half alone: adds (recall, nothing remembered)", "recall_only"),
        ("  the remember half alone: adds (write-behind, one recall reused)", "remember_only"),
    ):
        adds = [pct(times[key], q) - pct(times[f"{key}_peer"], q) for q in (0.5, 0.99)]
        print(f"| {label} | {adds[0]:.3f} | {adds[1]:.3f} |")
    print(f"\ntarget: memory adds < 1 ms p50: {verdict}; mean recall {statistics.mean(times['recall']) * 1000:.3f} ms")


if __name__ == "__main__":
    main()
