"""``Parallel``: branches run at once on the same input; partial success is reported, not hidden."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.errors import ValidationError
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_count, check_timeout
from jotty.patterns.step import Step, named_steps, run_step
from jotty.runs import StepRecord, StepStatus

_SUCCESS = (StepStatus.COMPLETED, StepStatus.PARTIAL)


def _branch_name(index: int, _step: Step) -> str:
    return f"branch-{index}"


class Parallel(Flow):
    """Run every branch on the input at once; the output is the list of branch outputs in branch
    order (``None`` for a failed branch).

    ``max_concurrency`` caps how many branches run at a time; ``timeout`` bounds each branch call
    (seconds, unless its Step sets its own); ``min_success`` branches must succeed (default: all).
    With fewer, the Parallel fails, and it stops the branches still running as soon as that is
    certain. Failed branches are named in the error and in ``result.steps``; a run whose Parallel
    tolerated failures ends ``partial``.
    """

    kind = "parallel"

    def __init__(
        self,
        branches: Sequence[Step | Agent],
        *,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        min_success: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        where = f"Parallel {self.name!r}"
        steps = named_steps(branches, where, _branch_name)
        self.timeout = check_timeout(timeout, where)
        if self.timeout is not None:
            steps = [s if s.timeout is not None else replace(s, timeout=self.timeout) for s in steps]
        self.branches = steps
        self.max_concurrency = (
            None if max_concurrency is None else check_count(max_concurrency, f"{where}: max_concurrency")
        )
        count = len(steps)
        if min_success is None:
            min_success = count
        check_count(min_success, f"{where}: min_success", minimum=0)
        if min_success > count:
            raise ValidationError(
                f"{where}: min_success={min_success} but it has only {count} branches; give at most {count}"
            )
        self.min_success = min_success

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "branches": [b.describe() for b in self.branches]}

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        branches = self.branches
        limit = self.max_concurrency
        gate = asyncio.Semaphore(limit) if limit is not None and limit < len(branches) else None
        tolerated = len(branches) - self.min_success
        lost = 0
        tasks: list[asyncio.Task[tuple[StepRecord, Any]]] = []

        def on_loss(_record: StepRecord) -> None:
            nonlocal lost
            lost += 1
            if lost > tolerated:  # min_success is out of reach: stop the branches still running
                current = asyncio.current_task()
                for task in tasks:
                    if task is not current:  # cancelling itself would turn its own outcome into a cancel
                        task.cancel()

        branch_scope = Scope(scope.ex, scope.path, scope.data, scope.level)
        branch_scope.on_loss = on_loss
        loop = asyncio.get_running_loop()
        for step in branches:
            if gate is None:
                tasks.append(loop.create_task(run_step(step, input, branch_scope, role="branch")))
            else:
                tasks.append(loop.create_task(_gated(gate, step, input, branch_scope)))
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        scope.add_tokens(branch_scope.tokens)
        scope.partial = scope.partial or branch_scope.partial
        return self._merge(scope, outcomes)

    def _merge(self, scope: Scope, outcomes: list[tuple[StepRecord, Any] | BaseException]) -> AgentResult:
        outputs: list[Any] = []
        lost: list[str] = []
        for step, outcome in zip(self.branches, outcomes, strict=True):
            if isinstance(outcome, tuple):
                record, output = outcome
                outputs.append(output if record.status is not StepStatus.FAILED else None)
                if record.status in _SUCCESS:
                    continue
            elif isinstance(outcome, asyncio.CancelledError):  # stopped: min_success was out of reach
                record = scope.ex.begin(f"{scope.path}/{step.name}", step.name or "", step.kind)
                record.status = StepStatus.CANCELLED
                record.error = "cancelled: the Parallel could no longer reach min_success"
                outputs.append(None)
            else:
                raise outcome
            lost.append(f"{record.path} ({record.status}: {record.error})")
        succeeded = len(self.branches) - len(lost)
        if succeeded < self.min_success:
            return AgentResult.failure(
                f"parallel {self.name!r}: {succeeded} of {len(self.branches)} branches succeeded, "
                f"{self.min_success} needed; lost: {'; '.join(lost)}",
                output=outputs,
            )
        if lost:
            scope.partial = True
        return AgentResult(output=outputs)


async def _gated(gate: asyncio.Semaphore, step: Step, input: Any, scope: Scope) -> tuple[StepRecord, Any]:
    async with gate:
        return await run_step(step, input, scope, role="branch")
