"""Recall: full-text and vector candidates, fused with time and strength into ranked hits."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np

from jotty.memory import store
from jotty.memory.answers import asks_place, holds_place
from jotty.memory.cache import fresh_cache
from jotty.memory.database import Cursor, Database
from jotty.memory.postings import fold
from jotty.memory.ranking import Candidates, Weights, fuse
from jotty.memory.records import MemoryHit
from jotty.memory.text import STOPWORDS, entities, plain_words, term_set, terms, words
from jotty.memory.timeq import time_intent, without_time_words
from jotty.memory.vectors import LEVEL_CODE, VectorCache


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
    counted: bool = True
    """Whether the recall counts as a use of its hits (what consolidation strengthens and keeps
    from fading); a person browsing memory does not."""
    zone: tzinfo = UTC
    """The zone whose days (weeks, months, years) the question's time words name."""


_POINTING = frozenset(["which", "what", "who", "whom", "whose"])
"""Question words that only point at the answer ("Which pets...", "What does..."): not part of the
"what" a question asks (unlike "where" and "when", which say it is a place or a time)."""


@functools.lru_cache(maxsize=256)
def _split(text: str) -> tuple[frozenset[str], str]:
    """The query's names (lower-cased words) and the query without them and its pointing question
    words (its "what"); kept for the last queries, since a recall asks for them twice (``what_of``,
    then ``search``)."""
    names = frozenset(w for name in entities(text) for w in words(name))
    rest = " ".join(w for w in words(text) if w not in names and w not in _POINTING)
    return names, rest


def search(
    database: Database, scope: str, query: Query, vectors: Any, embedder: str | None, dimension: int | None
) -> list[tuple[int, MemoryHit]]:
    """The ``query.k`` best memories of ``scope`` for ``query``, each with its seq. ``vectors``: the
    embeddings of the whole query and of its "what" (see ``what_of``), or None."""
    pool = max(4 * query.k, 40)
    names, rest = _split(query.text)
    wanted = terms(query.text) or words(query.text)
    asked = without_time_words(term_set(rest))

    kept = database.term_counts
    named_pool = 3 * pool // 2

    def by_names(cur: Cursor) -> dict[int, float]:
        return store.lexical(
            cur, database.dialect, scope, sorted(names), query.levels, query.since, query.until, named_pool, kept
        )

    def find(cur: Cursor) -> dict[int, float]:
        # A question that names its subject finds its candidates by the names (and by meaning);
        # other questions by all their words.
        if names:
            return by_names(cur)
        return store.lexical(cur, database.dialect, scope, wanted, query.levels, query.since, query.until, pool, kept)

    def of_the_time(cur: Cursor) -> list[int]:
        since, until = _bounds(query, intent.window)
        return store.newest(cur, scope, query.levels, since, until, pool)

    intent = time_intent(query.text, query.now, query.zone)
    if intent.only and not (query.weights.date or query.weights.recency_asked):
        # weights that leave time out (the data registry's: its times are when a source was
        # registered, not what its data is about) answer a question of a time by its words
        intent = replace(intent, only=False)
    by_vector: dict[int, float] = {}
    by_vector_full: dict[int, float] = {}
    rows: dict[int, store.Brief] = {}
    # On SQLite a question's names may be busy: the cache's word index says so, so the cache comes
    # first (its one connection serialises reads anyway); elsewhere full-text search runs outside
    # the cache's lock, so that concurrent recalls of a scope do not wait on each other's queries.
    # A question only of a time ("what happened last week?") is answered by the memories of that time.
    embedded = vectors is not None and bool(embedder and dimension)
    busy_first = embedded and bool(names) and database.dialect == "sqlite" and not intent.only
    found_lexical = {} if busy_first or intent.only else database.read(find)
    seqs = set(database.read(of_the_time)) if intent.only else set(found_lexical)
    if vectors is not None and embedder and dimension:
        with fresh_cache(database, scope, embedder, dimension) as cache:
            if busy_first:
                newest = _busy_names(cache, names, named_pool)
                if newest is None:
                    found_lexical = database.read(find)
                else:  # too many to rank by BM25: the vectors choose among the newest
                    found_lexical = _closest(cache, newest, vectors[1], named_pool, query)
                    window = store.BUSY_WINDOW * named_pool
                    if len(found_lexical) < named_pool and max(map(len, newest)) >= window:
                        # the newest matches were mostly of other levels or times: rank this
                        # query's own matches by BM25 after all
                        found_lexical = database.read(by_names)
                seqs = set(found_lexical)
            if not intent.only:
                seqs.update(seq for seq, _ in cache.nearest(vectors[1], pool, query.levels, query.since, query.until))
            by_vector_full, by_vector = cache.cosines(vectors, seqs)
            known = cache.briefs  # the scope's rows as of the cache's revision: no need to read them again
            rows = {seq: known[seq] for seq in seqs if seq in known}
    if len(rows) < len(seqs):
        missing = seqs.difference(rows)
        rows.update(database.read(lambda cur: store.briefs(cur, scope, missing)))
    chosen = [row for row in rows.values() if row.level in query.levels]
    order = [row.seq for row in chosen]
    named, covered = _shares([row.text.lower() for row in chosen], names, asked)
    found = Candidates(
        seqs=np.array(order, dtype=np.int64),
        created_at=np.array([row.created_at for row in chosen], dtype=np.float64),
        salience=np.array([row.salience for row in chosen], dtype=np.float64),
        uses=np.array([row.uses for row in chosen], dtype=np.float64),
        semantic=np.array([row.level == "semantic" for row in chosen], dtype=bool),
        names=named,
        coverage=covered,
        lexical=np.array([found_lexical.get(seq, np.nan) for seq in order], dtype=np.float64),
        vector=np.array([by_vector.get(seq, 0.0) for seq in order], dtype=np.float64),
        vector_full=np.array([by_vector_full.get(seq, 0.0) for seq in order], dtype=np.float64),
        embedded=bool(by_vector or by_vector_full),
        timely=intent.only,
        answers=_places(chosen, names) if query.weights.answer and asks_place(words(query.text)) else None,
    )
    ranked = fuse(found, intent, query.weights, query.k)
    full = database.read(lambda cur: store.fetch(cur, scope, [seq for seq, _, _ in ranked]))
    hits = []
    shown = [w for w in dict.fromkeys([*wanted, *sorted(names)]) if w not in STOPWORDS]
    for seq, score, parts in ranked:
        stored = full.get(seq)
        if stored is None:  # forgotten since the cache was read (by another process): not a hit
            continue
        why: dict[str, Any] = {name: round(value, 4) for name, value in parts.items()}
        why["matched"] = _matched(stored.text, shown)
        if intent.recent:
            why["asked"] = "recent"
        if intent.window:
            why["window"] = [_iso(intent.window[0], query.zone), _iso(intent.window[1], query.zone)]
        hits.append((seq, to_hit(stored, round(score, 6), why)))
    return hits


