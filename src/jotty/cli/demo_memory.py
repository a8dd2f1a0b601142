"""``jotty demo``, act 3: memory at work. Round 1 asks questions about the repository and a clerk
works each answer out with git; round 2 asks them again in other words, and the clerk answers from
what the Conductor recalled into ``ctx.data["memory"]`` (the memory's id and score are shown)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

from jotty.agents import AgentResult, FunctionAgent, RunContext
from jotty.cli.console import console, text
from jotty.orchestration import AgentConfig, Conductor
from jotty.wording import plural

ROUNDS = (
    (
        ("commit count", "What is the commit count of this repository?"),
        ("author", "Which author made the most commits?"),
        ("file", "Which file changed most often?"),
    ),
    (
        ("commit count", "Remind me of the repository's commit count"),
        ("author", "Remind me which author committed the most"),
        ("file", "Remind me which file changes most often"),
    ),
)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def work_out(repo: Path, topic: str) -> str:
    """The answer, from git."""
    if topic == "commit count":
        return plural(int(_git(repo, "rev-list", "--count", "HEAD")), "commit")
    if topic == "author":
        counts = Counter(_git(repo, "log", "--format=%an").splitlines())
        name, count = counts.most_common(1)[0]
        return f"{name} ({plural(count, 'commit')})"
    files = Counter(line for line in _git(repo, "log", "--name-only", "--format=").splitlines() if line)
    name, count = files.most_common(1)[0]
    return f"{name} (changed in {plural(count, 'commit')})"


def clerk(repo: Path, sources: list[str]) -> FunctionAgent:
    """Answers from a recalled memory of the same topic when there is one, else works it out (and
    appends where each answer came from to ``sources``)."""

    def answer(goal: str, ctx: RunContext) -> AgentResult:
        topic = ctx.data["topic"]
        for item in ctx.data.get("memory", {}).get("items", []):
            asked = str(item["metadata"].get("goal", "")).lower()
            if item["metadata"].get("outcome") == "success" and topic in asked and " -> " in item["text"]:
                sources.append(f"memory {item['id']} (score {item['score']:.2f})")
                return AgentResult(output=item["text"].split(" -> ", 1)[1])
        sources.append("worked out with git")
        return AgentResult(output=work_out(repo, topic))

    return FunctionAgent(answer, name="clerk")


async def _rounds(repo: Path, store: Path) -> list[tuple[int, str, str, str, float]]:
    rows: list[tuple[int, str, str, str, float]] = []
    sources: list[str] = []
    with Conductor([AgentConfig("clerk", clerk(repo, sources))], store=str(store)) as conductor:
        for number, asked in enumerate(ROUNDS, 1):
            for topic, question in asked:
                began = time.perf_counter()
                result = await conductor.run(question, {"topic": topic})
                took = time.perf_counter() - began
                rows.append((number, question, str(result.output), sources[-1] if sources else "?", took))
                if result.memory is not None:
                    await result.memory.settled()  # the next round finds it, even at once
    return rows


def act_three(repo: Path, store: Path) -> list[tuple[int, str, str, str, float]]:
    """Two rounds of questions; the second is answered from memory. Prints a table; returns its rows."""
    console.rule("[bold]Act 3[/]: memory, a later round uses what an earlier one stored")
    rows = asyncio.run(_rounds(repo, store))
    table = Table("round", "question", "answer", "source", "ms")
    for column in table.columns[1:4]:
        column.overflow = "fold"
    for number, question, output, source, took in rows:
        table.add_row(str(number), text(question), text(output), text(source), f"{took * 1000:.1f}")
    console.print(table)
    recalled = sum(1 for row in rows if row[3].startswith("memory"))
    console.print(text(f"  round 2 answered {recalled} of {plural(len(ROUNDS[1]), 'question')} from memory"))
    console.print(text(f"  look closer: jotty memory search 'commit count' --db {store}"))
    return rows
