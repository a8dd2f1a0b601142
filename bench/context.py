"""Context benchmark: the same research -> analyse -> write chain at levels L1-L4, and the guard.

The chain runs three ``LLMAgent`` steps against the local chat-completions test server (which
counts prompt tokens as the words of every message). Its deterministic "model" answers from what
the prompt holds: research calls a ``search`` tool and lists the facts; analyse needs the metric
definitions; write needs the style guide. A level that leaves out what a step needs changes that
step's answer, so "same outputs" is checked, not assumed. The pool holds memory notes, three skills,
two slow sources (50 ms each, as a recall or a file read would be) and, as the run goes, history
and tool output. L4 runs the chain three times with one prefetch model: the first run has nothing
to go on; the hit rate is that of the later runs.

The guard part times ``SmartContextGuard.assemble`` on a 100-part window (target: p50 under 1 ms)
and, over 2,000 random windows, counts windows returned over their budget, beside the original
project's approach (priority buckets, character truncation), restated here from its description.

    .venv/bin/python -m bench.context [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import os
import random
import re
import statistics
import threading
import time
from typing import Any

from tests.support.openai_server import FunctionCall, OpenAIServer, RecordedRequest, Reply

from jotty.agents import LLMAgent
from jotty.context import (
    ContextBudgetError,
    ContextPolicy,
    Part,
    PartKind,
    PrefetchModel,
    Skill,
    SkillRegistry,
    SmartContextGuard,
    Source,
    TiktokenCounter,
    default_counter,
)
from jotty.patterns import Chain, Step

LEVELS = ("L1", "L2", "L3", "L4")
SOURCE_DELAY = 0.05
WORDS = ["growth", "margin", "region", "quarter", "revenue", "costs", "supplier", "contract", "survey", "ledger"]


def filler(rng: random.Random, words: int, topic: str) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(words))
    return f"{topic}: {body}."


def search(topic: str) -> str:
    """The research tool: a long table of rows, three of which matter."""
    rng = random.Random(topic)
    rows = [f"row {i}: {rng.choice(WORDS)} {rng.randint(1, 999)}" for i in range(120)]
    rows[17], rows[54], rows[91] = "north 120", "south 80", "east 95"
    return "; ".join(rows)


class Model:
    """The scripted model: answers from the prompt; records each step's final answer per level."""

    def __init__(self) -> None:
        self.level = "L1"
        self.answers: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = request.messages
        system = str(messages[0].get("content"))
        prompt = "\n".join(str(m.get("content") or "") for m in messages)
        last = messages[-1]
        step = system.split(":", 1)[0]
        if step == "RESEARCH" and last.get("role") == "user":
            return Reply(tool_calls=[FunctionCall("search", {"topic": "solar"})])
        if step == "RESEARCH":
            facts = " ".join(f"{r}={n}" for r, n in re.findall(r"\b(north|south|east) (\d+)\b", prompt))
            sources = " sources: census, ledger, survey." if "Sources to search: census" in prompt else ""
            answer = f"FACTS {facts}.{sources}"
        elif step == "ANALYSE":
            margin = " margin = profit / revenue." if "Margin is profit over revenue" in prompt else ""
            ledger = " ledger checked." if "ledger rows" in prompt else ""
            answer = f"TREND from {str(last.get('content'))[:60]}.{margin}{ledger}"
        else:
            lead = "Conclusion first: " if "Reports open with the conclusion" in prompt else ""
            answer = f"REPORT {lead}{str(last.get('content'))[:80]}"
        with self.lock:
            self.answers.setdefault(self.level, {})[step] = answer
        return Reply(answer)


def policy(rng: random.Random, prefetch: PrefetchModel) -> ContextPolicy:
    skills = SkillRegistry(
        [
            Skill("web-search", "search the web for sources", filler(rng, 150, "search skill"), category="research"),
            Skill("charts", "compute trends and charts", filler(rng, 150, "chart skill"), category="analysis"),
            Skill("house-style", "write in house style", filler(rng, 150, "style skill"), category="writing"),
        ]
    )
    notes = [
        Part("source-list", "Sources to search: census, ledger, survey.", PartKind.MEMORY, category="research"),
        Part("metric-definitions", "Margin is profit over revenue.", PartKind.MEMORY, category="analysis"),
        Part("style-guide", "Reports open with the conclusion.", PartKind.MEMORY, category="writing"),
    ]
    for category in ("research", "analysis", "writing"):
        for n in range(4):
            notes.append(Part(f"{category}-note-{n}", filler(rng, 120, f"{category} note"), category=category))

    async def archive(query: str) -> str:
        await asyncio.sleep(SOURCE_DELAY)
        return "archive rows: " + filler(random.Random(query), 200, "archive")

    async def ledger(query: str) -> str:
        await asyncio.sleep(SOURCE_DELAY)
        return "ledger rows: " + filler(random.Random(query), 200, "ledger")

    sources = [Source("archive", archive, category="research"), Source("ledger", ledger, category="analysis")]
    return ContextPolicy(parts=notes, sources=sources, skills=skills, prefetch=prefetch)


