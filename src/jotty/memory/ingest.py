"""Remembering a batch: skip what has no salience, reinforce near-duplicates, store the rest, all in
one transaction.

A near-duplicate is a memory of the same level (an archived episode counts for an episode, and is
revived) with the same signature (the same words in any case, order and punctuation) or, with
vectors, a cosine of at least ``NEAR`` and content words overlapping by at least ``OVERLAP``.
"""

from __future__ import annotations

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
DEDUP_LEVELS = {"working": ("working",), "episodic": ("episodic", "archive"), "semantic": ("semantic",)}


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
    row: store.Row
    sources: list[dict[str, Any]] = field(default_factory=list)
    times: int = 0
    salience: float = 0.0
    seen_at: float = 0.0


@dataclass(frozen=True)
class Embedding:
    """The embedder's identity and the items' vectors (rows in item order), or none."""

    name: str | None = None
    dimension: int | None = None
    vectors: Any = None


def ingest(
    database: Database,
    scope: str,
    items: Sequence[Item],
    embedding: Embedding,
    min_salience: float,
    dedupe: bool = True,
) -> list[RememberOutcome]:
    """Remember ``items`` in one transaction; one outcome per item, in order. ``dedupe=False``
    stores every item as its own memory (no near-duplicate reinforcement)."""
    outcomes: list[RememberOutcome | None] = [None] * len(items)
    kept = []
    for index, item in enumerate(items):
        if item.salience < min_salience:
            reason = f"salience {item.salience:.2f} below {min_salience:.2f} ({item.reason})"
            outcomes[index] = RememberOutcome(None, "skipped", reason, item.salience, 1.0, item.level)
        else:
            kept.append(index)
    similar: dict[int, list[tuple[int, float]]] = {}
    if dedupe and kept and embedding.vectors is not None and embedding.name and embedding.dimension:
        with fresh_cache(database, scope, embedding.name, embedding.dimension) as cache:
            for level in {items[i].level for i in kept}:
                mine = [i for i in kept if items[i].level == level]
                found = cache.similar(embedding.vectors[mine], NEAR, DEDUP_LEVELS[level])
                similar.update(zip(mine, found, strict=True))
    if not kept:
        return [o for o in outcomes if o is not None]

    def work(cur: Cursor) -> None:
        now = time.time()
        rev = store.begin_write(
            cur, scope, embedding.name if embedding.vectors is not None else None, embedding.dimension, now
        )
        existing: dict[str, store.Row] = {}
        for level in {items[i].level for i in kept} if dedupe else ():
            signatures = [items[i].signature for i in kept if items[i].level == level]
            existing.update(store.by_signature(cur, scope, signatures, DEDUP_LEVELS[level]))
        neighbours = store.fetch(cur, {seq for hits in similar.values() for seq, _ in hits})
        known_terms: dict[int, frozenset[str]] = {}
        fresh: dict[str, _New] = {}
        bumps: dict[int, _Bump] = {}
        for index in kept:
            item = items[index]
            hits = similar.get(index, [])
            novelty = round(1.0 - max((cos for _, cos in hits), default=0.0), 4)
            holder = existing.get(item.signature)
            why = "the same words as"
            if holder is None:
                for seq, cos in hits:
                    row = neighbours.get(seq)
                    if row is None:
                        continue
                    if seq not in known_terms:
                        known_terms[seq] = term_set(row.text)
                    if overlap(known_terms[seq], item.terms) >= OVERLAP:
                        holder, why = row, f"a near-duplicate (cosine {cos:.2f}) of"
                        break
            if holder is not None:
                bump = bumps.setdefault(holder.seq, _Bump(holder))
                entry = store.source(holder.id, item.at, item.text, item.metadata)
                bump.sources.append(entry)
                bump.times += 1
                bump.salience = max(bump.salience, item.salience)
                bump.seen_at = max(bump.seen_at, item.at)
                outcomes[index] = RememberOutcome(
                    holder.id,
                    "reinforced",
                    f"{why} {holder.id} (seen {holder.seen + bump.times} times)",
                    item.salience,
                    novelty,
                    holder.level,
                )
                continue
            twin = fresh.get(item.signature) if dedupe else None
            if twin is not None:
                twin.sources = store.merge_sources(
                    twin.sources, [store.source(twin.id, item.at, item.text, item.metadata)]
                )
                twin.seen += 1
                twin.salience = max(twin.salience, item.salience)
                twin.last_seen = max(twin.last_seen, item.at)
                outcomes[index] = RememberOutcome(
                    twin.id,
                    "reinforced",
                    f"the same words as {twin.id}, stored in this batch",
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
            store.reinforce(cur, bump.row, bump.sources, bump.times, bump.salience, bump.seen_at, rev)

    database.write(work)
    return [o for o in outcomes if o is not None]
