"""Workers taking work items off a shared board, with failed work going to another worker.

``Crew`` is the engine under ``Team`` (peers with roles and mailboxes) and ``Supervisor`` (a
supervisor that hires, reviews and retires workers). Each item runs at the stable path
``<flow>/tasks/<item id>`` and is checkpointed there; each worker has one persistent window at
``<flow>/<workers>/<name>``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.execution import Scope
from jotty.patterns.step import Step, attempt
from jotty.runs import StepRecord, StepStatus


@dataclass(eq=False)
class WorkItem:
    """One piece of work on the board."""

    id: str
    input: Any
    role: str | None = None
    status: str = "open"
    assignee: str | None = None
    tried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: Any = None
    extra: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        """What a worker sees of this item on the board."""
        return {"id": self.id, "status": self.status, "role": self.role, "assignee": self.assignee}


@dataclass(eq=False)
class Worker:
    """A worker (Team member or Supervisor worker) with its persistent window's history."""

    name: str
    agent: Agent
    roles: frozenset[str] = frozenset()
    busy: bool = False
    retired: bool = False
    failures: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Crew:
    """One execution of a crew flow: a board of items, workers, and the loop that matches them."""

    role = "worker"
    """The kind of the workers' windows."""
    folder = "workers"
    """Workers' windows are at ``<path>/<folder>/<name>``."""

    def __init__(self, scope: Scope, workers: list[Worker], *, max_attempts: int, timeout: float | None) -> None:
        self.scope = scope
        self.ex = scope.ex
        self.workers = workers
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.items: dict[str, WorkItem] = {}

    # Hooks for Team and Supervisor.

    def eligible(self, item: WorkItem, worker: Worker) -> bool:
        """Whether ``worker`` may take ``item`` (idle or not)."""
        return not worker.retired and worker.name not in item.tried

    async def hire(self, item: WorkItem) -> Worker | None:
        """A new worker for ``item`` when none is free, or ``None``."""
        return None

    def can_hire(self) -> bool:
        return False

    def context(self, item: WorkItem, worker: Worker) -> dict[str, Any]:
        """The explicit context of ``worker``'s window for ``item``."""
        return {"task": item.id, "history": list(worker.history), "previous_errors": list(item.errors)}

    async def accept(self, item: WorkItem, worker: Worker, result: AgentResult) -> str | None:
        """Why a successful ``result`` is not accepted after all, or ``None``."""
        return None

    async def done(self, item: WorkItem, worker: Worker, result: AgentResult) -> None:
        """React to an accepted result (record history, post messages, add items)."""

    async def failed(self, worker: Worker) -> None:
        """React to a worker's failure (retire it)."""

    async def restored(self, item: WorkItem) -> None:
        """Replay what a checkpointed item did (its ``extra``)."""

    # The engine.

    def path(self, item: WorkItem) -> str:
        return f"{self.scope.path}/tasks/{item.id}"

    async def add(self, item: WorkItem) -> None:
        """Put ``item`` on the board; a checkpointed item is restored as done."""
        if item.id in self.items:
            raise ValidationError(
                f"{self.scope.path}: two tasks have the id {item.id!r}; task ids name their step "
                "paths, so make them unique"
            )
        self.items[item.id] = item
        checkpoint = self.ex.checkpoint(self.path(item))
        if checkpoint is None:
            return
        item.status, item.output, item.extra = "done", checkpoint.output, checkpoint.extra
        item.assignee = checkpoint.record.agent
        if self.ex.context is not None:
            self.ex.context.restored(checkpoint.path)
        await self.ex.emit(EventType.STEP_RESTORED, checkpoint.path, {"status": str(checkpoint.record.status)})
        await self.restored(item)

    def board(self) -> list[dict[str, Any]]:
        return [item.view() for item in self.items.values()]

    async def run(self) -> None:
        """Assign open items to free eligible workers until no item is open or running."""
        running: dict[asyncio.Task[AgentResult], tuple[WorkItem, Worker]] = {}
        loop = asyncio.get_running_loop()
        try:
            while True:
                for item in [i for i in self.items.values() if i.status == "open"]:
                    worker = await self._pick(item)
                    if worker is None:
                        if not self._possible(item):
                            await self._give_up(item, "no worker is left that may take it")
                        continue
                    item.status, item.assignee, worker.busy = "running", worker.name, True
                    running[loop.create_task(self._perform(item, worker))] = (item, worker)
                if not running:
                    return
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    item, worker = running.pop(task)
                    worker.busy = False
                    await self._settle(item, worker, task.result())
        finally:
            if running:  # left by an error or a cancel: stop the work still under way
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    async def _pick(self, item: WorkItem) -> Worker | None:
        for worker in self.workers:
            if not worker.busy and self.eligible(item, worker):
                return worker
        return await self.hire(item)

    def _possible(self, item: WorkItem) -> bool:
        return self.can_hire() or any(self.eligible(item, w) for w in self.workers)

    async def _perform(self, item: WorkItem, worker: Worker) -> AgentResult:
        path = self.path(item)
        record = self.ex.begin(path, item.id, "task")
        step = Step(worker.agent, name=item.id, timeout=self.timeout)
        window = f"{self.scope.path}/{self.folder}/{worker.name}"
        data = self.context(item, worker)
        result = await attempt(
            step, item.input, self.scope, record, path=path, window=window, role=self.role, data=data, who=worker.name
        )
        self.scope.add_tokens(result.tokens)
        if result.ok:
            reason = await self.accept(item, worker, result)
            if reason is not None:
                record.status, record.error = StepStatus.FAILED, reason
                await self.ex.emit(EventType.STEP_FAILED, path, {"attempt": record.attempts, "error": reason})
                return AgentResult.failure(reason, tokens=result.tokens)
        return result

    async def _settle(self, item: WorkItem, worker: Worker, result: AgentResult) -> None:
        record = self.ex.records[self.path(item)]
        if result.ok:
            worker.failures = 0
            await self.done(item, worker, result)
            item.status, item.output = "done", result.output
            await self.ex.finish(record, result.output, item.extra)
            return
        item.tried.append(worker.name)
        item.errors.append(f"{worker.name}: {record.error}")
        worker.failures += 1
        await self.failed(worker)
        if record.attempts < self.max_attempts and self._possible(item):
            item.status, item.assignee = "open", None
            record.strategy = "reassign"
            await self.ex.emit(
                EventType.WORK_REASSIGNED,
                record.path,
                {"from": worker.name, "attempt": record.attempts, "error": record.error},
            )
        else:
            await self._give_up(item, record.error or "failed")

    async def _give_up(self, item: WorkItem, reason: str) -> None:
        record = self.ex.records.get(self.path(item)) or self.ex.begin(self.path(item), item.id, "task")
        item.status = "failed"
        record.status = StepStatus.FAILED
        tried = f" (tried by {', '.join(item.tried)})" if item.tried else ""
        record.error = f"{reason}{tried}"

    def failures(self) -> list[StepRecord]:
        """Records of items that failed for good."""
        return [self.ex.records[self.path(i)] for i in self.items.values() if i.status == "failed"]

    def failure_message(self, what: str) -> str:
        lost = "; ".join(f"{r.path}: {r.error}" for r in self.failures())
        return f"{what}: {len(self.failures())} of {len(self.items)} tasks failed; {lost}"
