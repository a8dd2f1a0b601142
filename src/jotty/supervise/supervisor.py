"""``Supervisor``: runs configured coding agents on queued tasks, one git worktree per task.

It is a ``TaskQueueManager`` whose handler is an agent attempt (``runner.Attempts``): claims are
per agent type within each type's ``concurrency``, leases are heartbeated while agents run, and
results go through the queue's normal rules (retries with backoff; ``PermanentFailure`` for a bad
configuration). Before claiming, tasks whose agent type is ``auto`` get one from the learning
router. At start and every third of a lease it looks for agents on this host that no live
supervisor watches (its predecessor was killed): live ones are adopted with their leases, ended
ones are finished from their exit records, and dead ones without a record are recovered by
``validate_pids``. ``stop()`` (SIGTERM) starts nothing new, gives running agents the grace
period, then stops their process groups and puts their tasks back to ``pending``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from jotty.learning.store import LearningStore, StoreSpec
from jotty.queue.base import TaskQueue
from jotty.queue.factory import open_queue
from jotty.queue.manager import TaskQueueManager, WorkerStats
from jotty.queue.policy import HOSTNAME
from jotty.queue.task import Task
from jotty.supervise.config import SupervisorConfig, load_config, make_config
from jotty.supervise.launch import same_process
from jotty.supervise.logs import default_log_dir
from jotty.supervise.record import KEY, RunRecord, host_lock, run_record, watcher_alive
from jotty.supervise.repo import check_repository
from jotty.supervise.routing import AgentRouter, store_of
from jotty.supervise.runner import Attempts

log = logging.getLogger(__name__)

ConfigSpec = SupervisorConfig | dict[str, Any] | str | os.PathLike[str]


class Supervisor:
    """Run coding agents on the tasks of ``queue`` as ``config`` says.

    ``config`` is a ``SupervisorConfig``, a dict of its fields, or a YAML file path. ``queue`` is a
    ``TaskQueue`` or a store (SQLite path or URL; None: the default store). ``learning`` is the
    router's store (default: the queue's store when it is a path or URL). ``log_dir`` overrides
    the config's ``logs``.
    """

    def __init__(
        self,
        config: ConfigSpec,
        queue: TaskQueue | str | os.PathLike[str] | None = None,
        *,
        learning: StoreSpec = None,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(config, str | os.PathLike):
            config = load_config(config)
        self.config = make_config(config)
        store = None if isinstance(queue, TaskQueue) else (None if queue is None else os.fspath(queue))
        self._owns_queue = not isinstance(queue, TaskQueue)
        self.queue = (
            queue
            if isinstance(queue, TaskQueue)
            else open_queue(store, lease_seconds=self.config.lease_seconds, retry_backoff=self.config.retry_backoff)
        )
        chosen = log_dir or self.config.logs
        if chosen is None and store is None and isinstance(getattr(self.queue, "db_path", None), Path):
            chosen = Path(self.queue.db_path).parent / "logs"  # type: ignore[attr-defined]
        self.log_dir = Path(chosen).resolve() if chosen is not None else default_log_dir(store)
        self._learning = learning
        self.router: AgentRouter | None = None
        self.attempts: Attempts | None = None
        self.manager = _Manager(self)
        self._adopted: dict[str, RunRecord] = {}
        self._own_learning = False

    @property
    def worker_id(self) -> str:
        """This supervisor's name in claims, history and run records (``host:pid``)."""
        return self.queue.worker_id

    async def run(self, *, burst: bool = False, max_tasks: int | None = None) -> WorkerStats:
        """Supervise until ``stop()`` (or, with ``burst``, until nothing is runnable or running)."""
        top = await check_repository(self.config.repo)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.attempts = Attempts(self.config, self.queue, top, self.log_dir, self.worker_id)
        if self.config.routing and self.router is None:
            learning = self._learning if self._learning is not None else store_of(self.queue)
            self.router = AgentRouter(list(self.config.agents), learning, self.config.auto_agent_type)
            self._own_learning = self._learning is None and isinstance(learning, LearningStore)
        return await self.manager.run(max_tasks, burst=burst)

    async def stop(self) -> None:
        """Start nothing new; running agents get ``grace_period``, then are stopped and released."""
        await self.manager.stop()

    async def close(self) -> None:
        """Close the router and (if opened here) the queue."""
        if self.router is not None:
            self.router.close()
            if self._own_learning:
                self.router.router.store.close()
        if self._owns_queue:
            await self.queue.close()

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ one attempt

    async def handle(self, task: Task) -> Any:
        """Run (or, when adopted, watch) the task's agent; the result dict on success."""
        assert self.attempts is not None
        record = self._adopted.pop(task.task_id, None)
        if record is None:
            record = await self.attempts.start(task)
        started = record.started
        try:
            result = await self.attempts.finish(task, record)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._learn(task, record.agent_type, False, time.time() - started)
            raise
        await self._learn(task, record.agent_type, True, time.time() - started)
        return result

    async def _learn(self, task: Task, agent_type: str, success: bool, seconds: float) -> None:
        if self.router is None:
            return
        try:
            await self.router.learn(task, agent_type, success=success, seconds=seconds)
        except Exception:  # learning must never lose a task's result
            log.exception("learning from task %s failed", task.task_id)

    # ------------------------------------------------------------------ after a crash

    async def adopt_orphans(self) -> int:
        """Take over this host's agents that no live supervisor watches; recover dead ones.

        Agents still alive, and agents that ended leaving an exit record, are adopted (their
        leases kept). ``validate_pids`` then recovers the tasks whose agents died without one.
        Returns how many were adopted.
        """
        async with host_lock():
            orphans = [t for t in await self.queue.get_running_tasks() if self._orphaned(t)]
            ended = [t for t in orphans if not _alive(t)]
            for task in ended:  # ended with an exit record: this process now answers for the task
                if Path(_record(task).exit_file).exists():
                    await self._watch(task, pid=os.getpid())
            recovered = await self.queue.validate_pids()
            adopted = 0
            wanted = {t.task_id: t.lease_id for t in orphans}
            for task in await self.queue.get_running_tasks():
                if wanted.get(task.task_id) != task.lease_id or task.task_id in self.manager.running_ids:
                    continue
                record = _record(task)
                if record.watcher != self.worker_id:
                    await self._watch(task)
                if not await self.queue.heartbeat(task.task_id, task.lease_id):  # renew a lease that ran out
                    continue
                self._adopted[task.task_id] = record
                self.manager.adopt(task)
                adopted += 1
                log.info("adopted task %s (%s, pid %d)", task.task_id, record.agent_type, record.pid)
        if recovered:
            log.info("recovered %d task(s) whose agents died (validate_pids)", recovered)
        return adopted

    def _orphaned(self, task: Task) -> bool:
        """An in-progress task of this host whose agent a dead supervisor started or watched."""
        record = run_record(task)
        if record is None or task.task_id in self.manager.running_ids or not task.lease_id:
            return False
        if record.host != HOSTNAME or task.host not in (None, HOSTNAME) or record.watcher == self.worker_id:
            return False
        if watcher_alive(record.watcher) or record.agent_type not in self.config.agents:
            return False
        return task.pid in (record.pid, _pid_of(record.watcher))

    async def _watch(self, task: Task, pid: int | None = None) -> None:
        record = {**_record(task).to_dict(), "watcher": self.worker_id}
        if pid is None:
            await self.queue.update_task_metadata(task.task_id, metadata={KEY: record})
        else:
            await self.queue.update_task_metadata(task.task_id, metadata={KEY: record}, pid=pid)

    async def route(self, limit: int) -> None:
        """Give pending ``auto`` tasks an agent type (called before each claim)."""
        if self.router is not None and limit > 0:
            await self.router.route_pending(self.queue, limit, dict(self.config.filters))


