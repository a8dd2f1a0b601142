"""Patterns benchmark: Jotty's flows against LangGraph, in one run, on the same machine.

Measures the per-step overhead of a 10-step chain of no-op async steps, in memory and with durable
SQLite checkpoints after every step (the store passed open, and given as a path), and the wall
time of a fan-out of 1,000 branches that each sleep 10 ms (Jotty ``Parallel``, LangGraph ``Send``,
and raw ``asyncio.gather`` as the floor). Prints a markdown table with the targets: Jotty at most a
tenth of LangGraph's per-step cost, the path form within 1.2x of the open store, and the fan-out
within 1.5x of raw gather.

    .venv/bin/python bench/patterns.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds files named like standard modules (queue.py): keep the folder off the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import gc
import operator
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Parallel, Step
from jotty.runs import SQLiteRunStore

STEPS = 10
BRANCHES = 1_000
SLEEP = 0.010


async def best_of(repeats: int, measure: Callable[[], Awaitable[float]]) -> float:
    """The median of ``repeats`` measurements (after one warm-up)."""
    await measure()
    return statistics.median([await measure() for _ in range(repeats)])


# ------------------------------------------------------------------------------------- chain


async def noop_step(x: int) -> int:
    return x + 1


def jotty_chain() -> Chain:
    return Chain([Step(FunctionAgent(noop_step), name=f"s{i}") for i in range(STEPS)])


class ChainState(TypedDict):
    x: int


async def noop_node(state: ChainState) -> dict[str, int]:
    return {"x": state["x"] + 1}


def langgraph_chain() -> StateGraph[Any]:
    graph = StateGraph(ChainState)
    previous = START
    for i in range(STEPS):
        graph.add_node(f"s{i}", noop_node)
        graph.add_edge(previous, f"s{i}")
        previous = f"s{i}"
    graph.add_edge(previous, END)
    return graph


async def per_step_us(runs: int, run_once: Callable[[int], Awaitable[Any]], counter: list[int]) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        counter[0] += 1
        await run_once(counter[0])
    return (time.perf_counter() - start) / (runs * STEPS) * 1e6


async def chain_numbers(folder: Path, runs: int, repeats: int) -> dict[str, float]:
    counter = [0]
    flow = jotty_chain()
    store = SQLiteRunStore(folder / "jotty.db")

    async def jotty_memory(_: int) -> None:
        result = await flow.run(0)
        assert result.output == STEPS, result.error

    async def jotty_durable(n: int) -> None:
        result = await flow.run(0, store=store, run_id=f"bench-{n}")
        assert result.output == STEPS, result.error

    path = str(folder / "jotty-path.db")

    async def jotty_durable_path(n: int) -> None:  # the README's form: the store given as a path
        result = await flow.run(0, store=path, run_id=f"bench-{n}")
        assert result.output == STEPS, result.error

    app = langgraph_chain().compile()

    async def lg_memory(_: int) -> None:
        out = await app.ainvoke({"x": 0})
        assert out["x"] == STEPS

    numbers: dict[str, float] = {}
    numbers["jotty_memory"] = await best_of(repeats, lambda: per_step_us(runs, jotty_memory, counter))
    # Object and path forms alternate, sample by sample, so that a load change hits both alike.
    durable: list[float] = []
    by_path: list[float] = []
    await per_step_us(runs, jotty_durable, counter)  # warm-up
    await per_step_us(runs, jotty_durable_path, counter)
    for _ in range(repeats):
        durable.append(await per_step_us(runs, jotty_durable, counter))
        by_path.append(await per_step_us(runs, jotty_durable_path, counter))
    numbers["jotty_durable"] = statistics.median(durable)
    numbers["jotty_durable_path"] = statistics.median(by_path)
    numbers["langgraph_memory"] = await best_of(repeats, lambda: per_step_us(runs, lg_memory, counter))
    async with AsyncSqliteSaver.from_conn_string(str(folder / "langgraph.db")) as saver:
        durable_app = langgraph_chain().compile(checkpointer=saver)

        async def lg_durable(n: int) -> None:
            out = await durable_app.ainvoke({"x": 0}, {"configurable": {"thread_id": f"bench-{n}"}})
            assert out["x"] == STEPS

        numbers["langgraph_durable"] = await best_of(
            repeats, lambda: per_step_us(max(runs // 10, 5), lg_durable, counter)
        )
    await store.close()
    return numbers


# ----------------------------------------------------------------------------------- fan-out


async def sleepy(x: Any) -> Any:
    await asyncio.sleep(SLEEP)
    return x


class FanState(TypedDict):
    results: Annotated[list[int], operator.add]


class BranchState(TypedDict):
    i: int


def fan_out(state: FanState) -> list[Send]:
    return [Send("work", {"i": i}) for i in range(BRANCHES)]


async def work_node(state: BranchState) -> dict[str, list[int]]:
    await asyncio.sleep(SLEEP)
    return {"results": [state["i"]]}


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()  # each sample starts from a clean heap and pays only for its own garbage
    start = time.perf_counter()
    await fn()
    return (time.perf_counter() - start) * 1e3


async def fanout_numbers(repeats: int) -> dict[str, float]:
    flow = Parallel([FunctionAgent(sleepy)] * BRANCHES)
    graph = StateGraph(FanState)
    graph.add_node("work", work_node)
    graph.add_conditional_edges(START, fan_out, ["work"])
    graph.add_edge("work", END)
    app = graph.compile()

    async def jotty() -> None:
        result = await flow.run(1)
        assert result.ok and len(result.output) == BRANCHES, result.error

    async def raw() -> None:
        await asyncio.gather(*(sleepy(1) for _ in range(BRANCHES)))

    async def langgraph() -> None:
        out = await app.ainvoke({"results": []})
        assert len(out["results"]) == BRANCHES

    # Interleaved rounds, so that a load change on the machine hits all three alike.
    times: dict[str, list[float]] = {"raw_gather": [], "jotty": [], "langgraph": []}
    for round in range(repeats + 1):
        for label, fn in (("raw_gather", raw), ("jotty", jotty), ("langgraph", langgraph)):
            elapsed = await timed(fn)
            if round:  # the first round warms up
                times[label].append(elapsed)
    return {label: statistics.median(values) for label, values in times.items()}


# --------------------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(chain: dict[str, float], fan: dict[str, float]) -> str:
    mem_ratio = chain["langgraph_memory"] / chain["jotty_memory"]
    dur_ratio = chain["langgraph_durable"] / chain["jotty_durable"]
    fan_ratio = fan["jotty"] / fan["raw_gather"]
    path_ratio = chain["langgraph_durable"] / chain["jotty_durable_path"]
    path_vs_object = chain["jotty_durable_path"] / chain["jotty_durable"]
    rows = [
        "| measurement | Jotty | LangGraph | raw gather | Jotty vs peer | target | verdict |",
        "|---|---:|---:|---:|---:|---|---|",
        f"| 10-step chain, in memory (us/step) | {chain['jotty_memory']:.1f} | "
        f"{chain['langgraph_memory']:.1f} | | {mem_ratio:.1f}x faster | <= 1/10 of LangGraph "
        f"({chain['langgraph_memory'] / 10:.1f}) | {verdict(mem_ratio >= 10)} |",
        f"| 10-step chain, SQLite checkpoint per step (us/step) | {chain['jotty_durable']:.1f} | "
        f"{chain['langgraph_durable']:.1f} | | {dur_ratio:.1f}x faster | <= 1/10 of LangGraph "
        f"({chain['langgraph_durable'] / 10:.1f}) | {verdict(dur_ratio >= 10)} |",
        f'| same, `store="runs.db"` given as a path (us/step) | {chain["jotty_durable_path"]:.1f} | '
        f"{chain['langgraph_durable']:.1f} | | {path_ratio:.1f}x faster; {path_vs_object:.2f}x the open store | "
        f"<= 1/10 of LangGraph and <= 1.2x the open store | {verdict(path_ratio >= 10 and path_vs_object <= 1.2)} |",
        f"| fan-out, {BRANCHES:,} branches x {SLEEP * 1e3:.0f} ms sleep (ms) | {fan['jotty']:.1f} | "
        f"{fan['langgraph']:.1f} | {fan['raw_gather']:.1f} | {fan_ratio:.2f}x raw gather | "
        f"<= 1.5x raw gather | {verdict(fan_ratio <= 1.5)} |",
    ]
    return "\n".join(rows)


async def main(quick: bool) -> None:
    runs, repeats = (50, 3) if quick else (200, 5)
    with tempfile.TemporaryDirectory(prefix="jotty-bench-") as folder:
        chain = await chain_numbers(Path(folder), runs, repeats)
    fan = await fanout_numbers(3 if quick else 11)
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    print(
        f"Python {platform.python_version()}, langgraph {version('langgraph')}, {cpus} CPUs, load {load:.1f}; "
        f"medians of {repeats} (chain) and {3 if quick else 11} (fan-out) samples"
    )
    if load > cpus * 0.75:
        print(
            "warning: the machine is busy; other processes stretch the CPU part of each sample but not "
            "the 10 ms sleeps, so the fan-out ratio reads high. Run again on an idle machine."
        )
    print()
    print(table(chain, fan))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test of the bench)")
    asyncio.run(main(parser.parse_args().quick))