def chain(base_url: str) -> Chain:
    def agent(system: str, **kw: Any) -> LLMAgent:
        return LLMAgent("test-model", base_url=base_url, api_key="bench", system=system, max_retries=0, **kw)

    return Chain(
        [
            Step(agent("RESEARCH: find sources and facts.", tools=[search]), name="research"),
            Step(agent("ANALYSE: compute the trend."), name="analyse"),
            Step(agent("WRITE: write the report."), name="write"),
        ],
        name="report",
    )


async def run_levels(runs_l4: int) -> dict[str, Any]:
    model = Model()
    out: dict[str, Any] = {}
    with OpenAIServer(model) as server:
        flow = chain(server.base_url)
        await flow.run("warm-up", level="L1", policy=policy(random.Random(7), PrefetchModel()))  # client, tokenizer
        for level in LEVELS:
            prefetch = PrefetchModel()
            rounds = runs_l4 if level == "L4" else 1
            for _ in range(rounds):
                model.level = level
                started = time.perf_counter()
                result = await flow.run("solar panels in 2025", level=level, policy=policy(random.Random(7), prefetch))
                seconds = time.perf_counter() - started
                assert result.ok, result.error
                stats = next(
                    (e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data), None
                )
                out.setdefault(level, []).append(
                    {
                        "prompt": {w.path.split("/")[-1]: w.prompt for w in result.token_shape.windows},
                        "total": result.tokens.prompt,
                        "seconds": seconds,
                        "prefetch": stats,
                        "answers": dict(model.answers[level]),
                    }
                )
    return out


