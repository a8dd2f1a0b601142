"""Fusing the signals of a recall into one score per memory, with the parts kept to say why.

``score = lexical_weight * lexical + vector_weight * vector + recency_weight * recency
+ date_weight * date + strength_weight * strength``, each part in 0..1:

- ``lexical``: the full-text rank (BM25 on SQLite, ts_rank on PostgreSQL) over the best one's;
- ``vector``: the cosine over the best one's;
- ``recency``: where the memory's time falls between the oldest and newest candidate (newer is
  higher), weighted up when the query asks about the present ("now", "currently", "latest");
- ``date``: 1 inside the dates the query names ("in May 2023", "last week"), decaying outside;
- ``strength``: salience, how often it was seen and how often it was recalled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from jotty.memory.timeq import TimeIntent


@dataclass(frozen=True)
class Weights:
    """How much each part counts (see the module doc)."""

    lexical: float = 0.5
    vector: float = 0.5
    recency: float = 0.05
    recency_asked: float = 0.25
    date: float = 0.3
    strength: float = 0.05
    min_cosine: float = 0.3
    """A memory found only by its vector comes back only if its cosine reaches this."""


@dataclass(frozen=True)
class Candidate:
    """What ranking needs of one memory."""

    seq: int
    created_at: float
    salience: float
    seen: int
    uses: int


def strength(candidate: Candidate) -> float:
    """Salience, reinforcement and use, in 0..1."""
    seen = math.log1p(max(0, candidate.seen - 1)) / math.log(11)
    used = math.log1p(candidate.uses) / math.log(11)
    return min(1.0, 0.5 * candidate.salience + 0.25 * min(1.0, seen) + 0.25 * min(1.0, used))


def date_score(moment: float, window: tuple[float, float]) -> float:
    """1 inside ``window``, falling off with the distance outside it (in window lengths)."""
    start, end = window
    if start <= moment <= end:
        return 1.0
    distance = start - moment if moment < start else moment - end
    return math.exp(-distance / max(end - start, 86_400.0))


def fuse(
    candidates: Mapping[int, Candidate],
    lexical: Mapping[int, float],
    vector: Mapping[int, float],
    intent: TimeIntent,
    weights: Weights = Weights(),
) -> list[tuple[int, float, dict[str, float]]]:
    """``(seq, score, parts)`` for every candidate, best first."""
    top_lexical = max(lexical.values(), default=0.0)
    top_vector = max(vector.values(), default=0.0)
    times = [c.created_at for c in candidates.values()]
    oldest, newest = min(times, default=0.0), max(times, default=0.0)
    span = newest - oldest
    recency_weight = weights.recency_asked if intent.recent else weights.recency
    # Without any vector (no embedder), lexical carries the whole match.
    lexical_weight = weights.lexical if vector else weights.lexical + weights.vector
    ranked = []
    for seq, candidate in candidates.items():
        if seq not in lexical and vector.get(seq, 0.0) < weights.min_cosine:
            continue
        parts = {
            "lexical": lexical.get(seq, 0.0) / top_lexical if top_lexical > 0 else 0.0,
            "vector": max(0.0, vector.get(seq, 0.0)) / top_vector if top_vector > 0 else 0.0,
            "recency": (candidate.created_at - oldest) / span if span > 0 else 1.0,
            "date": date_score(candidate.created_at, intent.window) if intent.window else 0.0,
            "strength": strength(candidate),
        }
        score = (
            lexical_weight * parts["lexical"]
            + weights.vector * parts["vector"]
            + recency_weight * parts["recency"]
            + weights.date * parts["date"]
            + weights.strength * parts["strength"]
        )
        ranked.append((seq, score, {name: round(value, 4) for name, value in parts.items()}))
    ranked.sort(key=lambda item: (-item[1], -candidates[item[0]].created_at, item[0]))
    return ranked
