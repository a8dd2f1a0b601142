"""The memory tables' statements, shared by SQLite and PostgreSQL (``?`` placeholders), each run on
a ``Cursor`` inside the caller's unit of work."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jotty.db.memory_uses import uses_of
from jotty.errors import ValidationError
from jotty.memory.database import Cursor
from jotty.memory.postings import fold

USES = uses_of("jotty_memory")
COLUMNS = f"seq, id, level, text, metadata, sources, salience, seen, {USES}, created_at, last_seen, absorbed_into"


@dataclass
class Row:
    """One stored memory."""

    seq: int
    id: str
    level: str
    text: str
    metadata: dict[str, Any]
    sources: list[dict[str, Any]]
    salience: float
    seen: int
    uses: int
    created_at: float
    last_seen: float
    absorbed_into: str | None

    @classmethod
    def of(cls, raw: Sequence[Any]) -> Row:
        """A row from a ``SELECT {COLUMNS}``."""
        return cls(
            int(raw[0]),
            raw[1],
            raw[2],
            raw[3],
            json.loads(raw[4]),
            json.loads(raw[5]),
            float(raw[6]),
            int(raw[7]),
            int(raw[8]),
            float(raw[9]),
            float(raw[10]),
            raw[11],
        )


@dataclass(frozen=True)
class ScopeState:
    """A scope's row: revision, purge count and the embedder that wrote its vectors."""

    rev: int
    purges: int
    embedder: str | None
    dimension: int | None


def new_id() -> str:
    """A fresh memory id."""
    return f"mem-{uuid.uuid4().hex[:20]}"


def iso(moment: float) -> str:
    """Epoch seconds as ISO 8601 (UTC)."""
    return datetime.fromtimestamp(moment, UTC).isoformat()