def report_levels(out: dict[str, Any]) -> None:
    base = out["L1"][0]
    print("| level | research | analyse | write | prompt tokens | vs L1 | same outputs | prefetch hits | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for level in LEVELS:
        run = out[level][-1]
        same = sum(run["answers"][s] == base["answers"][s] for s in base["answers"])
        change = (run["total"] - base["total"]) / base["total"]
        if level == "L4":
            warm = [r["prefetch"] for r in out[level][1:]]
            hits = sum(p["hits"] for p in warm)
            needed = hits + sum(p["misses"] for p in warm)
            first = out[level][0]["prefetch"]
            rate = f"{hits / needed:.0%} (first run {first['hit_rate']:.0%})" if needed else "n/a"
        else:
            rate = "-"
        p = run["prompt"]
        print(
            f"| {level} | {p['research']:,} | {p['analyse']:,} | {p['write']:,} | {run['total']:,} | {change:+.0%} "
            f"| {same}/{len(base['answers'])} | {rate} | {run['seconds']:.2f} |"
        )


# ------------------------------------------------------------------------------ the guard


def hundred_parts(rng: random.Random, salt: str = "") -> list[Part]:
    kinds = [PartKind.HISTORY, PartKind.MEMORY, PartKind.TOOL, PartKind.DATA, PartKind.SKILL]
    parts = [
        Part("goal", "Write the quarterly report.", PartKind.GOAL),
        Part("facts", "FY starts in April.", PartKind.PINNED),
    ]
    for i in range(98):
        parts.append(Part(f"part-{i}", filler(rng, rng.randint(20, 60), f"{salt}part {i}"), kinds[i % len(kinds)]))
    return parts


def time_ms(fn: Any, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def cold_ms(make: Any, repeats: int, salt: str) -> float:
    """p50 of assembling windows whose texts the counter has never seen; ``make(parts)`` gives
    the guard for a window (its budget may depend on the window's exact tokens)."""
    windows = [hundred_parts(random.Random(i), f"{salt} {i} ") for i in range(repeats)]
    guards = [make(parts) for parts in windows]
    samples = []
    for parts, guard in zip(windows, guards, strict=True):
        started = time.perf_counter()
        guard.assemble(parts)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def exact_tokens(parts: list[Part]) -> int:
    """The window's exact tokens, by the encoding itself: the guard's counter (and its cache) never
    sees these texts before the timed ``assemble``."""
    import tiktoken

    from jotty.context.tokens import OFFLINE_ENCODING

    encode = tiktoken.get_encoding(OFFLINE_ENCODING).encode_ordinary
    return sum(len(encode(p.text())) for p in parts)


def tiktoken_counter() -> TiktokenCounter:
    """A tiktoken counter with an empty cache (the default counter's slower alternative)."""
    import tiktoken

    from jotty.context.tokens import OFFLINE_ENCODING

    return TiktokenCounter(tiktoken.get_encoding(OFFLINE_ENCODING), "cl100k_base")


def original_build(parts: list[Part], budget: int, count: Any) -> str:
    """The original project's guard, restated: CRITICAL always in; HIGH in if it fits, else cut to
    ``available * 4 - 50`` characters (counting ``available`` tokens); MEDIUM cut to half of what is
    left while under 90 %; LOW only while under 70 % of the budget."""
    buckets: dict[int, list[Part]] = {0: [], 1: [], 2: [], 3: []}
    for p in parts:
        level = 0 if p.pinned or p.kind in (PartKind.GOAL, PartKind.INSTRUCTIONS) else 1
        level = (
            2
            if p.kind in (PartKind.MEMORY, PartKind.SKILL)
            else 3
            if p.kind in (PartKind.TOOL, PartKind.DATA)
            else level
        )
        buckets[level].append(p)
    out, total = [], 0
    for p in buckets[0]:
        out.append(p.text())
        total += count(p.text())
    for p in buckets[1]:
        tokens = count(p.text())
        if total + tokens < budget:
            out.append(p.text())
            total += tokens
        elif budget - total > 200:
            available = budget - total
            out.append(p.text()[: available * 4 - 50])
            total += available
    for p in buckets[2]:
        if total < budget * 0.9:
            available = min(count(p.text()), (budget - total) // 2)
            if available > 100:
                out.append(p.text()[: available * 4 - 50])
                total += available
    if total < budget * 0.7:
        for p in buckets[3]:
            tokens = count(p.text())
            if total + tokens < budget * 0.8:
                out.append(p.text())
                total += tokens
    return "\n\n".join(out)


def random_window(rng: random.Random) -> tuple[list[Part], int]:
    parts = []
    for i in range(rng.randint(1, 14)):
        kind = rng.choice(list(PartKind))
        words = rng.choice([3, 20, 80, 400, 1500])
        parts.append(Part(f"p{i}", filler(rng, words, "x"), kind))
    return parts, rng.choice([30, 100, 300, 1000, 3000])


def guard_checks(windows: int) -> dict[str, Any]:
    counter = default_counter()
    rng = random.Random(11)
    ours_over = theirs_over = checked = 0
    worst = 0.0
    for _ in range(windows):
        parts, budget = random_window(rng)
        guard = SmartContextGuard(budget)
        try:
            window = guard.assemble(parts)
        except ContextBudgetError:
            continue  # the pinned parts alone are over: an error, for both approaches alike
        checked += 1
        ours_over += sum(guard.count(p) for p in window.parts) > budget
        theirs = counter.count(original_build(parts, budget, counter.count))
        if theirs > budget:
            theirs_over += 1
            worst = max(worst, theirs / budget)
    return {"checked": checked, "ours": ours_over, "theirs": theirs_over, "worst": worst}


def report_guard(repeats: int, windows: int) -> None:
    rng = random.Random(5)
    parts = hundred_parts(rng)
    counter = default_counter()
    total = sum(SmartContextGuard(10**9).count(p) for p in parts)
    fits, half = SmartContextGuard(10**9), SmartContextGuard(total // 2)
    fits.assemble(parts)
    half.assemble(parts)
    cold = max(20, repeats // 10)
    rows = [
        ("fits, counts cached", time_ms(lambda: fits.assemble(parts), repeats)),
        ("50% over budget, cached", time_ms(lambda: half.assemble(parts), repeats)),
        (
            "new texts, gpt-4o's 128k budget",
            cold_ms(lambda _: SmartContextGuard(model="gpt-4o"), cold, "model"),
        ),
        (
            "new texts, budget 10% over the window",
            cold_ms(lambda p: SmartContextGuard(exact_tokens(p) * 11 // 10), cold, "tight"),
        ),
        (
            "new texts, 50% over budget",
            cold_ms(lambda p: SmartContextGuard(exact_tokens(p) // 2), cold, "over"),
        ),
        (
            "new texts, 10% over, counted by tiktoken",
            cold_ms(
                lambda p: SmartContextGuard(exact_tokens(p) * 11 // 10, counter=tiktoken_counter()), cold, "tiktoken"
            ),
        ),
        ("original approach, 50% over", time_ms(lambda: original_build(parts, total // 2, counter.count), repeats)),
    ]
    print(f"\n100-part window ({total:,} tokens, {counter.source}): assemble p50")
    print("| case | p50 ms | target |")
    print("|---|---:|---|")
    for name, ms in rows:
        target = "< 1 ms" if name.startswith(("fits, counts", "50%", "new texts")) and "tiktoken" not in name else "-"
        print(f"| {name} | {ms:.3f} | {target} |")
    checks = guard_checks(windows)
    print(f"\n{checks['checked']:,} random windows (1-14 parts, 3-1,500 words each, budgets 30-3,000):")
    print("| approach | windows over budget | worst overshoot |")
    print("|---|---:|---:|")
    print(f"| SmartContextGuard | {checks['ours']} | - |")
    print(f"| original approach (restated) | {checks['theirs']} | {checks['worst']:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"# Context benchmark (load average {load:.1f}, {os.cpu_count()} CPUs)\n")
    print("Chain research -> analyse -> write, prompt tokens as the test server counted them:")
    report_levels(asyncio.run(run_levels(runs_l4=3)))
    report_guard(repeats=200 if args.quick else 1000, windows=300 if args.quick else 2000)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
