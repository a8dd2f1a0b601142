"""Benchmark: what the write-behind (the remember half of memory) adds to back-to-back Conductor runs.

The store of ``bench.memory_conductor`` (10,000 memories in the conductor's scope). Two Conductors
over the same actor: ``memory=False`` (the peer) and memory on whose runs remember their outcome
(two scopes a run: the conductor's and ``actor:worker``) but reuse one recall, so only the write
differs. They run in blocks of ``--block`` runs each, alternating; after each block of the memory
Conductor its writer is flushed, and the flush is timed too. Rows: p50, p90 and p99 of a run, the
added latency (memory - peer, per percentile), and the amortized cost (the block's runs plus its
flush, minus the peer's block, per run: the write's whole cost, wherever it landed), and the write
transactions. ``--linger`` sets the writer's wait for more outcomes (0: write as soon as one comes).

Run: ``python -m bench.memory_writer`` (``--blocks``, ``--block``, ``--memories``, ``--linger``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see bench/memory.py: small BLAS calls on a busy machine

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.memory_conductor import actor, fill, goal, pct
from jotty.memory import Memory
from jotty.orchestration import Conductor
from jotty.runmemory.writer import LINGER


async def measure(store: Path, blocks: int, block: int, linger: float, rng: random.Random) -> dict[str, Any]:
    memory = Memory(store, "conductor")
    off = Conductor([actor()], store=store, memory=False)
    on = Conductor([actor()], store=store, memory=memory)
    assert on.memory is not None
    run_memory, writer = on.memory, on.memory.writer
    writer.linger = linger
    try:
        for _ in range(20):  # warm-up: the model, the scope's vectors, the router's tables
            await off.run(goal(rng))
            await on.run(goal(rng))
        writer.flush()
        fixed = await run_memory.recall("warm-up goal", {})

        async def reuse(goal: str, data: Any) -> Any:
            return fixed

        run_memory.recall = reuse  # type: ignore[method-assign]
        times: dict[str, list[float]] = {"off": [], "on": [], "flush": []}
        transactions, written = writer.transactions, writer.written
        for _ in range(blocks):
            for conductor, key in ((off, "off"), (on, "on")):
                for _ in range(block):
                    text = goal(rng)
                    began = time.perf_counter()
                    await conductor.run(text)
                    times[key].append(time.perf_counter() - began)
            began = time.perf_counter()
            assert writer.flush()
            times["flush"].append(time.perf_counter() - began)
        return {
            **times,
            "transactions": writer.transactions - transactions,
            "written": writer.written - written,
        }
    finally:
        off.close()
        on.close()
        await memory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block", type=int, default=40)
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--linger", type=float, default=LINGER)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "bench.db"
        asyncio.run(fill(store, args.memories, rng))
        found = asyncio.run(measure(store, args.blocks, args.block, args.linger, rng))
    runs = args.blocks * args.block
    amortized = (sum(found["on"]) + sum(found["flush"]) - sum(found["off"])) / runs * 1000
    print(f"the write-behind in back-to-back Conductor runs: {args.memories:,} memories in scope, {args.blocks}")
    print(f"blocks of {args.block} runs each, alternating, linger {args.linger:g} s, load average")
    print(f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs\n")
    print("| measure | p50 ms | p90 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    quantiles = (0.5, 0.9, 0.99)
    for label, key in (("run, memory off (peer)", "off"), ("run, remembering (one recall reused)", "on")):
        print(f"| {label} | " + " | ".join(f"{pct(found[key], q):.3f}" for q in quantiles) + " |")
    adds = [pct(found["on"], q) - pct(found["off"], q) for q in quantiles]
    print("| **remembering adds** | " + " | ".join(f"{value:.3f}" for value in adds) + " |")
    print("| flush after a block | " + " | ".join(f"{pct(found['flush'], q):.3f}" for q in quantiles) + " |")
    print(f"\namortized (runs + flush - peer, per run): {amortized:.3f} ms; {found['written']} entries written in")
    print(f"{found['transactions']} transactions ({runs / max(1, found['transactions']):.1f} runs a transaction)")


if __name__ == "__main__":
    main()
