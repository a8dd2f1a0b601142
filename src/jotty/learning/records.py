"""The records the learning store keeps: action values and per-feature outcome counts."""

from __future__ import annotations

from dataclasses import dataclass

Key = tuple[str, str]
"""A (state, actor) pair."""


@dataclass(frozen=True)
class QValue:
    """A learned action value and how many times its pair was taken."""

    q: float = 0.0
    visits: int = 0


@dataclass(frozen=True)
class FeatureStats:
    """Sums over the steps an actor ran on goals with one feature (``*``, a category, a keyword)."""

    attempts: int = 0
    successes: int = 0
    reward: float = 0.0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def success_rate(self) -> float | None:
        """Observed share of successes, or None before the first attempt."""
        return self.successes / self.attempts if self.attempts else None


@dataclass(frozen=True)
class Observation:
    """One step's outcome, as added to the counts of each of the goal's features."""

    actor: str
    features: tuple[str, ...]
    success: bool
    reward: float
    tokens: int
    seconds: float
