"""Grouping related episodes for consolidation: by meaning (vectors or shared words), by entities
(shared names) and by time (a window around the group's latest episode).

Greedy and bounded: episodes are taken in time order; each joins the most similar open group
among those sharing one of its names (or, without names, among the most recent groups), if it is
similar enough, else starts a group. Cost is linear in the episodes times ``CANDIDATES``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jotty.memory.store import iso
from jotty.memory.text import entities, overlap, term_set

CANDIDATES = 40
"""How many groups one episode is compared with, at most."""
WINDOW = 45 * 86_400.0
"""An episode joins a group only within this many seconds of the group's latest episode."""
MAX_SIZE = 12


@dataclass
class Episode:
    """What clustering needs of one episode."""

    seq: int
    id: str
    text: str
    created_at: float
    salience: float
    metadata: dict[str, Any]
    sources: list[dict[str, Any]]
    vector: Any = None
    names: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()
    rev: int = 0
    """The row's revision when it was read (a group is written only if no member changed since)."""

    def __post_init__(self) -> None:
        self.names = entities(self.text)
        self.terms = term_set(self.text)


@dataclass
class Group:
    """Related episodes, in time order."""

    members: list[Episode] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)
    total: Any = None
    latest: float = 0.0

    def add(self, episode: Episode) -> None:
        """Take ``episode`` in."""
        self.members.append(episode)
        self.names |= episode.names
        self.terms |= episode.terms
        self.latest = max(self.latest, episode.created_at)
        if episode.vector is not None:
            self.total = episode.vector.copy() if self.total is None else self.total + episode.vector

    def similarity(self, episode: Episode) -> float:
        """Cosine to the group's centroid (or word overlap without vectors)."""
        if episode.vector is not None and self.total is not None:
            norm = float(np.linalg.norm(self.total))
            return float(self.total @ episode.vector) / norm if norm else 0.0
        return overlap(frozenset(self.terms), episode.terms)


def group(episodes: list[Episode], with_names: float = 0.45, without_names: float = 0.75) -> list[Group]:
    """Groups of related episodes (singletons included). An episode joins a group that shares a name
    with it at similarity ``with_names``, any recent group at ``without_names`` (word overlap
    thresholds are halved)."""
    groups: list[Group] = []
    by_name: dict[str, list[int]] = defaultdict(list)
    for episode in sorted(episodes, key=lambda e: (e.created_at, e.seq)):
        scale = 1.0 if episode.vector is not None else 0.5
        named = {i for name in episode.names for i in by_name[name][-CANDIDATES:]}
        recent = range(max(0, len(groups) - CANDIDATES), len(groups))
        best, best_score = None, 0.0
        for index in named | set(recent):
            candidate = groups[index]
            if len(candidate.members) >= MAX_SIZE or episode.created_at - candidate.latest > WINDOW:
                continue
            needed = (with_names if index in named else without_names) * scale
            score = candidate.similarity(episode)
            if score >= needed and score - needed >= best_score:
                best, best_score = index, score - needed
        if best is None:
            best = len(groups)
            groups.append(Group())
        groups[best].add(episode)
        for name in episode.names:
            if not by_name[name] or by_name[name][-1] != best:
                by_name[name].append(best)
    return groups


def group_metadata(ordered: list[Episode], how: str) -> dict[str, Any]:
    """A consolidated memory's metadata for its members (in time order), summarised ``how``."""
    names = sorted({n for m in ordered for n in m.names})
    return {
        "kind": "consolidated",
        "summary": how,
        "episodes": [m.id for m in ordered],
        "entities": names[:20],
        "span": [iso(ordered[0].created_at), iso(ordered[-1].created_at)],
    }


def extractive_summary(members: list[Episode], limit: int = 2_000) -> str:
    """The members' texts in time order, dated, without repeats, within ``limit`` characters."""
    from datetime import UTC, datetime

    names = sorted({n for m in members for n in m.names}, key=lambda n: -sum(n in m.names for m in members))
    head = f"About {', '.join(n.title() for n in names[:3])}: " if names else ""
    parts, seen = [], set()
    for member in sorted(members, key=lambda m: m.created_at):
        text = " ".join(member.text.split())
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        day = datetime.fromtimestamp(member.created_at, UTC).date().isoformat()
        parts.append(f"[{day}] {text[:400]}")
    summary = head + " | ".join(parts)
    return summary if len(summary) <= limit else summary[: limit - 3] + "..."
