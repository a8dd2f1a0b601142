"""``ConductedRun``: one Conductor run as a flow, so it gets the patterns' step records, events,
token windows and nesting for free.

Each step runs one actor at path ``<run>/<n>-<actor>`` (``n`` counts from 1), then its validator.
A failure is not handled by a pattern strategy (retry, fallback): the Conductor decides, by the
static order (stop) or the router (pick again). Like a Team's ``accept``, a rejected output
turns the step ``failed`` with a ``step_failed`` event marked ``rejected``.
Every step's outcome is recorded with the router as it happens, and checkpointed (accepted or
not: see ``jotty.orchestration.recording``); the run ends with the router's TD(lambda) update.
The router's calls are short synchronous transactions (about a millisecond, on SQLite or
PostgreSQL); they run in a worker thread (``asyncio.to_thread``) so that a store busy with
another process's write never stalls the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from jotty.agents.base import AgentResult
from jotty.events import EventType
from jotty.learning import ActorsExhaustedError, LearningSummary, Router, Trajectory
from jotty.orchestration.actors import AgentConfig, judge
from jotty.orchestration.plan import Plan
from jotty.orchestration.recording import Replayed, attempt_extra, checkpoint_attempt, replay_into, replayed_attempts
from jotty.orchestration.result import StopReason, explain, learning_report
from jotty.patterns import Flow, Scope, Step
from jotty.patterns.step import attempt as call_once
from jotty.runs import StepStatus


@dataclass
class _Attempt:
    accepted: bool
    output: Any
    error: str | None
    path: str
    actor: str


class ConductedRun(Flow):
    """One run of a Conductor's ``plan`` on a goal; read ``stop_reason``, ``actor``, ``final_step``
    and ``learning`` when it has finished. Made fresh for every run (it holds the run's state)."""

    kind = "conductor"

    def __init__(
        self,
        plan: Plan,
        router: Router,
        trajectory: Trajectory,
        context: dict[str, Any],
        max_iterations: int,
        *,
        retry: bool = False,
    ) -> None:
        super().__init__("conductor")
        self.plan = plan
        self.router = router
        self.trajectory = trajectory
        self.context = context
        self.max_iterations = max_iterations
        self.stop_reason = StopReason.FAILED
        self.actor: str | None = None
        self.final_step: str | None = None
        self.learning: dict[str, Any] = {}
        self.retry = retry
        self.executed = False
        """False when the run had completed before and the store returned its result."""
        """This session retries a run that ended failed: keep its accepted attempts, run the rest again."""
        self._replayed: dict[int, Replayed] = {}

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "mode": self.plan.mode, "actors": list(self.plan.order)}

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        static = self.plan.mode == "static"
        self.executed = True
        self._replayed = replayed_attempts(scope.ex, scope.path)
        if not self.retry:
            replay_into(self.trajectory, self._replayed)
        result = await (self._static(input, scope) if static else self._dynamic(input, scope))
        summary: LearningSummary = await asyncio.to_thread(self.router.finish, self.trajectory)
        if static:
            why = "static order: " + " -> ".join(self.plan.order)
        else:
            why = explain(summary.decisions, summary.abandoned, self.actor)
        self.learning = learning_report(summary, self.plan.mode, self.actor, why)
        return result

    async def _static(self, value: Any, scope: Scope) -> AgentResult:
        for number, name in enumerate(self.plan.order, 1):
            attempt = await self._replay(number, scope) or await self._attempt(
                self.plan.actors[name], value, scope, number, self.context
            )
            if not attempt.accepted:
                return AgentResult.failure(
                    f"the static order stopped at {attempt.path!r}: {attempt.error}", output=value
                )
            value = attempt.output
            self.actor, self.final_step = attempt.actor, attempt.path
        self.stop_reason = StopReason.ACCEPTED
        return AgentResult(output=value)

    async def _dynamic(self, goal: Any, scope: Scope) -> AgentResult:
        earlier: list[dict[str, Any]] = []
        first = self._first_attempt()
        for number in range(first, first + self.max_iterations):
            attempt = await self._replay(number, scope)
            if attempt is None:
                try:
                    decision = await asyncio.to_thread(self.router.choose, self.trajectory, self.plan.order)
                except ActorsExhaustedError as exc:
                    self.stop_reason = StopReason.ACTORS_EXHAUSTED
                    return AgentResult.failure(str(exc))
                path = f"{scope.path}/{number}-{decision.actor}"
                chosen = decision.to_dict()
                await scope.ex.emit(EventType.ROUTE_CHOSEN, path, {"iteration": number, **chosen})
                data = {**self.context, "attempts": list(earlier)} if earlier else self.context
                attempt = await self._attempt(self.plan.actors[decision.actor], goal, scope, number, data, chosen)
            if attempt.accepted:
                self.stop_reason = StopReason.ACCEPTED
                self.actor, self.final_step = attempt.actor, attempt.path
                return AgentResult(output=attempt.output)
            earlier.append({"actor": attempt.actor, "error": attempt.error})
        self.stop_reason = StopReason.MAX_ITERATIONS
        last = earlier[-1]["error"] if earlier else "none"
        return AgentResult.failure(
            f"no output was accepted within max_iterations={self.max_iterations} (last error: {last}); "
            "raise max_iterations, fix the failing actors, or loosen their validators"
        )

    def _first_attempt(self) -> int:
        """Where the dynamic loop starts: at 1, replaying what finished; a retry goes on after the
        last attempt (or returns an accepted one, from a session that ended before recording it)."""
        if not self.retry:
            return 1
        accepted = [n for n, a in self._replayed.items() if a.accepted]
        return min(accepted) if accepted else max(self._replayed, default=0) + 1

    async def _replay(self, number: int, scope: Scope) -> _Attempt | None:
        """Attempt ``number`` as checkpointed by an earlier session, or None when it must run
        (it never finished, or this session retries the failure)."""
        done = self._replayed.get(number)
        if done is None or (self.retry and not done.accepted):
            return None
        status = scope.ex.records[done.path].status
        scope.partial = scope.partial or status is StepStatus.PARTIAL
        await scope.ex.emit(EventType.STEP_RESTORED, done.path, {"status": str(status)})
        return _Attempt(done.accepted, done.output, done.error, done.path, done.actor)

    async def _attempt(
        self,
        actor: AgentConfig,
        value: Any,
        scope: Scope,
        number: int,
        data: dict[str, Any],
        decision: dict[str, Any] | None = None,
    ) -> _Attempt:
        """Run ``actor`` once as step ``number``, judge its output, record the outcome with the
        router and checkpoint it (accepted or not: a resumed run does not run it again)."""
        path = f"{scope.path}/{number}-{actor.name}"
        step = Step(actor.agent, name=actor.name)
        record = scope.ex.begin(path, actor.name, step.kind)
        result = await call_once(step, value, scope, record, path=path, window=path, role="step", data=dict(data))
        scope.add_tokens(result.tokens)
        failed = not result.ok
        validated: bool | None = None
        if not failed and actor.validator is not None:
            verdict = await judge(actor.validator, result.output, actor.name)
            validated = verdict.accepted
            if not verdict.accepted:
                because = f": {verdict.reason}" if verdict.reason else ""
                record.status = StepStatus.FAILED
                record.error = f"{actor.name}'s validator rejected the output{because}"
                await scope.ex.emit(
                    EventType.STEP_FAILED, path, {"attempt": record.attempts, "error": record.error, "rejected": True}
                )
        accepted = not failed and validated is not False
        learned = await asyncio.to_thread(
            self.router.record,
            self.trajectory,
            actor.name,
            success=accepted,
            validated=validated,
            failed=failed,
            tokens=record.prompt_tokens + record.completion_tokens,
            seconds=record.duration,
        )
        if accepted:
            scope.partial = scope.partial or record.status is StepStatus.PARTIAL
        extra = attempt_extra(learned, accepted, decision)
        await checkpoint_attempt(scope.ex, record, result.output if accepted else None, extra)
        return _Attempt(accepted, result.output, record.error, path, actor.name)
