"""``TaskQueueManager``: a worker loop that runs a handler per claimed task.

It claims as many tasks as it has free slots (one transaction for the batch), runs each handler
concurrently, heartbeats every running task's lease, completes finished tasks in batches, reaps
expired leases, and sleeps on the queue's wake-up channel when idle: new work starts within
milliseconds, with no fixed polling. ``stop()`` is graceful: running tasks finish, or are released
back to ``pending`` when the grace period ends; nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from jotty.errors import ValidationError
from jotty.queue.base import TaskQueue
from jotty.queue.task import Task

log = logging.getLogger(__name__)

Handler = Callable[[Task], Awaitable[Any]] | Callable[[Task], Any]


class TaskHandler(Protocol):
    """An object that handles tasks (a Conductor is one)."""

    async def handle_task(self, task: Task) -> Any: ...


class PermanentFailure(Exception):
    """Raise from a handler to fail the task for good, without retries."""


@dataclass
class WorkerStats:
    """What a manager did so far."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0


class TaskQueueManager:
    """Run ``handler(task)`` for queued tasks with a concurrency limit.

    ``handler`` is an async or sync callable taking the claimed ``Task`` (or an object with an
    async ``handle_task`` method, such as a Conductor); its return value becomes the task's result,
    an exception fails the attempt (retried per the queue's rules; ``PermanentFailure`` is not).
    ``agent_limits`` caps running tasks per ``agent_type`` (only those types are then claimed);
    ``filters`` restrict which tasks this worker claims. ``poll_interval`` is only a safety net:
    idle workers are woken by new work.
    """

    def __init__(
        self,
        handler: Handler | TaskHandler,
        queue: TaskQueue,
        max_concurrent: int = 3,
        poll_interval: float = 1.0,
        *,
        filters: Mapping[str, Any] | None = None,
        agent_limits: Mapping[str, int] | None = None,
        lease_seconds: float | None = None,
        grace_period: float = 30.0,
    ) -> None:
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValidationError(f"max_concurrent must be a whole number >= 1, got {max_concurrent!r}")
        if poll_interval <= 0:
            raise ValidationError(f"poll_interval must be > 0 seconds, got {poll_interval!r}")
        for agent, limit in (agent_limits or {}).items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValidationError(f"agent_limits[{agent!r}] must be a whole number >= 1, got {limit!r}")
        self._call = _as_callable(handler)
        self.queue = queue
        self.max_concurrent = max_concurrent
        self.poll_interval = poll_interval
        self.filters = dict(filters or {})
        self.agent_limits = dict(agent_limits or {})
        self.lease_seconds = lease_seconds or queue.lease_seconds
        self.grace_period = grace_period
        self.stats = WorkerStats()
        self._running: dict[str, tuple[Task, asyncio.Task[None]]] = {}
        self._done: list[tuple[str, str, Any]] = []
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._flush_lock = asyncio.Lock()

    @property
    def running(self) -> int:
        """How many tasks are being handled now."""
        return len(self._running)

    async def start(self) -> WorkerStats:
        """Process tasks until ``stop()`` is called."""
        return await self.run()

    async def run(self, max_tasks: int | None = None, *, burst: bool = False) -> WorkerStats:
        """Process tasks until ``stop()``, until ``max_tasks`` were claimed, or (``burst``) until
        nothing is runnable and nothing is running."""
        self._stopping.clear()
        helpers = [asyncio.create_task(self._heartbeats()), asyncio.create_task(self._reaper())]
        try:
            while not self._stopping.is_set():
                self._slot_freed.clear()  # a task ending from here on wakes the waits below, even mid-look
                if max_tasks is not None and self.stats.claimed >= max_tasks:
                    if not self._running:
                        break
                    await self._wait_for_slot(self.poll_interval)
                    continue
                limit = self.max_concurrent - len(self._running)
                if max_tasks is not None:
                    limit = min(limit, max_tasks - self.stats.claimed)
                claimed = await self._claim(limit) if limit > 0 else []
                for task in claimed:
                    self._start(task)
                if claimed:
                    continue
                if burst and not self._running and await self._nothing_due():
                    break
                await self._idle(limit > 0)
            await self._drain()
        finally:
            try:
                await _stop(helpers)
            finally:  # finished tasks are completed even when stopping the helpers was interrupted
                await self._flush()
        return self.stats

    async def stop(self) -> None:
        """Stop claiming; running tasks finish (or are released after ``grace_period``)."""
        self._stopping.set()
        self._slot_freed.set()

    # ------------------------------------------------------------------ claiming and running

    async def _claim(self, limit: int) -> list[Task]:
        if not self.agent_limits:
            claimed = await self.queue.claim_many(limit, self.filters, lease_seconds=self.lease_seconds)
        else:
            claimed = []
            for agent, cap in self.agent_limits.items():
                busy = sum(1 for t, _ in self._running.values() if t.agent_type == agent)
                room = min(cap - busy, limit - len(claimed))
                if room > 0:
                    claimed += await self.queue.claim_many(
                        room, {**self.filters, "agent_type": agent}, lease_seconds=self.lease_seconds
                    )
        self.stats.claimed += len(claimed)
        return claimed

    def _start(self, task: Task) -> None:
        self._running[task.task_id] = (task, asyncio.create_task(self._handle(task)))

    async def _handle(self, task: Task) -> None:
        assert task.lease_id is not None
        try:
            result = await self._call(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.info("task %s failed: %s", task.task_id, error)
            if await self.queue.fail(task.task_id, task.lease_id, error, retry=not isinstance(exc, PermanentFailure)):
                self.stats.failed += 1
            else:
                self.stats.lost += 1
            self._finished(task.task_id)
        else:
            self._done.append((task.task_id, task.lease_id, result))
            self._finished(task.task_id)
            if not self._flush_lock.locked():
                await self._flush()

    def _finished(self, task_id: str) -> None:
        self._running.pop(task_id, None)
        self._slot_freed.set()

    async def _flush(self) -> None:
        """Complete every finished task in one transaction (finishing tasks batch up meanwhile)."""
        async with self._flush_lock:
            await asyncio.sleep(0)  # the handlers finishing in this turn of the loop join the batch
            while self._done:
                batch, self._done = self._done, []
                results = await self.queue.complete_many(batch)
                for (task_id, _, _), ok in zip(batch, results, strict=True):
                    if ok:
                        self.stats.completed += 1
                    else:
                        self.stats.lost += 1
                        log.warning("task %s finished after its lease was lost; result refused", task_id)

    # ------------------------------------------------------------------ waiting

    async def _idle(self, has_room: bool) -> None:
        if not has_room:
            await self._wait_for_slot(self.poll_interval)
            return
        due = await self.queue.next_due()
        now = time.time()
        if due is not None and due <= now:
            if await self.queue.reap_expired():  # a lease ran out: recover its task now, not at the next reap
                return
            due = None  # due but not for this worker (filters, dependencies): wait for news instead of spinning
        timeout = self.poll_interval if due is None else max(0.001, min(self.poll_interval, due - now))
        waiters: list[asyncio.Task[Any]] = [
            asyncio.create_task(self.queue.wait_for_work(timeout)),
            asyncio.create_task(self._stopping.wait()),
            asyncio.create_task(self._wait_for_slot(timeout)),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _wait_for_slot(self, timeout: float) -> None:
        """Wait until a task ended (or was reaped) since the top of this turn of ``run``'s loop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), timeout)

    async def _nothing_due(self) -> bool:
        due = await self.queue.next_due()
        return due is None or due > time.time() + self.poll_interval * 10

    async def _drain(self) -> None:
        """Let running tasks finish within the grace period; release the rest."""
        if not self._running:
            return
        tasks = [handle for _, handle in self._running.values()]
        await asyncio.wait(tasks, timeout=self.grace_period)
        for task_id, (task, handle) in list(self._running.items()):
            handle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handle
            assert task.lease_id is not None
            if await self.queue.release(task.task_id, task.lease_id, "worker stopped before the task finished"):
                self.stats.released += 1
            self._running.pop(task_id, None)

    # ------------------------------------------------------------------ leases

    async def _heartbeats(self) -> None:
        interval = self.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            for task_id, (task, handle) in list(self._running.items()):
                if not await self.queue.heartbeat(task_id, task.lease_id):
                    log.warning("lost the lease of task %s; cancelling its handler", task_id)
                    self.stats.lost += 1
                    handle.cancel()
                    self._finished(task_id)

    async def _reaper(self) -> None:
        interval = max(0.05, self.lease_seconds / 2)
        while True:
            try:
                if await self.queue.reap_expired():
                    self._slot_freed.set()
            except Exception:  # the reaper must outlive a passing store error
                log.exception("reaping expired leases failed; will retry")
            await asyncio.sleep(interval)


async def _stop(helpers: list[asyncio.Task[None]]) -> None:
    """Cancel helper tasks and wait until they end, cancelling again any that swallowed the cancel
    (a store client can: redis-py under ``asyncio.wait_for`` on Python 3.11). Raises what a helper
    raised, other than its cancellation."""
    for helper in helpers:
        while not helper.done():
            helper.cancel()
            await asyncio.wait([helper], timeout=0.5)
    for helper in helpers:
        if not helper.cancelled():
            helper.result()


def _as_callable(handler: Handler | TaskHandler) -> Callable[[Task], Awaitable[Any]]:
    method = getattr(handler, "handle_task", None)
    if method is not None and inspect.iscoroutinefunction(method):
        return cast(Callable[[Task], Awaitable[Any]], method)
    if not callable(handler):
        raise ValidationError(
            f"handler must be a callable taking a Task, or an object with async handle_task(task); got {handler!r}"
        )
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__):
        return cast(Callable[[Task], Awaitable[Any]], handler)
    function = cast(Callable[[Task], Any], handler)

    async def in_thread(task: Task) -> Any:
        result = await asyncio.to_thread(function, task)
        if inspect.isawaitable(result):
            return await result
        return result

    return in_thread
