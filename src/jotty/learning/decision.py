"""What the router decided for one step and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why an actor was chosen."""

    EXPLOIT = "exploit"
    """It has the best learned value, backed by experience in this state."""
    PREDICTOR = "predictor"
    """It has the best value, carried by the outcome predictor: few visits of this state yet."""
    EXPLORE = "explore"
    """Another actor looks better, but this one is little known: trying it may teach more."""
    STUCK = "stuck"
    """A better-looking actor keeps failing this goal and was abandoned; this is the next best."""
    ONLY = "only"
    """It was the only candidate."""


@dataclass(frozen=True)
class CandidateScore:
    """How the router scored one candidate.

    ``q`` and ``n`` are the learned value and visits of (state, actor); ``p_success`` the predictor's
    probability of success and ``evidence`` the observations behind it; ``expected`` the estimate
    used (``q`` and the predictor's value, weighted by their evidence); ``ucb_bonus`` the exploration
    bonus; ``score = expected + ucb_bonus``. ``untried``: never run on any goal; ``abandoned``:
    stuck on this goal.
    """

    actor: str
    q: float
    n: int
    p_success: float
    evidence: float
    expected: float
    ucb_bonus: float
    score: float
    untried: bool = False
    abandoned: bool = False


@dataclass(frozen=True)
class RouteDecision:
    """The chosen ``actor``, every candidate's scores, the ``reason`` and a one-line ``explanation``."""

    actor: str
    reason: Reason
    state: str
    scores: dict[str, CandidateScore]
    explanation: str
    abandoned: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "actor": self.actor,
            "reason": str(self.reason),
            "state": self.state,
            "explanation": self.explanation,
            "abandoned": list(self.abandoned),
            "scores": {name: _rounded(asdict(score)) for name, score in self.scores.items()},
        }


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}
