"""The learning summary a run's result carries: what was chosen, why, and what was learned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jotty.learning.decision import RouteDecision
from jotty.learning.features import GoalFeatures
from jotty.learning.trajectory import Step


@dataclass(frozen=True)
class QUpdate:
    """How one (state, actor) value moved when the run finished."""

    state: str
    actor: str
    before: float
    after: float
    visits: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "state": self.state,
            "actor": self.actor,
            "before": round(self.before, 4),
            "after": round(self.after, 4),
            "visits": self.visits,
        }


@dataclass(frozen=True)
class LearningSummary:
    """The learning part of a run's result."""

    goal: GoalFeatures
    run_id: str | None
    decisions: tuple[RouteDecision, ...]
    steps: tuple[Step, ...]
    total_reward: float
    updates: tuple[QUpdate, ...]
    abandoned: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "goal": self.goal.to_dict(),
            "run_id": self.run_id,
            "decisions": [d.to_dict() for d in self.decisions],
            "steps": [s.to_dict() for s in self.steps],
            "total_reward": round(self.total_reward, 4),
            "updates": [u.to_dict() for u in self.updates],
            "abandoned": list(self.abandoned),
        }