def _record(task: Task) -> RunRecord:
    record = run_record(task)
    assert record is not None
    return record


def _alive(task: Task) -> bool:
    record = _record(task)
    return same_process(record.pid, record.start)


def _pid_of(worker: str) -> int | None:
    pid = worker.rpartition(":")[2]
    return int(pid) if pid.isdigit() else None


class _Manager(TaskQueueManager):
    """The queue manager with the supervisor's routing before claims and adoption of orphans."""

    def __init__(self, supervisor: Supervisor) -> None:
        limits = {name: agent.concurrency for name, agent in supervisor.config.agents.items()}
        super().__init__(
            supervisor.handle,
            supervisor.queue,
            max_concurrent=sum(limits.values()),
            filters=supervisor.config.filters,
            agent_limits=limits,
            lease_seconds=supervisor.config.lease_seconds,
            grace_period=supervisor.config.grace_period,
        )
        self.supervisor = supervisor

    @property
    def running_ids(self) -> set[str]:
        return set(self._running)

    def adopt(self, task: Task) -> None:
        """Watch an already running task as if this manager had claimed it."""
        self._start(task)

    async def run(self, max_tasks: int | None = None, *, burst: bool = False) -> WorkerStats:
        await self.supervisor.adopt_orphans()
        scanner = asyncio.create_task(self._scan_orphans())
        try:
            return await super().run(max_tasks, burst=burst)
        finally:
            scanner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scanner

    async def _scan_orphans(self) -> None:
        interval = self.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if await self.supervisor.adopt_orphans():
                    self._slot_freed.set()
            except Exception:  # the scan must outlive a passing store error
                log.exception("looking for orphaned agents failed; will retry")

    async def _claim(self, limit: int) -> list[Task]:
        await self.supervisor.route(limit)
        return await super()._claim(limit)