def source(memory_id: str, at: float, text: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """One provenance entry: which item, when, its text and its metadata."""
    return {"id": memory_id, "at": iso(at), "text": text, "metadata": dict(metadata)}


def scope_state(cur: Cursor, scope: str) -> ScopeState | None:
    """The scope's row, if it exists."""
    rows = cur.rows("SELECT rev, purges, embedder, dimension FROM jotty_memory_scopes WHERE scope = ?", (scope,))
    if not rows:
        return None
    rev, purges, embedder, dimension = rows[0]
    return ScopeState(int(rev), int(purges), embedder, None if dimension is None else int(dimension))


def check_embedder(state: ScopeState | None, scope: str, name: str | None, dimension: int | None) -> None:
    """Refuse an embedder other than the one whose vectors the scope holds."""
    if state is None or name is None or state.embedder is None:
        return
    if state.embedder != name or state.dimension != dimension:
        raise ValidationError(
            f"scope {scope!r} holds {state.dimension}-dimensional vectors from the embedder {state.embedder!r}, "
            f"but this Memory's embedder is {name!r} ({dimension} dimensions): use the scope's embedder, "
            "remember into a new scope, or pass embedder=False for lexical-only memory; nothing was written"
        )


def lock_scope(cur: Cursor, scope: str) -> None:
    """Inside a write: take the scope's row (as ``begin_write`` does) without a new revision, so
    that what is read next is not changed by another writer of the scope before this one commits."""
    cur.run("UPDATE jotty_memory_scopes SET rev = rev WHERE scope = ?", (scope,))


def begin_write(cur: Cursor, scope: str, embedder: str | None, dimension: int | None, now: float) -> int:
    """Inside a write: create the scope's row if needed, check the embedder, and take the next
    revision (the row lock also orders concurrent writers of the scope)."""
    cur.run(
        "INSERT INTO jotty_memory_scopes (scope, rev, purges, created_at) VALUES (?, 0, 0, ?) "
        "ON CONFLICT (scope) DO NOTHING",
        (scope, now),
    )
    rows = cur.rows("UPDATE jotty_memory_scopes SET rev = rev + 1 WHERE scope = ? RETURNING rev", (scope,))
    rev = int(rows[0][0])
    state = scope_state(cur, scope)
    check_embedder(state, scope, embedder, dimension)
    if embedder is not None and state is not None and state.embedder is None:
        cur.run(
            "UPDATE jotty_memory_scopes SET embedder = ?, dimension = ? WHERE scope = ?", (embedder, dimension, scope)
        )
    return rev


def by_signature(cur: Cursor, scope: str, signatures: Sequence[str], levels: Sequence[str]) -> dict[str, Row]:
    """The memories of ``levels`` with each signature (the oldest one per signature)."""
    found: dict[str, Row] = {}
    for start in range(0, len(signatures), 500):
        chunk = list(dict.fromkeys(signatures[start : start + 500]))
        rows = cur.rows(
            f"SELECT {COLUMNS}, signature FROM jotty_memory WHERE scope = ? AND signature IN "
            f"({', '.join('?' * len(chunk))}) AND level IN ({', '.join('?' * len(levels))}) ORDER BY seq",
            (scope, *chunk, *levels),
        )
        for raw in rows:
            found.setdefault(raw[-1], Row.of(raw))
    return found


def fetch(cur: Cursor, scope: str, seqs: Iterable[int]) -> dict[int, Row]:
    """The scope's memories by seq (a seq no longer the scope's is left out: on SQLite a forgotten
    memory's seq may already be another scope's). The scope is compared here, not in the query: with
    it in the query SQLite scans the scope's index instead of looking the seqs up."""
    wanted = list(seqs)
    found: dict[int, Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = cur.rows(
            f"SELECT {COLUMNS}, scope FROM jotty_memory WHERE seq IN ({', '.join('?' * len(chunk))})", chunk
        )
        found.update((int(raw[0]), Row.of(raw)) for raw in rows if raw[-1] == scope)
    return found


@dataclass(frozen=True)
class Brief:
    """What ranking reads of a candidate (no JSON decoding)."""

    seq: int
    level: str
    text: str
    created_at: float
    salience: float
    uses: int


def briefs(cur: Cursor, scope: str, seqs: Iterable[int]) -> dict[int, Brief]:
    """The scope's candidates by seq, with only the columns ranking needs (see ``fetch``)."""
    wanted = list(seqs)
    found: dict[int, Brief] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = cur.rows(
            f"SELECT seq, level, text, created_at, salience, {USES}, scope FROM jotty_memory WHERE seq IN "
            f"({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update(
            (int(r[0]), Brief(int(r[0]), r[1], r[2], float(r[3]), float(r[4]), int(r[5])))
            for r in rows
            if r[6] == scope
        )
    return found


def fetch_ids(cur: Cursor, scope: str, ids: Sequence[str]) -> list[Row]:
    """Memories of the scope by id (in the order asked; missing ones left out)."""
    found: dict[str, Row] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        rows = cur.rows(
            f"SELECT {COLUMNS} FROM jotty_memory WHERE scope = ? AND id IN ({', '.join('?' * len(chunk))})",
            (scope, *chunk),
        )
        found.update((raw[1], Row.of(raw)) for raw in rows)
    return [found[i] for i in ids if i in found]


INSERT = (
    "INSERT INTO jotty_memory (id, scope, level, text, metadata, sources, signature, salience, seen, uses, "
    "created_at, stored_at, last_seen, embedding, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
)


def insert_params(
    memory_id: str,
    scope: str,
    level: str,
    text: str,
    metadata: Mapping[str, Any],
    sources: list[dict[str, Any]],
    signature: str,
    salience: float,
    seen: int,
    at: float,
    last_seen: float,
    now: float,
    vector: bytes | None,
    rev: int,
) -> tuple[Any, ...]:
    """The parameters of ``INSERT``."""
    return (
        memory_id,
        scope,
        level,
        text,
        json.dumps(metadata),
        json.dumps(sources),
        signature,
        salience,
        seen,
        at,
        now,
        last_seen,
        vector,
        rev,
    )


def merge_sources(existing: list[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``existing`` plus the entries of ``new``, one entry per item: the same text and metadata of
    the same memory (a fact stated again to a consolidated memory is its own entry, not one of an
    episode's items, so that it outlives a forget of that episode). An item said again counts up
    its entry's ``count`` (absent: once), so that forgetting it takes all its sightings."""
    merged = list(existing)
    index = {item_key(s): i for i, s in enumerate(merged)}
    for entry in new:
        key = item_key(entry)
        if key in index:
            held = merged[index[key]]
            merged[index[key]] = {**held, "count": sightings_of(held) + sightings_of(entry)}
        else:
            index[key] = len(merged)
            merged.append(entry)
    return merged


def sightings_of(entry: Mapping[str, Any]) -> int:
    """How many times a source entry's item was said (its ``count``, else once)."""
    count = entry.get("count", 1)
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1


def item_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes a source entry one item: its memory, text and metadata."""
    return (entry.get("id"), entry.get("text"), json.dumps(entry.get("metadata"), sort_keys=True))


def reinforce(
    cur: Cursor, row: Row, sources: list[dict[str, Any]], times: int, salience: float, seen_at: float, rev: int
) -> None:
    """Count ``times`` more sightings of ``row``, merge ``sources``, revive it from the archive."""
    cur.run(
        "UPDATE jotty_memory SET seen = seen + ?, last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END, "
        "sources = ?, salience = CASE WHEN salience > ? THEN salience ELSE ? END, "
        "level = CASE WHEN level = 'archive' THEN 'episodic' ELSE level END, rev = ? WHERE seq = ?",
        (times, seen_at, seen_at, json.dumps(merge_sources(row.sources, sources)), salience, salience, rev, row.seq),
    )


def lexical(
    cur: Cursor,
    dialect: str,
    scope: str,
    words: Sequence[str],
    levels: Sequence[str],
    since: float | None,
    until: float | None,
    limit: int,
    counts: dict[str, tuple[float, int]] | None = None,
) -> dict[int, float]:
    """Full-text matches of any of ``words``: ``{seq: score}``, higher is better. ``counts``: the
    store's reused match counts of common terms (``Database.term_counts``), if any."""
    if not words:
        return {}
    bounds, params = _between(since, until, "m.")
    marks = ", ".join("?" * len(levels))
    if dialect == "sqlite":
        rows = _fts5(cur, scope, words, levels, bounds, params, limit, counts)
    else:
        query = tsquery(words)
        if not query:
            return {}
        rows = cur.rows(
            "SELECT m.seq, ts_rank(m.tsf, q) FROM jotty_memory m, to_tsquery('english', ?) q "
            f"WHERE m.scope = ? AND m.level IN ({marks}){bounds} AND m.tsf @@ q ORDER BY 2 DESC LIMIT ?",
            (query, scope, *levels, *params, limit),
        )
    return {int(seq): float(score) for seq, score in rows}


def newest(
    cur: Cursor, scope: str, levels: Sequence[str], since: float | None, until: float | None, limit: int
) -> list[int]:
    """The seqs of the scope's newest ``limit`` memories of ``levels`` between ``since`` and
    ``until`` (the scope, level and time index), newest first."""
    bounds, params = _between(since, until)
    marks = ", ".join("?" * len(levels))
    rows = cur.rows(
        f"SELECT seq FROM jotty_memory WHERE scope = ? AND level IN ({marks}){bounds} "
        "ORDER BY created_at DESC, seq DESC LIMIT ?",
        (scope, *levels, *params, limit),
    )
    return [int(seq) for (seq,) in rows]


def _between(since: float | None, until: float | None, table: str = "") -> tuple[str, list[Any]]:
    """The ``AND`` conditions (and their parameters) bounding ``created_at`` by ``since``/``until``."""
    bounds, params = "", []
    if since is not None:
        bounds += f" AND {table}created_at >= ?"
        params.append(since)
    if until is not None:
        bounds += f" AND {table}created_at <= ?"
        params.append(until)
    return bounds, params


def tsquery(words: Sequence[str]) -> str:
    """The words as a PostgreSQL ``to_tsquery`` text matching any of them, as FTS5 matches them on
    SQLite: without diacritics (``tsf`` holds the text folded alike) and a word joined by an
    apostrophe ("o'brien") as the phrase of its parts, which is how the parser keeps it."""
    phrases = (" <-> ".join(part for part in fold(word).split("'") if part) for word in words)
    return " | ".join(dict.fromkeys(phrase for phrase in phrases if phrase))


FTS_WINDOW = 1_000
"""At most this many full-text matches are ranked per recall on SQLite (the newest ones)."""


def _fts5(
    cur: Cursor,
    scope: str,
    words: Sequence[str],
    levels: Sequence[str],
    bounds: str,
    params: list[Any],
    limit: int,
    counts_kept: dict[str, tuple[float, int]] | None = None,
) -> list[Sequence[Any]]:
    """BM25 over FTS5 with bounded work: the query's rarest terms pick the matches (as many terms as
    fit in ``FTS_WINDOW`` matches, at least the rarest one), every term counts in the rank, and only
    the newest ``FTS_WINDOW`` matches are ranked."""
    phrases = _phrases(words)
    if not phrases:
        return []
    counts = _counts(cur, phrases, counts_kept) if len(phrases) > 1 else [1]
    present = sorted((int(n), phrase) for n, phrase in zip(counts, phrases, strict=True) if n)
    if not present:
        return []
    anchor = _rarest(present, FTS_WINDOW)
    total = sum(n for n, _ in present[: len(anchor)])  # the matches of the anchor terms
    query = " OR ".join(anchor)
    if len(anchor) < len(present):
        query = f"({query}) AND ({' OR '.join(phrase for _, phrase in present)})"
    if len(present) > 1 and total > 4 * limit:
        # Many matches: when enough of them hold every term, those are the best ranked anyway (a match
        # of every term outscores a match of fewer), so only they are ranked.
        every = " AND ".join(phrase for _, phrase in present)
        both = cur.rows("SELECT count(*) FROM jotty_memory_fts WHERE jotty_memory_fts MATCH ?", (every,))[0][0]
        if int(both) >= limit:
            query, total = every, int(both)
    marks = ", ".join("?" * len(levels))
    ranked = (
        "SELECT rowid AS seq, bm25(jotty_memory_fts) AS rank FROM jotty_memory_fts "
        "WHERE jotty_memory_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
    )
    where = f"WHERE m.scope = ? AND m.level IN ({marks}){bounds} ORDER BY f.rank LIMIT ?"
    # Most stores hold one busy scope: rank first, then check the scope of the best few only; when
    # other scopes or the bounds leave too few, check every ranked match.
    rows = cur.rows(
        f"SELECT m.seq, -f.rank FROM (SELECT * FROM ({ranked}) ORDER BY rank LIMIT ?) f "
        f"JOIN jotty_memory m ON m.seq = f.seq {where}",
        (query, FTS_WINDOW, 2 * limit, scope, *levels, *params, limit),
    )
    if len(rows) < limit and (len(phrases) == 1 or total > 2 * limit):
        rows = cur.rows(
            f"SELECT m.seq, -f.rank FROM ({ranked}) f JOIN jotty_memory m ON m.seq = f.seq {where}",
            (query, FTS_WINDOW, scope, *levels, *params, limit),
        )
    return rows


RANK_BUDGET = 200
"""Past this many memories of the scope holding its names, a recall with vectors does not rank them
by BM25 (FTS5's ``bm25`` reads every match of every term once per query) but takes the newest (from
the cache's word index, ``postings.WordIndex.newest``) and lets the vectors choose."""

BUSY_WINDOW = 5
"""How many times ``limit`` of the newest matches of busy names the vectors choose among."""


def _phrases(words: Sequence[str]) -> list[str]:
    """The words as FTS5 phrases (quoted, quotes dropped), without repeats or empties."""
    return list(dict.fromkeys('"' + w.replace('"', "") + '"' for w in words if w.replace('"', "")))


def _rarest(present: list[tuple[int, str]], window: int) -> list[str]:
    """Of ``(matches, phrase)`` pairs sorted rarest first, as many phrases as fit in ``window``
    matches (at least the rarest one)."""
    anchor: list[str] = []
    total = 0
    for n, phrase in present:
        if anchor and total + n > window:
            break
        anchor.append(phrase)
        total += n
    return anchor


COUNT_SECONDS = 10.0
"""How long a term's match count of at least ``COUNT_REUSE`` is reused (it only picks the terms that
select full-text matches; a small count is cheap to take again and may grow fast)."""
COUNT_REUSE = 200


def _counts(cur: Cursor, phrases: Sequence[str], reuse: dict[str, tuple[float, int]] | None) -> list[int]:
    """How many full-text matches each phrase has; counts of at least ``COUNT_REUSE`` are kept in
    ``reuse`` (the store's) for ``COUNT_SECONDS``."""
    now = time.monotonic()
    found: dict[str, int] = {}
    for phrase in phrases:
        seen = reuse.get(phrase) if reuse is not None else None
        if seen is not None and now - seen[0] < COUNT_SECONDS:
            found[phrase] = seen[1]
    ask = [phrase for phrase in phrases if phrase not in found]
    if ask:
        counted = "(SELECT count(*) FROM jotty_memory_fts WHERE jotty_memory_fts MATCH ?)"
        for phrase, n in zip(ask, cur.rows("SELECT " + ", ".join([counted] * len(ask)), ask)[0], strict=True):
            found[phrase] = int(n)
            if reuse is not None and int(n) >= COUNT_REUSE:
                if len(reuse) > 10_000:
                    reuse.clear()
                reuse[phrase] = (now, int(n))
    return [found[phrase] for phrase in phrases]


def changed(cur: Cursor, scope: str, after_rev: int) -> list[Sequence[Any]]:
    """``(seq, level, created_at, embedding, text, salience, uses)`` of the scope's rows written after
    revision ``after_rev``."""
    return cur.rows(
        f"SELECT seq, level, created_at, embedding, text, salience, {USES} FROM jotty_memory "
        "WHERE scope = ? AND rev > ?",
        (scope, after_rev),
    )


def recounted(cur: Cursor, scope: str, after_rev: int) -> list[Sequence[Any]]:
    """``(seq, uses)`` of the scope's memories recalled (counted) after revision ``after_rev``."""
    return cur.rows(
        "SELECT u.seq, m.uses + u.uses FROM jotty_memory_uses u JOIN jotty_memory m ON m.seq = u.seq "
        "WHERE u.scope = ? AND u.rev > ?",
        (scope, after_rev),
    )


COUNT_USES = (
    "INSERT INTO jotty_memory_uses (seq, scope, uses, last_used, rev) "
    "SELECT seq, scope, ?, ?, ? FROM jotty_memory WHERE seq = ? AND id = ? AND scope = ? "
    "ON CONFLICT (seq) DO UPDATE SET uses = jotty_memory_uses.uses + excluded.uses, "
    "last_used = excluded.last_used, rev = excluded.rev"
)
"""Add ``(count, now, rev, seq, id, scope)`` to a memory's recalls: nothing for a memory no longer
stored (the id also guards against SQLite giving a forgotten memory's seq to a new one)."""


def purge(cur: Cursor, scope: str) -> int:
    """Mark the scope so every process's vector cache reloads it in full (after a delete); the
    scope's new revision."""
    rows = cur.rows(
        "UPDATE jotty_memory_scopes SET purges = purges + 1, rev = rev + 1 WHERE scope = ? RETURNING rev", (scope,)
    )
    return int(rows[0][0]) if rows else 0


def delete_rows(cur: Cursor, seqs: Sequence[int]) -> None:
    """Delete the memories ``seqs`` and their recall counts."""
    ordered = sorted(seqs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        cur.run(f"DELETE FROM jotty_memory_uses WHERE seq IN ({marks})", chunk)
        cur.run(f"DELETE FROM jotty_memory WHERE seq IN ({marks})", chunk)


def stamp(cur: Cursor, seqs: Sequence[int], rev: int) -> None:
    """Mark the memories ``seqs`` as changed at revision ``rev``."""
    ordered = sorted(seqs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        cur.run(f"UPDATE jotty_memory SET rev = ? WHERE seq IN ({', '.join('?' * len(chunk))})", (rev, *chunk))


HOLDS = "(metadata LIKE ? ESCAPE '\\' OR sources LIKE ? ESCAPE '\\')"
"""A memory whose metadata or one of whose items holds a text (two ``contains`` patterns)."""


def contains(text: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) matching any text that holds ``text``."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def holds_run(cur: Cursor, scope: str, run_id: str, outcome: str | None = None) -> bool:
    """Whether a memory of ``scope`` holds an item of run ``run_id`` (its metadata's ``run_id``,
    compared exactly: SQLite's LIKE, the prefilter, ignores case), of that ``outcome`` if given (a
    run retried after a failure holds the failure, not yet the success)."""
    pattern = contains(f'"run_id": {json.dumps(run_id)}')
    rows = cur.rows(
        f"SELECT metadata, sources FROM jotty_memory WHERE scope = ? AND {HOLDS}", (scope, pattern, pattern)
    )
    for metadata, sources in rows:
        for meta in [json.loads(metadata), *(s.get("metadata") for s in json.loads(sources))]:
            if isinstance(meta, dict) and meta.get("run_id") == run_id and outcome in (None, meta.get("outcome")):
                return True
    return False


def is_consolidated(level: str, metadata: Any) -> bool:
    """Whether a memory is one that consolidation wrote (a summary of episodes), not a semantic
    memory remembered directly."""
    return (
        level == "semantic"
        and isinstance(metadata, dict)
        and metadata.get("kind") == "consolidated"
        and isinstance(metadata.get("episodes"), list)
    )
