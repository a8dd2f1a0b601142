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
from dataclasses import dataclass

import numpy as np

from jotty.memory.timeq import TimeIntent


@dataclass(frozen=True)
class Weights:
    """How much each part counts (see the module doc). The defaults were chosen on
    ``bench.memory_quality`` seeds 0-1 (mean evidence recall@10, then latest first; round values,
    the fewest changes) and checked on seeds 2-3 and 4-9; ``vector_full`` and ``lexical`` are
    reported in ``why`` but weigh nothing by default (full-text search still finds candidates,
    and drives ``names`` and ``coverage``). Recency weighs little unless the question asks about
    the present: a question that names its subject finds every memory naming it, and a stronger
    pull to the newest put idle chatter about the subject ahead of older evidence (the second of
    two pets); when it asks ("now", "these days"), the newest matching statement wins. ``semantic``
    went from 0.7 to 0.8 with that (no benchmark tunes it): the recency of a consolidated memory,
    as new as its newest episode, no longer lifted it above episodes that match it less well."""

    names: float = 0.5
    vector: float = 0.6
    vector_full: float = 0.0
    coverage: float = 0.15
    lexical: float = 0.0
    recency: float = 0.05
    recency_asked: float = 0.5
    date: float = 0.3
    strength: float = 0.03
    semantic: float = 0.8
    """A consolidated memory's score is multiplied by this: it sums up episodes that are still
    searchable, so it comes after an episode that matches as well."""
    min_cosine: float = 0.3
    """A memory found only by its vector comes back only if its cosine reaches this."""
    answer: float = 0.3
    """Added to the match of a memory that holds the kind of answer the question asks for (a place,
    for "where"): see ``jotty.memory.answers``."""
    recency_order: float = 0.15
    """The recency weight that orders the hits once chosen (when above the one that chose them): a
    newer statement goes ahead of an older one it may supersede, and which memories come back is
    the same."""


@dataclass(frozen=True)
class Candidates:
    """What ranking needs of the candidate memories, one array entry per memory (a recall scores
    about a hundred at once). ``lexical`` is NaN where full-text search did not find the memory;
    ``vector`` and ``vector_full`` are 0 where it has no vector."""

    seqs: np.ndarray
    created_at: np.ndarray
    salience: np.ndarray
    uses: np.ndarray
    semantic: np.ndarray
    names: np.ndarray
    coverage: np.ndarray
    lexical: np.ndarray
    vector: np.ndarray
    vector_full: np.ndarray
    embedded: bool
    """Whether the memory has vectors at all (without, the vector weights go to the words)."""
    timely: bool = False
    """The query asks only about a time, and the candidates are the memories of that time: each
    matches it fully, and they are ranked by date, recency and strength."""
    answers: np.ndarray | None = None
    """1 where the memory holds the kind of answer the question asks for, 0 where not; None when
    the question asks for no particular kind."""


def strength(salience: np.ndarray, uses: np.ndarray) -> np.ndarray:
    """Salience and use, in 0..1."""
    used = np.log1p(uses) / math.log(11)
    found: np.ndarray = np.minimum(1.0, 0.7 * salience + 0.3 * np.minimum(1.0, used))
    return found


def date_score(moments: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """1 inside ``window``, falling off with the distance outside it (in window lengths)."""
    start, end = window
    distance = np.maximum(start - moments, moments - end)
    return np.where(distance <= 0, 1.0, np.exp(-np.maximum(distance, 0.0) / max(end - start, 86_400.0)))


def fuse(
    found: Candidates, intent: TimeIntent, weights: Weights = Weights(), top: int | None = None
) -> list[tuple[int, float, dict[str, float]]]:
    """``(seq, score, parts)`` for every candidate (the best ``top`` if given), best first."""
    w = weights
    if len(found.seqs) == 0:
        return []
    lexical = np.nan_to_num(found.lexical, nan=0.0)
    top_lexical = max(float(lexical.max()), 0.0)
    share = lexical / top_lexical if top_lexical > 0 else np.zeros_like(lexical)
    cosine = np.maximum(found.vector, 0.0)
    full = np.maximum(found.vector_full, 0.0)
    answers = found.answers if w.answer else None  # weights that leave the answer type out: no part of it
    # found by neither words nor names, not close enough in meaning, and no answer of the kind
    # asked: left out (and no measure of how recent the others are)
    unfound = np.isnan(found.lexical) & (found.names == 0) & (np.maximum(cosine, full) < w.min_cosine)
    if answers is not None:
        unfound &= answers == 0
    kept = found.timely | ~unfound
    moments = found.created_at[kept] if kept.any() else found.created_at
    oldest, newest = float(moments.min()), float(moments.max())
    span = newest - oldest
    recency = np.clip((found.created_at - oldest) / span, 0.0, 1.0) if span > 0 else np.ones_like(found.created_at)
    dated = date_score(found.created_at, intent.window) if intent.window else np.zeros_like(found.created_at)
    strong = strength(found.salience, found.uses)
    match = w.names * found.names + w.vector * cosine + w.vector_full * full + w.coverage * found.coverage
    match = match + w.lexical * share
    if answers is not None:
        match = match + w.answer * answers
    if not found.embedded:  # lexical-only memory: the vector weights go to the words
        match = match + (w.vector + w.vector_full) * 0.5 * (found.coverage + share)
    if found.timely:
        match = np.ones_like(match)
    recency_weight = w.recency_asked if intent.recent else w.recency
    score = match + recency_weight * recency * match + w.date * dated + w.strength * strong
    score = np.where(found.semantic, score * w.semantic, score)
    order = np.lexsort((found.seqs, -found.created_at, -score))
    order = order[kept[order]][:top]
    if w.recency_order > recency_weight and not found.timely:  # the chosen, in the order that favours the newer
        score = score + (w.recency_order - recency_weight) * recency * match
        order = order[np.lexsort((found.seqs[order], -found.created_at[order], -score[order]))]
    ranked = [
        (
            int(found.seqs[i]),
            float(score[i]),
            {
                "names": float(found.names[i]),
                "vector": float(cosine[i]),
                "vector_full": float(full[i]),
                "coverage": float(found.coverage[i]),
                "lexical": float(share[i]),
                "recency": float(recency[i]),
                "date": float(dated[i]),
                "strength": float(strong[i]),
            },
        )
        for i in order.tolist()
    ]
    if answers is not None:  # the question asked for a kind of answer: whether each holds one
        for (_, _, parts), i in zip(ranked, order.tolist(), strict=True):
            parts["answer"] = float(answers[i])
    return ranked
