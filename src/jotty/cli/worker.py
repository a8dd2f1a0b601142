"""``jotty worker``: run a handler function over queued tasks until stopped (or, with ``--burst``,
until the queue is empty).

SIGTERM or Ctrl-C stops it gracefully: no new claims, running tasks get ``--grace`` seconds to
finish and are then released back to ``pending``. A second signal stops at once; leases of tasks
still running then expire and the tasks are retried, so nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from jotty.cli.console import DbOption, console, err_console, fail, friendly_errors, text
from jotty.errors import ValidationError
from jotty.queue import open_queue
from jotty.queue.manager import TaskQueueManager, WorkerStats


def load_handler(spec: str) -> Callable[..., Any]:
    """Import ``module:function`` (the current directory is importable too)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name.strip() or not attribute.strip():
        raise ValidationError(f"--handler must look like module:function (e.g. tasks:handle), got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise ValidationError(
                f"--handler {spec}: there is no module {module_name!r} in {cwd} or on PYTHONPATH; check the "
                f"spelling, run jotty from the directory that holds {top}.py, or add its directory to PYTHONPATH"
            ) from None
        raise ValidationError(
            f"--handler {spec}: importing {module_name!r} failed: {exc}; install what it needs"
        ) from None
    except Exception as exc:
        raise ValidationError(
            f"--handler {spec}: importing {module_name!r} raised {type(exc).__name__}: {exc}; fix that module"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValidationError(
                f"--handler {spec}: module {module_name!r} has no {attribute!r}; define "
                f"`async def {attribute}(task)` (or a plain function) in {module.__file__ or module_name}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ValidationError(f"--handler {spec}: {attribute!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


async def _work(
    handler: Callable[..., Any],
    db: str | None,
    *,
    concurrency: int,
    agent_type: str | None,
    burst: bool,
    max_tasks: int | None,
    lease: float | None,
    grace: float,
    poll_interval: float,
) -> WorkerStats:
    queue = open_queue(db, **({"lease_seconds": lease} if lease is not None else {}))
    manager = TaskQueueManager(
        handler,
        queue,
        max_concurrent=concurrency,
        poll_interval=poll_interval,
        filters={"agent_type": agent_type} if agent_type else None,
        grace_period=grace,
    )
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    stopping: list[asyncio.Task[None]] = []

    def on_signal(name: str) -> None:
        err_console.print(
            text(f"{name}: finishing running tasks (up to {grace:g}s), then stopping; send it again to stop now")
        )
        for sig in signals:  # a second signal gets the default behaviour: stop at once
            loop.remove_signal_handler(sig)
        stopping.append(loop.create_task(manager.stop()))

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig.name)
    memory = getattr(handler, "memory", None)  # a Conductor with memory sleeps (consolidates) when idle
    try:
        if memory is None:
            return await manager.run(max_tasks, burst=burst)
        async with memory.sleeping(manager):
            return await manager.run(max_tasks, burst=burst)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await queue.close()


def conductor_for(flow: Path, db: str | None, memory_sleep: float = 30.0) -> Any:
    """A Conductor running ``flow`` (a YAML/JSON definition) for each task's goal, learning in ``db``
    (and remembering there; it consolidates after ``memory_sleep`` idle seconds)."""
    from jotty.orchestration import Conductor
    from jotty.spec import load_flow

    return Conductor(flow=load_flow(flow), store=db, memory_sleep=memory_sleep)


def worker(
    handler: Annotated[str | None, typer.Option("--handler", "-H", help="module:function run for each task.")] = None,
    flow: Annotated[
        Path | None,
        typer.Option("--flow", "-f", help="A flow file (YAML/JSON) a Conductor runs for each task's goal."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Tasks run at once.")] = 1,
    agent_type: Annotated[str | None, typer.Option("--agent-type", "-a", help="Only claim this agent type.")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Stop when nothing is left to run.")] = False,
    max_tasks: Annotated[int | None, typer.Option("--max-tasks", min=1, help="Stop after this many.")] = None,
    lease: Annotated[
        float | None, typer.Option("--lease", min=0.1, help="Lease seconds per claim (heartbeats renew it).")
    ] = None,
    grace: Annotated[float, typer.Option("--grace", min=0, help="Seconds running tasks get to finish on stop.")] = 30.0,
    poll_interval: Annotated[float, typer.Option("--poll-interval", min=0.01, hidden=True)] = 1.0,
    memory_sleep: Annotated[
        float, typer.Option("--memory-sleep", min=0.01, help="With --flow: seconds idle before memory consolidates.")
    ] = 30.0,
    db: DbOption = None,
) -> None:
    """Run queued tasks through a handler, or through a Conductor running a flow file.

    The handler is `async def handle(task)` or a plain function (--handler module:function). With --flow,
    each task's goal is the flow's input and the Conductor learns from every run.

    The return value becomes the task's result; an exception fails the attempt (retried while retries remain).

    SIGTERM or Ctrl-C stops gracefully (running tasks get --grace seconds, then go back to pending).
    """
    with friendly_errors():
        if (handler is None) == (flow is None):
            raise ValidationError("give the worker --handler module:function or --flow FLOW.yaml (one of the two)")
        target: Any = load_handler(handler) if handler is not None else conductor_for(Path(str(flow)), db, memory_sleep)
    label = handler or f"flow {flow}"
    started = time.monotonic()
    err_console.print(text(f"worker: {label} x{concurrency}" + (f", agent type {agent_type}" if agent_type else "")))
    try:
        with friendly_errors():
            stats = asyncio.run(
                _work(
                    target,
                    db,
                    concurrency=concurrency,
                    agent_type=agent_type,
                    burst=burst,
                    max_tasks=max_tasks,
                    lease=lease,
                    grace=grace,
                    poll_interval=poll_interval,
                )
            )
    except KeyboardInterrupt:
        fail("stopped at once; tasks still running are retried when their leases expire", code=130)
    finally:
        if flow is not None and hasattr(target, "close"):
            target.close()
    elapsed = time.monotonic() - started
    console.print(
        text(
            f"worker stopped after {elapsed:.1f}s: {stats.claimed} claimed, {stats.completed} completed, "
            f"{stats.failed} failed, {stats.released} released, {stats.lost} lost"
        )
    )
