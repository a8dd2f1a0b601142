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