def _busy_names(cache: VectorCache, names: frozenset[str], limit: int) -> tuple[list[int], list[int]] | None:
    """For names held by more than ``RANK_BUDGET`` memories of the scope, the newest holding every
    name and, when fewer than ``limit`` do, the newest holding the rarest names (the cache's word
    index: ``WordIndex.newest``); None when the matches are few enough to rank with BM25."""
    if sum(map(cache.words.count, {fold(name) for name in names})) <= store.RANK_BUDGET:
        return None
    return cache.words.newest(names, limit, store.BUSY_WINDOW * limit)


def _closest(
    cache: VectorCache, newest: tuple[list[int], list[int]], vector: Any, limit: int, query: Query
) -> dict[int, float]:
    """Of the full-text matches ``newest`` (those holding every name, then those holding some), the
    ones of this scope within the query's levels and times, at most ``limit``: every match of all the
    names while they fit, the rest by cosine with ``vector`` (newest first on a tie). The lexical
    score is 1 for a match of every name, 0.5 for a match of some. (Looked up as arrays: on a big
    scope each dict lookup of a random row costs about a microsecond.)"""
    allowed = np.zeros(len(LEVEL_CODE) + 1, dtype=bool)
    allowed[[LEVEL_CODE[name] for name in query.levels if name in LEVEL_CODE]] = True
    target = np.asarray(vector, dtype=np.float32).reshape(-1)

    def best(seqs: list[int], count: int) -> list[int]:
        if count <= 0 or not seqs:
            return []
        wanted = np.asarray(seqs, dtype=np.int64)
        rows = cache.positions_of(wanted)
        held = rows >= 0
        keep = np.zeros(len(wanted), dtype=bool)
        found = rows[held]
        fits = allowed[cache.levels[found]]
        if query.since is not None:
            fits &= cache.times[found] >= query.since
        if query.until is not None:
            fits &= cache.times[found] <= query.until
        keep[held] = fits
        for i in np.flatnonzero(~held).tolist():  # a row without a vector: its brief says (None: not this scope's)
            brief = cache.briefs.get(int(wanted[i]))
            keep[i] = brief is not None and brief.level in query.levels and _within(brief.created_at, query)
        wanted, rows = wanted[keep], rows[keep]
        if len(wanted) > count:
            cosines = np.full(len(wanted), -2.0, dtype=np.float32)  # no vector: after every row that has one
            held = rows >= 0
            cosines[held] = cache.matrix[rows[held]] @ target
            wanted = wanted[np.argsort(-cosines, kind="stable")[:count]]
        return [int(seq) for seq in wanted.tolist()]

    chosen = {seq: 1.0 for seq in best(newest[0], limit)}
    chosen.update((seq, 0.5) for seq in best(newest[1], limit - len(chosen)))
    return chosen


