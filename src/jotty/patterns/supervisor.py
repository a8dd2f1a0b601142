"""``Supervisor``: a supervisor delegates work to workers, reviews it, reassigns failed work, and
hires workers from a factory up to a limit (pattern 7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.context import truncate
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.crew import Crew, Worker, WorkItem
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_count, check_timeout
from jotty.patterns.step import Step, call_in_window, run_step
from jotty.runs import StepStatus

WorkerFactory = Callable[[int], Agent]
"""Makes worker number ``n`` (1-based)."""


class Supervisor(Flow):
    """Split the input into tasks, delegate each to a free worker, collect the outputs in task order.

    - ``plan``: an agent that turns the input into a list of task inputs (in the supervisor's
      window, checkpointed at ``<name>/plan``); default: one task per item of a list input.
    - ``review``: an agent that sees ``{"task", "input", "output", "reports"}`` (``reports``: the
      summaries of accepted work so far) and answers ``True``/``None`` to accept; anything else
      (``False``, a reason) rejects the output, and the task goes to another worker.
    - A failed or rejected task is reassigned to a worker that has not failed it (up to
      ``max_attempts`` calls); a worker that fails ``retire_after`` times in a row is retired.
    - ``worker_factory(n)`` hires worker ``n`` when a task has no free worker, up to ``max_workers``.

    Windows: ``<name>/supervisor`` and ``<name>/workers/worker-<n>``; tasks: ``<name>/tasks/task-<i>``.
    """

    kind = "supervisor"

    def __init__(
        self,
        workers: Sequence[Agent] = (),
        *,
        worker_factory: WorkerFactory | None = None,
        max_workers: int | None = None,
        plan: Agent | None = None,
        review: Agent | None = None,
        max_attempts: int = 3,
        retire_after: int = 2,
        timeout: float | None = None,
        summary_tokens: int = 200,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        where = f"Supervisor {self.name!r}"
        if isinstance(workers, Agent) or not isinstance(workers, Sequence):
            raise ValidationError(f"{where}: workers must be a list of agents")
        for worker in workers:
            if not isinstance(worker, Agent):
                raise ValidationError(f"{where}: worker {worker!r} is not an Agent")
        if worker_factory is not None and not callable(worker_factory):
            raise ValidationError(f"{where}: worker_factory must be a function n -> Agent")
        if not workers and worker_factory is None:
            raise ValidationError(f"{where} has no workers: give workers=[...] or a worker_factory")
        for label, agent in (("plan", plan), ("review", review)):
            if agent is not None and not isinstance(agent, Agent):
                raise ValidationError(f"{where}: {label} must be an Agent, got {type(agent).__name__}")
        if max_workers is None:
            max_workers = max(len(workers), 4) if worker_factory is not None else len(workers)
        self.max_workers = check_count(max_workers, f"{where}: max_workers")
        if self.max_workers < len(workers):
            raise ValidationError(f"{where}: max_workers={self.max_workers} is below the {len(workers)} workers given")
        self.workers = list(workers)
        self.worker_factory = worker_factory
        self.plan = None if plan is None else Step(plan, name="plan")
        self.review = review
        self.max_attempts = check_count(max_attempts, f"{where}: max_attempts")
        self.retire_after = check_count(retire_after, f"{where}: retire_after")
        self.timeout = check_timeout(timeout, where)
        self.summary_tokens = check_count(summary_tokens, f"{where}: summary_tokens")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "plan": self.plan is not None}

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        inputs = input if isinstance(input, list) else [input]
        if self.plan is not None:
            record, planned = await run_step(
                self.plan, input, scope, role="supervisor", data={}, window=f"{scope.path}/supervisor"
            )
            if record.status is StepStatus.FAILED:
                return AgentResult.failure(f"the plan of {scope.path!r} failed: {record.error}")
            if not isinstance(planned, list):
                return AgentResult.failure(
                    f"the plan of {scope.path!r} returned {type(planned).__name__}; it must return a list"
                )
            inputs = planned
        crew = _SupervisorCrew(self, scope)
        for index, item_input in enumerate(inputs):
            await crew.add(WorkItem(f"task-{index}", item_input))
        if not crew.workers:
            await crew.hire(None)
        await crew.run()
        outputs = [item.output for item in crew.items.values()]
        if crew.failures():
            return AgentResult.failure(crew.failure_message(f"supervisor {self.name!r}"), output=outputs)
        return AgentResult(output=outputs, artifacts={"reports": crew.reports})


class _SupervisorCrew(Crew):
    def __init__(self, flow: Supervisor, scope: Scope) -> None:
        workers = [Worker(f"worker-{n}", agent) for n, agent in enumerate(flow.workers, start=1)]
        super().__init__(scope, workers, max_attempts=flow.max_attempts, timeout=flow.timeout)
        self.flow = flow
        self.reports: list[dict[str, Any]] = []
        self.window = f"{scope.path}/supervisor"

    def _active(self) -> int:
        return sum(not w.retired for w in self.workers)

    def can_hire(self) -> bool:
        return self.flow.worker_factory is not None and self._active() < self.flow.max_workers

    async def hire(self, item: WorkItem | None) -> Worker | None:
        factory = self.flow.worker_factory
        if factory is None or not self.can_hire():
            return None
        number = len(self.workers) + 1
        agent = factory(number)
        if not isinstance(agent, Agent):
            raise ValidationError(f"worker_factory({number}) returned {type(agent).__name__}, not an Agent")
        worker = Worker(f"worker-{number}", agent)
        self.workers.append(worker)
        reason = "no workers yet" if item is None else f"no free worker for {item.id}"
        await self.ex.emit(EventType.WORKER_ADDED, self.scope.path, {"worker": worker.name, "reason": reason})
        return worker

    def context(self, item: WorkItem, worker: Worker) -> dict[str, Any]:
        return {**super().context(item, worker), "worker": worker.name}

    async def accept(self, item: WorkItem, worker: Worker, result: AgentResult) -> str | None:
        review = self.flow.review
        if review is None:
            return None
        message = {"task": item.id, "input": item.input, "output": result.output, "reports": list(self.reports)}
        verdict = await call_in_window(review, message, self.scope, self.window, self.window, "supervisor", {})
        if not verdict.ok:
            return f"the review failed: {verdict.error}"
        if verdict.output is None or verdict.output is True:
            return None
        return f"rejected by review: {verdict.output}"

    async def done(self, item: WorkItem, worker: Worker, result: AgentResult) -> None:
        summary = truncate(result.output, self.flow.summary_tokens)
        worker.history.append({"task": item.id, "output": summary})
        self.reports.append({"task": item.id, "worker": worker.name, "summary": summary})

    async def failed(self, worker: Worker) -> None:
        if worker.failures >= self.flow.retire_after and not worker.retired:
            worker.retired = True
            await self.ex.emit(
                EventType.WORKER_RETIRED, self.scope.path, {"worker": worker.name, "failures": worker.failures}
            )
