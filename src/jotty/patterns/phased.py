"""``Phased``: phases of steps run in order, managed by an orchestrator (pattern 4).

The orchestrator carries a summary from phase to phase (every phase's steps see it in
``ctx.data["summary"]``) and, when a phase fails, decides: ``retry`` the phase (up to its
``max_attempts``; finished steps are kept, the failed ones run again), ``skip`` it, or ``abort``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.context import truncate
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.chain import Chain
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_count, check_name, check_unique
from jotty.patterns.step import Step, call_in_window, run_step
from jotty.runs import StepRecord, StepStatus

DECISIONS = ("retry", "skip", "abort")
SUMMARY_TOKENS = 200
"""Without an orchestrator agent, the summary keeps each phase's output cut to this many tokens."""


@dataclass
class Phase:
    """A named phase: its steps run as a Chain (each with its own error strategy)."""

    name: str
    steps: Sequence[Step | Agent]
    max_attempts: int = 1
    chain: Chain = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name, "Phase")
        check_count(self.max_attempts, f"Phase {self.name!r}: max_attempts")
        self.chain = Chain(self.steps, name=self.name)


class Phased(Flow):
    """Run ``phases`` in order; each gets the previous phase's output as input.

    ``orchestrator`` (optional) is an agent with its own persistent window at ``<name>/orchestrator``.
    After a phase it gets ``{"event": "phase_completed", "phase", "output", "summary"}`` and returns
    the new summary (checkpointed at ``<name>/orchestrator/<phase>``). When a phase fails it gets
    ``{"event": "phase_failed", "phase", "attempt", "max_attempts", "error", "summary"}`` and returns
    ``"retry"``, ``"skip"`` or ``"abort"``. Without one, the summary maps each phase to its
    (truncated) output, and a failed phase is retried while it has attempts left, then aborted.
    """

    kind = "phased"

    def __init__(self, phases: Sequence[Phase], *, orchestrator: Agent | None = None, name: str | None = None):
        super().__init__(name)
        where = f"Phased {self.name!r}"
        if isinstance(phases, str | bytes) or not isinstance(phases, Sequence) or not phases:
            raise ValidationError(f"{where}: give a non-empty list of Phase(name, steps)")
        for phase in phases:
            if not isinstance(phase, Phase):
                raise ValidationError(f"{where}: {phase!r} is not a Phase; give Phase(name, steps)")
            if phase.name == "orchestrator":
                raise ValidationError(f"{where}: the phase name 'orchestrator' is the orchestrator's path; rename it")
        check_unique((p.name for p in phases), where, "phases")
        if orchestrator is not None and not isinstance(orchestrator, Agent):
            raise ValidationError(f"{where}: orchestrator must be an Agent, got {type(orchestrator).__name__}")
        self.phases = list(phases)
        self.orchestrator = orchestrator
        self._steps = [Step(p.chain, name=p.name) for p in self.phases]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "orchestrator": self.orchestrator is not None,
            "phases": [s.describe() for s in self._steps],
        }

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        value = input
        summary: Any = {}
        for phase, step in zip(self.phases, self._steps, strict=True):
            data = {**scope.data, "phase": phase.name, "summary": summary}
            while True:
                record, output = await run_step(step, value, scope, role="phase", data=data)
                if record.status is not StepStatus.FAILED:
                    break
                decision = await self._decide(phase, record, summary, scope)
                if decision == "retry":
                    continue
                if decision == "abort":
                    return AgentResult.failure(
                        f"phased {self.name!r} stopped at phase {phase.name!r}: {record.error}", output=value
                    )
                record.status, record.strategy = StepStatus.SKIPPED, "skip"
                scope.partial = True
                await scope.ex.finish(record, value)
                break
            if record.status is not StepStatus.SKIPPED:
                value = output
            outcome = await self._summarize(phase, value, summary, scope)
            if not outcome.ok:
                return AgentResult.failure(f"the orchestrator of {scope.path!r} failed: {outcome.error}", output=value)
            summary = outcome.output
        return AgentResult(output=value)

    async def _summarize(self, phase: Phase, output: Any, summary: Any, scope: Scope) -> AgentResult:
        if self.orchestrator is None:
            return AgentResult(output={**summary, phase.name: truncate(output, SUMMARY_TOKENS)})
        window = f"{scope.path}/orchestrator"
        message = {"event": "phase_completed", "phase": phase.name, "output": output, "summary": summary}
        step = Step(self.orchestrator, name=phase.name)
        record, summary = await run_step(
            step, message, scope, role="orchestrator", data={}, path=f"{window}/{phase.name}", window=window
        )
        return AgentResult(output=summary) if record.ok else AgentResult.failure(record.error or "failed")

    async def _decide(self, phase: Phase, record: StepRecord, summary: Any, scope: Scope) -> str:
        """The orchestrator's decision on a failed phase (``retry`` only while attempts remain)."""
        can_retry = record.attempts < phase.max_attempts
        decision, reason = ("retry" if can_retry else "abort"), "default"
        if self.orchestrator is not None:
            window = f"{scope.path}/orchestrator"
            message = {
                "event": "phase_failed",
                "phase": phase.name,
                "attempt": record.attempts,
                "max_attempts": phase.max_attempts,
                "error": record.error,
                "summary": summary,
            }
            answer = await call_in_window(self.orchestrator, message, scope, window, window, "orchestrator", {})
            decision, reason = _decision(answer)
        if decision == "retry" and not can_retry:
            decision, reason = "abort", f"no attempts left ({phase.max_attempts})"
        await scope.ex.emit(
            EventType.ORCHESTRATOR_DECISION,
            record.path,
            {"decision": decision, "reason": reason, "attempt": record.attempts, "error": record.error},
        )
        return decision


def _decision(answer: AgentResult) -> tuple[str, str]:
    if not answer.ok:
        return "abort", f"the orchestrator failed: {answer.error}"
    text = answer.output.strip().lower() if isinstance(answer.output, str) else None
    if text in DECISIONS:
        return text, "orchestrator"
    return "abort", f"the orchestrator answered {answer.output!r}, not one of {', '.join(DECISIONS)}"
