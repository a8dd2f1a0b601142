"""Recall: full-text and vector candidates, fused with time and strength into ranked hits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jotty.memory import store
from jotty.memory.cache import fresh_cache
from jotty.memory.database import Cursor, Database
from jotty.memory.ranking import Candidate, Weights, fuse
from jotty.memory.records import MemoryHit
from jotty.memory.text import entities, term_set, terms, words
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


def _split(text: str) -> tuple[frozenset[str], str]:
    """The query's names (lower-cased words) and the query without them (its "what")."""
    names = frozenset(w for name in entities(text) for w in words(name))
    rest = " ".join(w for w in words(text) if w not in names)
    return names, rest


def search(
    database: Database, scope: str, query: Query, vectors: Any, embedder: str | None, dimension: int | None
) -> list[MemoryHit]:
    """The ``query.k`` best memories of ``scope`` for ``query``. ``vectors``: the embeddings of the
    whole query and of its "what" (see ``what_of``), or None."""
    pool = max(4 * query.k, 40)
    names, rest = _split(query.text)
    wanted = terms(query.text) or words(query.text)
    asked = term_set(rest)

    def find(cur: Cursor) -> tuple[dict[int, float], dict[int, float]]:
        # A question that names its subject finds its candidates by the names (and by meaning);
        # other questions by all their words.
        if names:
            named = store.lexical(
                cur, database.dialect, scope, sorted(names), query.levels, query.since, query.until, 3 * pool // 2
            )
            return named, named
        found = store.lexical(cur, database.dialect, scope, wanted, query.levels, query.since, query.until, pool)
        return found, {}

    found_lexical, found_named = database.read(find)
    by_vector: dict[int, float] = {}
    by_vector_full: dict[int, float] = {}
    if vectors is not None and embedder and dimension:
        with fresh_cache(database, scope, embedder, dimension) as cache:
            near = cache.nearest(vectors[1], pool, query.levels, query.since, query.until)
            everyone = set(found_lexical) | set(found_named) | {seq for seq, _ in near}
            by_vector_full, by_vector = cache.cosines(vectors, everyone)
    seqs = set(found_lexical) | set(found_named) | set(by_vector)
    rows = database.read(lambda cur: store.briefs(cur, seqs))
    rows = {seq: row for seq, row in rows.items() if row.level in query.levels}
    candidates = {}
    named = _whole_words(names)
    for seq, row in rows.items():
        lowered = row.text.lower()
        candidates[seq] = Candidate(
            seq,
            row.created_at,
            row.salience,
            row.uses,
            names=len(set(named.findall(lowered))) / len(names) if named else 0.0,
            coverage=sum(1 for t in asked if t in lowered) / len(asked) if asked else 0.0,
            semantic=row.level == "semantic",
        )
    intent = time_intent(query.text, query.now)
    ranked = fuse(candidates, found_lexical, by_vector, by_vector_full, intent, query.weights)[: query.k]
    full = database.read(lambda cur: store.fetch(cur, [seq for seq, _, _ in ranked]))
    hits = []
    for seq, score, parts in ranked:
        stored = full[seq]
        why: dict[str, Any] = {name: round(value, 4) for name, value in parts.items()}
        why["matched"] = [w for w in terms(stored.text) if w in wanted or w in names]
        if intent.recent:
            why["asked"] = "recent"
        if intent.window:
            why["window"] = [_iso(intent.window[0]), _iso(intent.window[1])]
        hits.append(to_hit(stored, round(score, 6), why))
    return hits


def _whole_words(names: frozenset[str]) -> re.Pattern[str] | None:
    """A pattern finding ``names`` (lower-cased words) as whole words of a lower-cased text."""
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(f"(?<![^\\W_])(?:{alternatives})(?![^\\W_])")


def what_of(text: str) -> str:
    """The query without its names (the "what" it asks), or the query if nothing else is left."""
    rest = _split(text)[1]
    return rest if terms(rest) else text


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
