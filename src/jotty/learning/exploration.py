"""Exploration: an optimism bonus for little-tried actors, and abandoning actors that are stuck."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def ucb_bonus(evidence: float, total_evidence: float, weight: float) -> float:
    """``weight * sqrt(ln(1 + total) / (1 + evidence))``: large for actors the router knows little about.

    ``evidence`` counts the observations behind an actor's estimate (including what similar goals
    taught), so an actor well known from related goals is explored less than per-category UCB1 would.
    """
    return weight * math.sqrt(math.log1p(total_evidence) / (1.0 + evidence))


def stuck_actors(failures: Mapping[str, int], actors: Iterable[str], threshold: int) -> tuple[str, ...]:
    """The ``actors`` that failed the same goal ``threshold`` times in a row: try something else."""
    return tuple(actor for actor in actors if failures.get(actor, 0) >= threshold)


def chance_better(wins: int, losses: int, leader_wins: int, leader_losses: int) -> float:
    """The chance that an actor's success rate beats the leader's, both read as Beta posteriors
    (``Beta(1 + wins, 1 + losses)``; normal approximation of the difference)."""
    mine, theirs = _beta(wins, losses), _beta(leader_wins, leader_losses)
    spread = math.sqrt(mine[1] + theirs[1])
    return 0.5 * math.erfc((theirs[0] - mine[0]) / (spread * math.sqrt(2.0)))


def evidence_factor(chance: float) -> float:
    """How much of its exploration bonus an actor keeps: all of it while it may well be as good as
    the leader (``chance`` >= 0.5), shrinking quadratically as the evidence says it is worse.

    An actor that failed a category three times while the leader succeeded three times keeps
    about 0.01% of its bonus; one never tried on it, against a leader with three successes, 16%."""
    return min(1.0, 2.0 * chance) ** 2


def _beta(wins: int, losses: int) -> tuple[float, float]:
    a, b = 1.0 + wins, 1.0 + losses
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1.0))
