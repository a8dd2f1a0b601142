"""Recall: full-text and vector candidates, fused with time and strength into ranked hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jotty.memory import store
from jotty.memory.cache import fresh_cache
from jotty.memory.database import Cursor, Database
from jotty.memory.ranking import Candidate, Weights, fuse
from jotty.memory.records import MemoryHit
from jotty.memory.text import terms, words
from jotty.memory.timeq import time_intent


@dataclass(frozen=True)
class Query:
    """One recall's question and bounds."""

    text: str
    k: int
    levels: tuple[str, ...]
    since: float | None
    until: float | None
    now: float
    weights: Weights


def search(
    database: Database, scope: str, query: Query, vector: Any, embedder: str | None, dimension: int | None
) -> list[MemoryHit]:
    """The ``query.k`` best memories of ``scope`` for ``query`` (``vector``: the query's embedding, or None)."""
    pool = max(4 * query.k, 40)
    found_vector: dict[int, float] = {}
    if vector is not None and embedder and dimension:
        with fresh_cache(database, scope, embedder, dimension) as cache:
            found_vector = dict(cache.nearest(vector, pool, query.levels, query.since, query.until))
    wanted = terms(query.text) or words(query.text)

    def work(cur: Cursor) -> tuple[dict[int, float], dict[int, store.Row]]:
        found = store.lexical(cur, database.dialect, scope, wanted, query.levels, query.since, query.until, pool)
        return found, store.fetch(cur, set(found) | set(found_vector))

    found_lexical, rows = database.read(work)
    rows = {seq: row for seq, row in rows.items() if row.level in query.levels}
    candidates = {seq: Candidate(seq, row.created_at, row.salience, row.seen, row.uses) for seq, row in rows.items()}
    intent = time_intent(query.text, query.now)
    ranked = fuse(candidates, found_lexical, found_vector, intent, query.weights)[: query.k]
    asked = set(wanted)
    hits = []
    for seq, score, parts in ranked:
        row = rows[seq]
        why: dict[str, Any] = dict(parts)
        why["matched"] = [w for w in terms(row.text) if w in asked]
        if intent.recent:
            why["asked"] = "recent"
        if intent.window:
            why["window"] = [_iso(intent.window[0]), _iso(intent.window[1])]
        hits.append(to_hit(row, round(score, 6), why))
    return hits


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def to_hit(row: store.Row, score: float, why: dict[str, Any]) -> MemoryHit:
    """A stored row as a hit."""
    metadata = dict(row.metadata)
    if row.absorbed_into:
        why = {**why, "absorbed_into": row.absorbed_into}
    return MemoryHit(
        id=row.id,
        text=row.text,
        score=score,
        level=row.level,
        metadata=metadata,
        sources=row.sources,
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        why=why,
        uses=row.uses,
        seen=row.seen,
        salience=row.salience,
    )


def hits_of(rows: Sequence[store.Row]) -> list[MemoryHit]:
    """Rows as hits without a score (for ``get``)."""
    return [to_hit(row, 0.0, {}) for row in rows]
