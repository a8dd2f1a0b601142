"""``ConductorResult``: what a Conductor run returns, and the learning report it carries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jotty.agents.base import TokenUsage
from jotty.errors import RunError
from jotty.learning import LearningSummary, RouteDecision
from jotty.runmemory.use import MemoryReport
from jotty.runs import RunStatus, StepRecord
from jotty.runs.codec import dumps_loose


class StopReason(StrEnum):
    """Why a run ended."""

    ACCEPTED = "accepted"
    """An output was accepted: the last step of the static order, or the chosen actor's (dynamic)."""
    FAILED = "failed"
    """A step of the static order (or the flow) failed or was rejected."""
    MAX_ITERATIONS = "max_iterations"
    """Dynamic mode ran ``max_iterations`` steps and none was accepted."""
    ACTORS_EXHAUSTED = "actors_exhausted"
    """Dynamic mode: every candidate is stuck on this goal (failed it again and again)."""


class ConductorRunFailed(RunError):
    """A queued goal's run failed; the queue retries the task per its rules."""


@dataclass
class ConductorResult:
    """One run: ``output``, ``status``, step records, events (dicts), and the ``learning`` report.

    ``actor`` names who produced the accepted output and ``final_step`` its step path;
    ``stop_reason`` says why the run ended (``StopReason``).
    """

    output: Any
    status: RunStatus
    steps: list[StepRecord]
    events: list[dict[str, Any]]
    learning: dict[str, Any]
    run_id: str
    stop_reason: StopReason
    error: str | None = None
    actor: str | None = None
    final_step: str | None = None
    tokens: TokenUsage = field(default_factory=TokenUsage)
    duration: float = 0.0
    memory: MemoryReport | None = None
    """What the run recalled and remembered (None with ``memory=False``)."""

    @property
    def ok(self) -> bool:
        """True when the run ended with an accepted output."""
        return self.status is not RunStatus.FAILED

    def to_dict(self, *, events: bool = False) -> dict[str, Any]:
        """A JSON-serialisable summary (what a queued task keeps as its result); ``events`` adds them.

        An output that is not JSON is kept as its ``repr``.
        """
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "status": str(self.status),
            "stop_reason": str(self.stop_reason),
            "output": json.loads(dumps_loose(self.output)),
            "error": self.error,
            "actor": self.actor,
            "steps": [
                {"path": s.path, "agent": s.agent, "status": str(s.status), "error": s.error, "duration": s.duration}
                for s in self.steps
            ],
            "tokens": {"prompt": self.tokens.prompt, "completion": self.tokens.completion},
            "duration": self.duration,
            "learning": self.learning,
        }
        if self.memory is not None:
            out["memory"] = self.memory.to_dict()
        if events:
            out["events"] = json.loads(dumps_loose(self.events))
        return out


def learning_report(summary: LearningSummary, mode: str, actor: str | None, why: str) -> dict[str, Any]:
    """``summary.to_dict()`` plus ``mode``, ``choice`` (who produced the accepted output), ``why``,
    and ``values``: each actor's learned value after this run where it last ran."""
    report = summary.to_dict()
    values: dict[str, float] = {}
    for step in summary.steps:
        for update in summary.updates:
            if (update.state, update.actor) == (step.state, step.actor):
                values[step.actor] = round(update.after, 4)
    report.update(mode=mode, choice=actor, why=why, values=values)
    return report


def explain(decisions: tuple[RouteDecision, ...], abandoned: tuple[str, ...], actor: str | None) -> str:
    """Why the dynamic run ended where it did, in one line."""
    chosen = [d for d in decisions if d.actor == actor]
    why = chosen[-1].explanation if chosen else (decisions[-1].explanation if decisions else "no actor ran")
    if abandoned and "abandoned" not in why:
        why += f"; abandoned for this goal: {', '.join(abandoned)}"
    return why
