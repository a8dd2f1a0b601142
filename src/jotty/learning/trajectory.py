"""A run's trajectory: the goal, the steps taken so far and the router's decisions.

The router's state for the next step is ``"<category>|s<step>|<last outcome>"`` (for example
``code|s1|failed``): compact on purpose, so experience is shared by every goal of a category.
Keywords reach the router through the predictor, not the state key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jotty.learning.decision import RouteDecision
from jotty.learning.features import GoalFeatures

MAX_STEP_BUCKET = 3


class Outcome(StrEnum):
    """How a step ended."""

    OK = "ok"
    """Its output was accepted."""
    REJECTED = "rejected"
    """It produced output that was not accepted (a validator said no)."""
    FAILED = "failed"
    """It failed hard: exception, crash, timeout."""


def state_key(category: str, step: int, last: str) -> str:
    """The compact state key of a run in ``category`` at ``step`` after outcome ``last``."""
    bucket = f"s{step}" if step < MAX_STEP_BUCKET else f"s{MAX_STEP_BUCKET}+"
    return f"{category}|{bucket}|{last}"


@dataclass(frozen=True)
class Step:
    """One step: in ``state``, ``actor`` ran with this ``outcome`` and earned ``reward``."""

    state: str
    actor: str
    outcome: Outcome
    reward: float
    tokens: int = 0
    seconds: float = 0.0
    validated: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "state": self.state,
            "actor": self.actor,
            "outcome": str(self.outcome),
            "reward": round(self.reward, 4),
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "validated": self.validated,
        }


@dataclass
class Trajectory:
    """One run as the router sees it. Create it with ``Router.start``; don't share it between runs.

    ``prior_failures`` are the failure streaks of each actor on this goal in earlier runs.
    """

    features: GoalFeatures
    run_id: str | None = None
    prior_failures: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    decisions: list[RouteDecision] = field(default_factory=list)
    finished: bool = False

    @property
    def last_outcome(self) -> str:
        """The outcome of the last step, or ``start`` before the first."""
        return str(self.steps[-1].outcome) if self.steps else "start"

    @property
    def state(self) -> str:
        """The router's state for the next step."""
        return state_key(self.features.category, len(self.steps), self.last_outcome)

    def failures(self) -> dict[str, int]:
        """Each actor's failures on this goal since its last success (earlier runs included)."""
        streaks = dict(self.prior_failures)
        for step in self.steps:
            streaks[step.actor] = 0 if step.outcome is Outcome.OK else streaks.get(step.actor, 0) + 1
        return streaks

    @property
    def total_reward(self) -> float:
        """The sum of the steps' rewards."""
        return sum(step.reward for step in self.steps)
