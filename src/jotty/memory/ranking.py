"""Fusing the signals of a recall into one score per memory, with the parts kept to say why.

A question usually names its subject ("Which instrument does Steven play?") and asks for a "what"
(instrument, play). Memories that merely mention the subject ("Wow, good for Steven!") share the
name but not the what; near-name twins (Stephen) share neither. So the parts are, each in 0..1:

- ``names``: share of the query's names (capitalised words) the memory contains, as whole words;
- ``vector``: cosine of the memory with the query with its names removed (the "what"), and
  ``vector_full`` with the whole query;
- ``coverage``: share of the query's other content words (stemmed) found in the memory;
- ``lexical``: the full-text rank (BM25 on SQLite, ts_rank on PostgreSQL) over the best one's;
- ``recency``: where the memory's time falls between the oldest and newest candidate, counted only
  in proportion to how well the memory matches (so the newest *matching* statement wins), weighted
  up when the query asks about the present ("now", "currently", "these days");
- ``date``: 1 inside the dates the query names ("in May 2023", "last week"), decaying outside;
- ``strength``: salience and how often it was recalled (not how often it was repeated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from jotty.memory.timeq import TimeIntent


@dataclass(frozen=True)
class Weights:
    """How much each part counts (see the module doc). The defaults were chosen on
    ``bench.memory_quality`` seeds 0-1 and checked on seeds 2-3; ``vector_full`` and ``lexical``
    are reported in ``why`` but weigh nothing by default (full-text search still finds candidates,
    and drives ``names`` and ``coverage``)."""

    names: float = 0.5
    vector: float = 0.6
    vector_full: float = 0.0
    coverage: float = 0.15
    lexical: float = 0.0
    recency: float = 0.25
    recency_asked: float = 0.35
    date: float = 0.3
    strength: float = 0.03
    semantic: float = 0.7
    """A consolidated memory's score is multiplied by this: it sums up episodes that are still
    searchable, so it comes after an episode that matches as well."""
    min_cosine: float = 0.3
    """A memory found only by its vector comes back only if its cosine reaches this."""


class Candidate(NamedTuple):
    """What ranking needs of one memory (a named tuple: a recall builds about a hundred)."""

    seq: int
    created_at: float
    salience: float
    uses: int
    names: float = 0.0
    coverage: float = 0.0
    semantic: bool = False


def strength(candidate: Candidate) -> float:
    """Salience and use, in 0..1."""
    used = math.log1p(candidate.uses) / math.log(11)
    return min(1.0, 0.7 * candidate.salience + 0.3 * min(1.0, used))


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
    vector_full: Mapping[int, float],
    intent: TimeIntent,
    weights: Weights = Weights(),
    top: int | None = None,
) -> list[tuple[int, float, dict[str, float]]]:
    """``(seq, score, parts)`` for every candidate (the best ``top`` if given), best first."""
    top_lexical = max(lexical.values(), default=0.0)
    times = [c.created_at for c in candidates.values()]
    oldest, newest = min(times, default=0.0), max(times, default=0.0)
    span = newest - oldest
    recency_weight = weights.recency_asked if intent.recent else weights.recency
    has_vectors = bool(vector or vector_full)
    w = weights
    window = intent.window

    def parts_of(seq: int, candidate: Candidate) -> dict[str, float]:
        return {
            "names": candidate.names,
            "vector": max(vector.get(seq, 0.0), 0.0),
            "vector_full": max(vector_full.get(seq, 0.0), 0.0),
            "coverage": candidate.coverage,
            "lexical": lexical.get(seq, 0.0) / top_lexical if top_lexical > 0 else 0.0,
            "recency": (candidate.created_at - oldest) / span if span > 0 else 1.0,
            "date": date_score(candidate.created_at, window) if window else 0.0,
            "strength": strength(candidate),
        }

    scored: list[tuple[float, float, int]] = []
    for seq, candidate in candidates.items():
        cosine = max(vector.get(seq, 0.0), 0.0)
        full = max(vector_full.get(seq, 0.0), 0.0)
        found = lexical.get(seq)
        if found is None and candidate.names == 0 and max(cosine, full) < w.min_cosine:
            continue
        share = found / top_lexical if found is not None and top_lexical > 0 else 0.0
        match = (
            w.names * candidate.names
            + w.vector * cosine
            + w.vector_full * full
            + w.coverage * candidate.coverage
            + w.lexical * share
        )
        if not has_vectors:  # lexical-only memory: the vector weights go to the words
            match += (w.vector + w.vector_full) * 0.5 * (candidate.coverage + share)
        recency = (candidate.created_at - oldest) / span if span > 0 else 1.0
        dated = w.date * date_score(candidate.created_at, window) if window else 0.0
        score = match + recency_weight * recency * match + dated + w.strength * strength(candidate)
        if candidate.semantic:
            score *= w.semantic
        scored.append((-score, -candidate.created_at, seq))
    scored.sort()
    if top is not None:
        del scored[top:]
    return [(seq, -negative, parts_of(seq, candidates[seq])) for negative, _, seq in scored]
