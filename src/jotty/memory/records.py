"""What the memory API returns: hits, the outcome of a remember, a consolidation report, stats."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

LEVELS = ("working", "episodic", "semantic", "procedural", "archive")
"""Every level. ``procedural`` is read from the router's learning tables, never written here."""
STORED_LEVELS = ("working", "episodic", "semantic", "archive")
WRITABLE_LEVELS = ("working", "episodic", "semantic")
"""What ``remember`` writes: archive is reached by fading."""
DEFAULT_LEVELS = ("episodic", "semantic")
"""What ``recall`` searches when no level is given."""

Action = Literal["stored", "reinforced", "skipped"]


@dataclass(frozen=True)
class MemoryHit:
    """One recalled memory, and why it came back.

    ``sources`` lists every item the memory holds (each ``{"id", "at", "text", "metadata"}``): the
    item itself for an episode, every absorbed episode for a consolidated (semantic) memory.
    ``why`` has the score's parts: ``lexical``, ``vector``, ``recency``, ``date``, ``strength``
    (each 0..1 before weighting) and ``matched`` (query terms found in the text).
    """

    id: str
    text: str
    score: float
    level: str
    metadata: dict[str, Any]
    sources: list[dict[str, Any]]
    created_at: datetime
    why: dict[str, Any] = field(default_factory=dict)
    uses: int = 0
    seen: int = 1
    salience: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``created_at`` in ISO 8601)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class RememberOutcome:
    """What ``remember`` did with one item: ``stored`` (a new memory), ``reinforced`` (a near-duplicate
    of memory ``id``, whose count, last-seen time and sources grew) or ``skipped`` (``id`` is None).

    ``reason`` says why in words; ``salience`` is 0..1; ``novelty`` is 1 minus the closeness to the
    nearest stored memory (1.0 when nothing comparable is stored).
    """

    id: str | None
    action: Action
    reason: str
    salience: float
    novelty: float
    level: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class ConsolidationReport:
    """What one consolidation pass did.

    ``clusters`` semantic memories were written (or extended) from ``absorbed`` episodes out of the
    ``replayed`` ones; ``faded`` episodes moved to the archive; ``skipped_clusters`` were taken by
    another consolidator, or rewritten by a forget, in the meantime (the next pass takes them).
    ``lease`` is False when another process held the scope's lease (nothing was done). ``more`` is
    True when the pass stopped at its bound with work left. ``embedded``: memories left without a
    vector (a forget that died before re-embedding them) that the pass embedded.
    """

    scope: str
    lease: bool = True
    replayed: int = 0
    clusters: int = 0
    absorbed: int = 0
    faded: int = 0
    skipped_clusters: int = 0
    more: bool = False
    seconds: float = 0.0
    memory_ids: list[str] = field(default_factory=list)
    embedded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class MemoryStats:
    """A scope's counts: memories per level, how many episodes were absorbed, the embedder."""

    scope: str
    levels: dict[str, int]
    total: int
    absorbed: int
    embedded: int
    embedder: str | None
    dimension: int | None
    oldest: datetime | None
    newest: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        data = asdict(self)
        data["oldest"] = self.oldest.isoformat() if self.oldest else None
        data["newest"] = self.newest.isoformat() if self.newest else None
        return data
