"""``Chain`` and ``Sequential``: steps one after another, each fed its predecessor's output.

A Chain gives every step its own context window and its own error strategy (seed 003, pattern 3).
A Sequential runs its steps in one shared, growing window, and a failure is the end (pattern 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.step import Step, agent_name, named_steps, run_step
from jotty.runs import StepStatus


class _Steps(Flow):
    """A flow over a named list of steps."""

    def __init__(self, steps: Sequence[Step | Agent], *, name: str | None = None) -> None:
        super().__init__(name)
        self.steps = named_steps(steps, f"{type(self).__name__} {self.name!r}", agent_name)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "steps": [s.describe() for s in self.steps]}


class Chain(_Steps):
    """Steps in order, each in its own context window, each given its predecessor's output.

    A failed step is handled by its ``on_error`` strategy (default ``Abort()``). When a step is
    aborted, the chain fails and its output is the last good output ("return what we have").
    Steps after a ``Skip`` see the skipped names in ``ctx.data["skipped"]``.
    """

    kind = "chain"

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        ex, value, count = scope.ex, input, len(self.steps)
        skipped: list[str] = []
        for index, step in enumerate(self.steps):
            path = f"{scope.path}/{step.name}"
            await ex.emit(EventType.CHAIN_STEP_STARTED, path, {"index": index, "of": count, "name": step.name})
            data = {**scope.data, "skipped": list(skipped)} if skipped else dict(scope.data)
            record, output = await run_step(step, value, scope, data=data, path=path)
            await ex.emit(
                EventType.CHAIN_STEP_COMPLETED,
                path,
                {"index": index, "status": str(record.status), "strategy": record.strategy},
            )
            if record.status is StepStatus.FAILED:
                return AgentResult.failure(
                    f"{self.kind} {self.name!r} stopped at step {path!r}: {record.error}", output=value
                )
            if record.status is StepStatus.SKIPPED:
                skipped.append(step.name or path)
            value = output
        return AgentResult(output=value)


class Sequential(_Steps):
    """Steps in order in ONE shared context window that grows: each step gets its predecessor's
    output as input and everything before it in ``ctx.data["history"]``. Fail = fail: there are no
    error strategies (use a Chain for those)."""

    kind = "sequential"

    def __init__(self, steps: Sequence[Step | Agent], *, name: str | None = None) -> None:
        super().__init__(steps, name=name)
        for step in self.steps:
            if step.on_error is not None:
                raise ValidationError(
                    f"Sequential {self.name!r}: step {step.name!r} has on_error, but in a Sequential a "
                    "failure ends the run; use a Chain for per-step error strategies"
                )

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        value = input
        history: list[dict[str, Any]] = []
        for step in self.steps:
            data = {**scope.data, "history": list(history)}
            record, output = await run_step(step, value, scope, role="main", data=data, window=scope.path)
            if record.status is StepStatus.FAILED:
                return AgentResult.failure(
                    f"sequential {self.name!r} failed at step {record.path!r}: {record.error}", output=value
                )
            value = output
            history.append({"step": step.name, "output": value})
        return AgentResult(output=value)
