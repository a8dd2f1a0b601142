"""Remembering batches: skip what has no salience, reinforce near-duplicates, store the rest; the
batches of several scopes (one each) all in one transaction.

A near-duplicate is a memory of the same level (an archived episode counts for an episode, and is
revived) with the same signature (the same words in any case, order and punctuation) or, with
vectors, a cosine of at least ``NEAR`` and content words overlapping by at least ``OVERLAP``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jotty.memory import store
from jotty.memory.cache import fresh_cache
from jotty.memory.database import Cursor, Database
from jotty.memory.records import RememberOutcome
from jotty.memory.text import overlap, signature, term_set
from jotty.memory.vectors import to_blob

NEAR = 0.92
OVERLAP = 0.8
TWIN_WINDOW = 2_048
"""How many earlier items of a batch an item is compared with (repeats come close together; the
cost stays linear in the batch)."""
TWIN_BLOCK = 256
DEDUP_LEVELS = {"working": ("working",), "episodic": ("episodic", "archive"), "semantic": ("semantic",)}

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One validated item to remember."""

    text: str
    metadata: dict[str, Any]
    at: float
    level: str
    salience: float
    reason: str
    signature: str = ""

    def __post_init__(self) -> None:
        self.signature = f"{self.level}:{signature(self.text)}"

    @cached_property
    def terms(self) -> frozenset[str]:
        """The item's stemmed content words (for near-duplicate checks)."""
        return term_set(self.text)


@dataclass
class _New:
    id: str
    item: Item
    vector: bytes | None
    sources: list[dict[str, Any]]
    seen: int = 1
    salience: float = 0.0
    last_seen: float = 0.0


@dataclass
class _Bump:
    """What a batch adds to a stored memory it reinforces."""

    row: store.Row
    sources: list[dict[str, Any]] = field(default_factory=list)
    seen: int = 0
    salience: float = 0.0
    last_seen: float = 0.0


def _absorb(into: _New | _Bump, memory_id: str, item: Item) -> None:
    """Count ``item`` as one more sighting of the memory ``memory_id`` (new or stored)."""
    into.sources = store.merge_sources(into.sources, [store.source(memory_id, item.at, item.text, item.metadata)])
    into.seen += 1
    into.salience = max(into.salience, item.salience)
    into.last_seen = max(into.last_seen, item.at)


@dataclass(frozen=True)
class Embedding:
    """The embedder's identity and the items' vectors (rows in item order), or none."""

    name: str | None = None
    dimension: int | None = None
    vectors: Any = None


def _near_duplicates(
    cur: Cursor,
    scope: str,
    items: Sequence[Item],
    kept: Sequence[int],
    existing: dict[str, store.Row],
    similar: dict[int, list[tuple[int, float]]],
) -> dict[int, tuple[int, float]]:
    """For each item without a same-words twin: the closest similar memory whose content words overlap
    enough, as ``{item index: (seq, cosine)}`` (only the candidates' texts are read)."""
    texts = store.briefs(cur, scope, {seq for index in kept for seq, _ in similar.get(index, [])})
    known: dict[int, frozenset[str]] = {}
    near = {}
    for index in kept:
        if items[index].signature in existing:
            continue
        for seq, cos in similar.get(index, []):
            if seq not in texts:
                continue
            if seq not in known:
                known[seq] = term_set(texts[seq].text)
            if overlap(known[seq], items[index].terms) >= OVERLAP:
                near[index] = (seq, cos)
                break
    return near


