"""``jotty supervise``: run coding agents on queued tasks; ``status`` and ``logs`` show them.

``jotty supervise --config supervise.yaml`` runs until SIGTERM or Ctrl-C: nothing new starts,
running agents get the config's grace period, then their process groups are stopped and their
tasks go back to pending. A second signal stops the supervisor at once; its agents keep running
and the next supervisor on this host adopts them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jotty.cli.console import DbOption, console, err_console, existing_store, fail, friendly_errors, run, text
from jotty.errors import NotFoundError
from jotty.queue import TaskQueue, open_queue
from jotty.queue.manager import WorkerStats
from jotty.supervise import Supervisor, load_config, running_agents
from jotty.supervise.logs import follow, tail
from jotty.supervise.status import duration

supervise_app = typer.Typer(
    help="Run coding agents (claude, cursor, opencode, any program) on queued tasks in git worktrees.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@supervise_app.callback()
def supervise(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="The supervisor config (YAML): agents, repo, branches.")
    ] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Stop when nothing is left to run.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log each start and finish.")] = False,
    db: DbOption = None,
) -> None:
    """Run the agents the config names on queued tasks, until stopped (SIGTERM or Ctrl-C).

    Tasks are claimed by agent_type within each type's concurrency; tasks whose agent_type is
    'auto' get one from the learning router. See `jotty supervise status` and `jotty supervise logs`.
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    if config is None:
        fail("give the supervisor its config: jotty supervise --config supervise.yaml")
    with friendly_errors():
        settings = load_config(config)
    if not quiet:
        _log_to_stderr()
    err_console.print(text(f"supervise: {', '.join(f'{n} x{a.concurrency}' for n, a in settings.agents.items())}"))
    try:
        stats = run(_supervise(Supervisor(settings, db), burst, settings.grace_period))
    except KeyboardInterrupt:
        fail("stopped at once; running agents keep going and are adopted by the next supervisor", code=130)
    console.print(
        text(
            f"supervisor stopped: {stats.claimed} started, {stats.completed} completed, {stats.failed} failed, "
            f"{stats.released} back to pending, {stats.lost} lost"
        )
    )


async def _supervise(supervisor: Supervisor, burst: bool, grace: float) -> WorkerStats:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    stopping: list[asyncio.Task[None]] = []

    def on_signal(name: str) -> None:
        err_console.print(text(f"{name}: no new agents; running ones get {grace:g}s, then are stopped"))
        for sig in signals:
            loop.remove_signal_handler(sig)
        stopping.append(loop.create_task(supervisor.stop()))

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        return await supervisor.run(burst=burst)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await supervisor.close()


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("jotty.supervise")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@supervise_app.command("status")
def status(ctx: typer.Context, db: DbOption = None) -> None:
    """Show the running agents: task, type, PID, for how long, last log line."""
    store = db or ctx.obj
    existing_store(store)

    async def body() -> None:
        queue = open_queue(store)
        try:
            agents = await running_agents(queue)
            stats = await queue.get_stats()
        finally:
            await queue.close()
        if not agents:
            console.print(text("no agents running"))
        else:
            table = Table(box=None, pad_edge=False, show_edge=False)
            for name in ("task", "type", "pid", "for", "last log line"):
                table.add_column(name, no_wrap=True, overflow="ellipsis")
            for a in agents:
                table.add_row(text(a.task_id), text(a.agent_type), text(a.pid), text(duration(a.seconds)),
                              text(a.last_line[:200]))  # fmt: skip
            console.print(table)
        console.print(text(f"{len(agents)} running, {stats['pending']} pending, {stats['failed']} failed"))

    run(body())


@supervise_app.command("logs")
def logs(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The task whose agent log to show.")],
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Lines shown before following.")] = 40,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="Print the last lines and stop.")] = False,
    db: DbOption = None,
) -> None:
    """Show a task's agent log and follow it while the agent runs."""
    store = db or ctx.obj
    existing_store(store)

    async def body() -> None:
        queue = open_queue(store)
        try:
            await _show_log(queue, task_id, lines, not no_follow)
        finally:
            await queue.close()

    try:
        run(body())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _show_log(queue: TaskQueue, task_id: str, lines: int, keep_following: bool) -> None:
    task = await queue.get_task(task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id!r}: see jotty queue list")
    if not task.log_file:
        raise NotFoundError(f"task {task_id} has no log yet ({task.status}): its agent has not started")
    path = Path(task.log_file)
    for line in tail(path, lines, max_bytes=1 << 20):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    if not keep_following or task.status != "in_progress":
        return

    async def running() -> bool:
        current = await queue.get_task(task_id)
        return current is not None and current.status == "in_progress" and current.log_file == task.log_file

    start = path.stat().st_size if path.exists() else 0
    async for chunk in follow(path, running, start=start):
        sys.stdout.write(chunk.decode("utf-8", errors="replace"))
        sys.stdout.flush()
