"""Plain records of runs and steps, as they are kept in memory and in the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jotty.agents.base import TokenUsage


class RunStatus(StrEnum):
    """Where a run stands. ``partial``: it finished, but tolerated losses (a skipped step, a failed branch)."""

    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"


class StepStatus(StrEnum):
    """Where a step stands; ``completed``, ``partial`` and ``skipped`` are final and checkpointed."""

    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


DONE_STATUSES = frozenset({StepStatus.COMPLETED, StepStatus.PARTIAL, StepStatus.SKIPPED})
"""Step outcomes that are checkpointed: a resumed run never runs such a step again."""


@dataclass(slots=True)
class StepRecord:
    """What happened at one step path: status, attempts, which error strategy fired, tokens, time.

    ``kind`` is ``agent`` for an agent call, else the pattern (``chain``, ``parallel``, ``phase``,
    ``task``, ...). ``agent`` names who produced the outcome (the fallback agent, the team member).
    ``restored`` marks a step whose outcome came from a checkpoint instead of running again.
    """

    path: str
    name: str
    kind: str
    status: StepStatus = StepStatus.RUNNING
    attempts: int = 0
    strategy: str | None = None
    error: str | None = None
    agent: str | None = None
    started_at: float = 0.0
    duration: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    restored: bool = False

    @property
    def ok(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def tokens(self) -> TokenUsage:
        """Tokens used by this step's calls (a nested flow's: all its steps')."""
        return TokenUsage(self.prompt_tokens, self.completion_tokens)

    def add_tokens(self, tokens: TokenUsage) -> None:
        self.prompt_tokens += tokens.prompt
        self.completion_tokens += tokens.completion

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "status": str(self.status),
            "attempts": self.attempts,
            "strategy": self.strategy,
            "error": self.error,
            "agent": self.agent,
            "started_at": self.started_at,
            "duration": self.duration,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, restored: bool = False) -> StepRecord:
        return cls(
            path=data["path"],
            name=data["name"],
            kind=data["kind"],
            status=StepStatus(data["status"]),
            attempts=data["attempts"],
            strategy=data["strategy"],
            error=data["error"],
            agent=data["agent"],
            started_at=data["started_at"],
            duration=data["duration"],
            prompt_tokens=data["prompt_tokens"],
            completion_tokens=data["completion_tokens"],
            restored=restored,
        )


@dataclass(slots=True)
class Checkpoint:
    """A finished step's outcome under its stable path; ``extra`` keeps what a pattern needs to resume."""

    path: str
    output: Any
    record: StepRecord
    extra: dict[str, Any] | None = None


@dataclass
class RunSummary:
    """One run as ``list_runs`` shows it."""

    run_id: str
    flow: str
    status: RunStatus
    error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    sessions: int
    owner: str | None
    tokens: TokenUsage


@dataclass
class RunRecord(RunSummary):
    """One run in full, as ``get_run`` shows it.

    ``shape`` is the flow's structure (JSON text) a resume must match. ``steps`` are the final
    records of a finished run, or the checkpointed ones of a run that is running or died.
    ``windows`` is the token shape (dicts of ``jotty.context.ContextWindow``). ``metadata`` is what
    the caller stored with the run when it started (say, the spec file a CLI needs to resume it).
    """

    shape: str = ""
    input: Any = None
    output: Any = None
    steps: list[StepRecord] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.COMPLETED, RunStatus.PARTIAL)