def _batch_twins(vectors: Any, indices: Sequence[int]) -> dict[int, list[tuple[int, float]]]:
    """For each of ``indices`` (one level's items, in batch order), the earlier ones (of the
    ``TWIN_WINDOW`` before it) whose vectors are within ``NEAR`` of its own, closest first (at most
    3): the near-duplicates a batch holds among itself, which the stored memories' search cannot see."""
    import numpy as np

    found: dict[int, list[tuple[int, float]]] = {}
    if len(indices) < 2:
        return found
    matrix = np.asarray(vectors[list(indices)], dtype=np.float32)
    for start in range(1, len(indices), TWIN_BLOCK):  # the first item has no earlier one
        stop = min(start + TWIN_BLOCK, len(indices))
        first = max(0, start - TWIN_WINDOW)
        block = matrix[start:stop] @ matrix[first:stop].T
        block[np.arange(first, stop)[None, :] >= np.arange(start, stop)[:, None]] = -2.0  # only earlier items
        for row in np.flatnonzero(block.max(axis=1) >= NEAR).tolist():
            best = np.argsort(-block[row], kind="stable")[:3]
            pairs = [(indices[first + int(col)], float(block[row, col])) for col in best if block[row, col] >= NEAR]
            found[indices[start + row]] = pairs
    return found


@dataclass
class Batch:
    """Items to remember in one scope, with the scope's settings."""

    scope: str
    items: Sequence[Item]
    embedding: Embedding
    min_salience: float
    dedupe: bool = True


def ingest_batches(database: Database, batches: Sequence[Batch]) -> list[list[RememberOutcome]]:
    """Remember each batch in its scope (one scope per batch), all in ONE transaction: every batch is
    stored, or none. Each scope is deduplicated on its own. Outcomes per batch, in item order."""
    if len({batch.scope for batch in batches}) != len(batches):
        raise ValueError("ingest_batches takes one batch per scope: merge the items of a scope")
    plans = [_Plan(batch) for batch in batches]
    for plan in plans:
        plan.find_similar(database)
    writing = sorted((plan for plan in plans if plan.kept), key=lambda plan: plan.batch.scope)
    if writing:  # scopes in one order, so that concurrent writers take the scopes' row locks alike

        def work(cur: Cursor) -> None:
            now = time.time()
            for plan in writing:
                plan.write(cur, now)

        database.write(work)
        for plan in writing:
            plan.refresh_cache(database)
    return [plan.results() for plan in plans]


