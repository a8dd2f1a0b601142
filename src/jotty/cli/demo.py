"""``jotty demo``: the main job, on the embedded store, no API key needed.

Act 1 analyses a git repository with a durable flow; act 2 queues questions about it and lets
concurrent workers answer them while the Conductor learns which agent answers which kind.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from jotty.cli.console import Col, console, fit_table, friendly_errors, live, text
from jotty.cli.demo_memory import act_three
from jotty.cli.learning import rows_table
from jotty.cli.live import StepTree, seconds, steps_table
from jotty.db import jotty_home
from jotty.demo.analysis import analysis_flow
from jotty.demo.repository import choose_repository
from jotty.demo.routing import actors, questions
from jotty.learning import learning_table, open_store
from jotty.orchestration import Conductor
from jotty.patterns import RunResult
from jotty.queue import SQLiteTaskQueue, TaskStatus
from jotty.wording import plural


def demo(
    repo: Annotated[
        Path, typer.Option("--repo", help="The git repository to analyse (default: the current one).")
    ] = Path("."),
    rounds: Annotated[int, typer.Option("--rounds", min=1, max=10, help="Rounds of queued questions.")] = 5,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Concurrent queue workers.")] = 4,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Shuffle the questions of each round with this seed.")
    ] = None,
) -> None:
    """Run the main job on the embedded store (no API key needed).

    Analyse a git repository with a durable flow, then answer queued questions about it with concurrent
    workers while the Conductor learns which agent to use."""
    with friendly_errors():
        home = jotty_home()
        store = home / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        target, sample = choose_repository(repo, home / "demo" / "sample-repo")
        started = time.perf_counter()
        console.print(
            Panel.fit(
                f"[bold]Jotty demo[/]: analysing {'a sample repository at ' if sample else ''}[cyan]{target}[/]\n"
                f"store: [cyan]{store}[/] (SQLite, embedded; made fresh for the demo)",
                border_style="blue",
            )
        )
        analysis = act_one(target, store, home / "demo" / "report.md")
        rows = asyncio.run(act_two(target, store, rounds, workers, seed))
        remembered = act_three(target, store)
        show_learning(store)
        closing(analysis, rows, remembered, store, time.perf_counter() - started)


def act_one(repo: Path, store: Path, report: Path) -> RunResult:
    """The durable analysis flow, with a live step tree."""
    console.rule("[bold]Act 1[/]: a durable flow analyses the repository")
    flow = analysis_flow(repo, report)
    tree = StepTree()
    run_id = f"demo-analysis-{int(time.time())}"
    with live(tree):
        result = asyncio.run(flow.run(None, store=str(store), run_id=run_id, sink=tree.sink))
    console.print(steps_table(result.steps))
    for path, strategy in result.handled.items():
        console.print(text(f"  {strategy} fired at {path}: the flow carried on"))
    console.print(text(f"  status {result.status}; report written to {result.output}"))
    return result


async def act_two(repo: Path, store: Path, rounds: int, workers: int, seed: int | None = None) -> list[dict[str, Any]]:
    """Rounds of queued questions, answered by concurrent workers; returns one row per round.

    With a ``seed``, each round asks its questions in a different (seeded) order."""
    console.rule("[bold]Act 2[/]: queued questions, concurrent workers, learned routing")
    asked = questions(repo)
    queue = SQLiteTaskQueue(store)
    conductor = Conductor(actors(repo), task_queue=queue, mode="dynamic", store=str(store))
    rows: list[dict[str, Any]] = []
    try:
        shuffle = random.Random(seed).shuffle if seed is not None else None
        for number in range(1, rounds + 1):
            if shuffle is not None:
                shuffle(asked)
            ids = [await conductor.enqueue_goal(goal, context=context) for goal, context in asked]
            began = time.perf_counter()
            await conductor.process_queue(max_concurrent=workers, until_empty=True)
            row = await round_row(queue, ids, number, time.perf_counter() - began)
            rows.append(row)
    finally:
        conductor.close()
        await queue.close()
    console.print(rounds_table(rows))
    return rows


ROUND_COLUMNS = tuple(
    Col(name, "right") for name in ("round", "questions", "answered", "right first", "attempts", "wasted", "time")
)


def rounds_table(rows: list[dict[str, Any]]) -> Table:
    """One line per round: questions, answers, right agent at the first try, attempts, waste, time."""
    cells = [
        (
            str(row["round"]),
            str(row["questions"]),
            str(row["answered"]),
            f"{row['first_try']}/{row['questions']}",
            str(row["attempts"]),
            str(row["attempts"] - row["answered"]),
            seconds(row["seconds"]),
        )
        for row in rows
    ]
    return fit_table(ROUND_COLUMNS, cells, title="rounds", boxed=True)


async def round_row(queue: SQLiteTaskQueue, ids: list[str], number: int, elapsed: float) -> dict[str, Any]:
    """How one round went: answered questions, and how many attempts the routing needed."""
    answered = first_try = attempts = 0
    for task_id in ids:
        task = await queue.get_task(task_id)
        if task is None or task.status != TaskStatus.COMPLETED or not isinstance(task.result, dict):
            continue
        steps = task.result.get("steps", [])
        answered += 1
        attempts += len(steps)
        first_try += len(steps) == 1
    return {
        "round": number,
        "questions": len(ids),
        "answered": answered,
        "first_try": first_try,
        "attempts": attempts,
        "seconds": elapsed,
    }


def show_learning(store: Path) -> None:
    """What the Conductor learned, per agent and kind of question."""
    learned = open_store(str(store))
    try:
        console.print(rows_table(learning_table(learned)))
    finally:
        learned.close()


def closing(
    analysis: RunResult, rows: list[dict[str, Any]], remembered: list[tuple[int, str, str, str, float]],
    store: Path, elapsed: float,
) -> None:  # fmt: skip
    first, later = rows[0], rows[1:]
    second = [row for row in remembered if row[0] == 2]
    from_memory = sum(1 for row in second if row[3].startswith("memory"))
    wasted = [row["attempts"] - row["answered"] for row in rows]
    learned = (
        f"then {sum(wasted[1:]) / len(later):.1f} per round on average in rounds 2-{len(rows)} "
        "(an agent that keeps failing a kind of question while another always answers it is not "
        "explored again)"
        if later
        else "(run more --rounds to see it learn)"
    )
    lines = [
        f"[bold]done in {elapsed:.1f} s[/]",
        f"act 1: flow {analysis.status}, {plural(len(analysis.steps), 'step')} checkpointed (run {analysis.run_id})",
        f"act 2: {plural(first['questions'], 'question')} a round; wasted attempts: {wasted[0]} in round 1, {learned}",
        f"act 3: round 2 answered {from_memory} of {plural(len(second), 'question')} from what round 1 remembered",
        "",
        "look closer:",
        f"  jotty runs show {analysis.run_id} --store {store}",
        f"  jotty queue list --db {store}",
        f"  jotty learning show --db {store}",
        f"  jotty memory stats --db {store}",
    ]
    console.print(Panel("\n".join(lines), title="summary", border_style="green"))