def _bounds(query: Query, window: tuple[float, float] | None) -> tuple[float | None, float | None]:
    """The query's ``since`` and ``until`` (both inclusive) narrowed to ``window``, if any. A
    window's end is the start of the next day (month, year): not in it, so its bound is the moment
    just before (a memory dated "2024-03-02" is not of "2024-03-01"); one that ends now ("today",
    "this week") holds now."""
    if window is None:
        return query.since, query.until
    end = window[1] if window[1] >= query.now else math.nextafter(window[1], -math.inf)
    since = window[0] if query.since is None else max(query.since, window[0])
    until = end if query.until is None else min(query.until, end)
    return since, until


def _within(moment: float, query: Query) -> bool:
    return (query.since is None or moment >= query.since) and (query.until is None or moment <= query.until)


def _whole_word(name: str) -> re.Pattern[str]:
    """A pattern finding ``name`` (a lower-cased word) as a whole word of a lower-cased text (the
    name first, so that the search skips ahead to it; then what comes before and after it)."""
    word = re.escape(name)
    return re.compile(f"{word}(?<![^\\W_]{word})(?![^\\W_])")


def _starts_a_word(text: str, term: str) -> bool:
    """Whether ``term`` (a crudely stemmed word) is in ``text`` at the start of a word ("day" in
    "days", not in "yesterday"). A scan, not a pattern: a question's terms are new ever so often (a
    customer's number), and compiling a pattern for each cost a recall 0.07 ms (profiled)."""
    at = text.find(term)
    while at >= 0:
        if at == 0 or not text[at - 1].isalnum():
            return True
        at = text.find(term, at + 1)
    return False


def _matched(text: str, asked: list[str]) -> list[str]:
    """The words of ``asked`` among the words (``text.terms``) of ``text``, in the order it first
    holds them. Without an apostrophe in the text (which joins words: "don't", "O'Brien"), its
    words are the runs that ``plain_words`` finds, faster."""
    wanted = set(asked)
    lowered = text.lower()
    if "'" in lowered or "\u2019" in lowered:
        return [word for word in terms(text) if word in wanted]
    return list(dict.fromkeys(word for word in plain_words(lowered) if word in wanted))


def _shares(texts: list[str], names: frozenset[str], asked: frozenset[str]) -> tuple[Any, Any]:
    """For each of ``texts`` (lower-cased), the share of ``names`` it holds as whole words (accents
    aside, as the full-text index matches them) and the share of the words ``asked`` it holds
    at the start of a word (each 0 where there are none)."""
    named = np.zeros(len(texts), dtype=np.float64)
    wanted = {fold(name) for name in names}
    if wanted:
        folded = [fold(text) for text in texts]
        for pattern in map(_whole_word, wanted):
            named += [pattern.search(text) is not None for text in folded]
    covered = np.zeros(len(texts), dtype=np.float64)
    for term in asked:
        covered += [term in text and _starts_a_word(text, term) for text in texts]
    return named / max(len(wanted), 1), covered / max(len(asked), 1)


def _places(chosen: list[store.Brief], names: frozenset[str]) -> Any:
    """1 for each memory of ``chosen`` that names a place besides ``names``, else 0."""
    return np.array([holds_place(row.text, names) for row in chosen], dtype=np.float64)


def what_of(text: str) -> str:
    """The query without its names (the "what" it asks), or the query if nothing else is left."""
    rest = _split(text)[1]
    return rest if terms(rest) else text


def _iso(moment: float, zone: tzinfo) -> str:
    """``moment`` as the clocks of ``zone`` show it (with its offset)."""
    return datetime.fromtimestamp(moment, zone).isoformat()


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