class _Plan:
    """One batch's way through the write: what is skipped, then (in the transaction) the rest."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.similar: dict[int, list[tuple[int, float]]] = {}
        self.twins: dict[int, list[tuple[int, float]]] = {}
        """For each kept item, the earlier items of the batch it nearly duplicates (``_batch_twins``)."""
        self.outcomes: list[RememberOutcome | None] = [None] * len(batch.items)
        self.kept: list[int] = []
        for index, item in enumerate(batch.items):
            if item.salience < batch.min_salience:
                reason = f"salience {item.salience:.2f} below {batch.min_salience:.2f} ({item.reason})"
                self.outcomes[index] = RememberOutcome(None, "skipped", reason, item.salience, 1.0, item.level)
            else:
                self.kept.append(index)

    def find_similar(self, database: Database) -> None:
        """The stored memories close to each kept item (before the write, off its lock)."""
        batch, embedding, items, kept = self.batch, self.batch.embedding, self.batch.items, self.kept
        if batch.dedupe and kept and embedding.vectors is not None and embedding.name and embedding.dimension:
            by_level: dict[str, list[int]] = {}
            for i in kept:
                by_level.setdefault(items[i].level, []).append(i)
            for mine in by_level.values():  # the batch among itself: no store, no lock
                self.twins.update(_batch_twins(embedding.vectors, mine))
            with fresh_cache(database, batch.scope, embedding.name, embedding.dimension) as cache:
                for level, mine in by_level.items():
                    found = cache.similar(embedding.vectors[mine], NEAR, DEDUP_LEVELS[level])
                    self.similar.update(zip(mine, found, strict=True))

    def refresh_cache(self, database: Database) -> None:
        """Bring this process's cache of the scope up to date with the write just committed, so that
        the next recall does not (a Conductor's writer remembers between two runs' recalls). Only a
        cache that ``find_similar`` used: a scope never searched here is not loaded for this."""
        embedding = self.batch.embedding
        if self.similar and embedding.name and embedding.dimension:
            try:
                with fresh_cache(database, self.batch.scope, embedding.name, embedding.dimension):
                    pass
            except Exception as exc:  # the items are committed: the next recall reloads instead
                log.warning("scope %s: the cache was not refreshed after a write: %s", self.batch.scope, exc)

    def results(self) -> list[RememberOutcome]:
        return [o for o in self.outcomes if o is not None]

    def _near_twin(self, index: int, made: dict[int, _New]) -> tuple[_New | None, str]:
        """The new memory of an earlier item of this batch that item ``index`` nearly duplicates
        (cosine from ``twins``, content words overlapping by ``OVERLAP``), and how to say so."""
        item = self.batch.items[index]
        for other, cos in self.twins.get(index, []):
            new = made.get(other)
            if new is not None and overlap(new.item.terms, item.terms) >= OVERLAP:
                return new, f"a near-duplicate (cosine {cos:.2f}) of"
        return None, ""

    def write(self, cur: Cursor, now: float) -> None:
        """Store or reinforce the kept items (inside the caller's transaction)."""
        scope, items, kept, similar = self.batch.scope, self.batch.items, self.kept, self.similar
        embedding, dedupe, outcomes = self.batch.embedding, self.batch.dedupe, self.outcomes
        rev = store.begin_write(
            cur, scope, embedding.name if embedding.vectors is not None else None, embedding.dimension, now
        )
        existing: dict[str, store.Row] = {}
        for level in {items[i].level for i in kept} if dedupe else ():
            signatures = [items[i].signature for i in kept if items[i].level == level]
            existing.update(store.by_signature(cur, scope, signatures, DEDUP_LEVELS[level]))
        near = _near_duplicates(cur, scope, items, kept, existing, similar)
        holders = store.fetch(cur, scope, {seq for seq, _ in near.values()})
        fresh: dict[str, _New] = {}
        made: dict[int, _New] = {}
        bumps: dict[int, _Bump] = {}
        for index in kept:
            item = items[index]
            hits = similar.get(index, [])
            novelty = round(1.0 - max((cos for _, cos in hits), default=0.0), 4)
            holder = existing.get(item.signature)
            why = "the same words as"
            if holder is None and index in near:
                seq, cos = near[index]
                holder, why = holders.get(seq), f"a near-duplicate (cosine {cos:.2f}) of"
            if holder is not None:
                bump = bumps.setdefault(holder.seq, _Bump(holder))
                _absorb(bump, holder.id, item)
                outcomes[index] = RememberOutcome(
                    holder.id,
                    "reinforced",
                    f"{why} {holder.id} (seen {holder.seen + bump.seen} times)",
                    item.salience,
                    novelty,
                    holder.level,
                )
                continue
            twin, why = (fresh.get(item.signature), "the same words as") if dedupe else (None, "")
            if twin is None and dedupe:
                twin, why = self._near_twin(index, made)
            if twin is not None:
                _absorb(twin, twin.id, item)
                outcomes[index] = RememberOutcome(
                    twin.id,
                    "reinforced",
                    f"{why} {twin.id}, stored in this batch",
                    item.salience,
                    0.0,
                    item.level,
                )
                continue
            vector = to_blob(embedding.vectors[index]) if embedding.vectors is not None else None
            new = _New(
                store.new_id(),
                item,
                vector,
                [store.source("", item.at, item.text, item.metadata)],
                salience=item.salience,
                last_seen=item.at,
            )
            new.sources[0]["id"] = new.id
            fresh[item.signature if dedupe else new.id] = new
            made[index] = new
            outcomes[index] = RememberOutcome(
                new.id,
                "stored",
                f"new (novelty {novelty:.2f}, salience {item.salience:.2f}: {item.reason})",
                item.salience,
                novelty,
                item.level,
            )
        cur.many(
            store.INSERT,
            [
                store.insert_params(
                    n.id,
                    scope,
                    n.item.level,
                    n.item.text,
                    n.item.metadata,
                    n.sources,
                    n.item.signature,
                    n.salience,
                    n.seen,
                    n.item.at,
                    n.last_seen,
                    now,
                    n.vector,
                    rev,
                )
                for n in fresh.values()
            ],
        )
        for seq in sorted(bumps):
            bump = bumps[seq]
            store.reinforce(cur, bump.row, bump.sources, bump.seen, bump.salience, bump.last_seen, rev)
