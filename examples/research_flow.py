"""A research pipeline as a durable Jotty flow.

fetch (flaky: retried) -> three analyses at once (one breaks: 2 of 3 are enough) -> a writer in a
clean sub-agent window (with a fallback) -> the report. Events are printed as they happen; then the
steps, which error strategy fired where, and the token shape.

    .venv/bin/python examples/research_flow.py                  # a new run in .jotty/examples.db
    .venv/bin/python examples/research_flow.py --run-id demo-1  # run it twice: the second time the
                                                                # finished run comes from the store
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from jotty.agents import AgentResult, FunctionAgent, TokenUsage
from jotty.events import Event
from jotty.patterns import Chain, Fallback, Parallel, Retry, Step, SubAgent

attempts = {"fetch": 0}


async def fetch(topic: str) -> AgentResult:
    attempts["fetch"] += 1
    if attempts["fetch"] == 1:
        raise ConnectionError("search API timed out")
    notes = [f"{topic}: finding {i}" for i in range(1, 6)]
    return AgentResult(output=notes, tokens=TokenUsage(prompt=420, completion=180))


def analysis(angle: str, *, broken: bool = False) -> FunctionAgent:
    async def analyze(notes: list[str]) -> AgentResult:
        if broken:
            raise RuntimeError(f"{angle} model is unavailable")
        return AgentResult(output=f"{angle}: {len(notes)} findings look solid", tokens=TokenUsage(300, 60))

    return FunctionAgent(analyze, name=angle)


async def writer(analyses: list[str | None]) -> AgentResult:
    done = [a for a in analyses if a is not None]
    return AgentResult(output="REPORT\n" + "\n".join(f"- {a}" for a in done), tokens=TokenUsage(250, 120))


async def plain_writer(analyses: list[str | None]) -> str:
    return "REPORT (plain)\n" + "\n".join(str(a) for a in analyses if a)


def build() -> Chain:
    analyses = Parallel(
        [analysis("market"), analysis("technical"), analysis("legal", broken=True)],
        min_success=2,
        timeout=5,
    )
    write = SubAgent(FunctionAgent(writer), max_tokens=200)
    return Chain(
        [
            Step(FunctionAgent(fetch), name="fetch", on_error=Retry(3, backoff=0.05)),
            Step(analyses, name="analyze"),
            Step(write, name="write", on_error=Fallback(FunctionAgent(plain_writer))),
        ],
        name="research",
    )


async def show(event: Event) -> None:
    if event.type in ("step_started", "step_completed", "step_failed", "chain_error_handled"):
        detail = event.data.get("error") or event.data.get("strategy") or ""
        print(f"  {event.type:<20} {event.step_path:<32} {detail}")


async def main(store: str, run_id: str | None, topic: str) -> None:
    result = await build().run(topic, store=store, run_id=run_id, sink=show)
    print(f"\nrun {result.run_id}: {result.status}{' (from the store)' if result.resumed else ''}")
    print(result.output, end="\n\n")
    print("| step | status | attempts | strategy |\n|---|---|---:|---|")
    for step in result.steps:
        print(f"| {step.path} | {step.status} | {step.attempts} | {step.strategy or ''} |")
    print(f"\ntoken shape ({result.tokens.total} tokens):\n{result.token_shape.table()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A durable research flow.")
    parser.add_argument("--store", default=".jotty/examples.db", help="SQLite file for the run")
    parser.add_argument("--run-id", help="run id; run again with the same id to resume or re-read it")
    parser.add_argument("--topic", default="solid-state batteries")
    args: Any = parser.parse_args()
    asyncio.run(main(args.store, args.run_id, args.topic))
