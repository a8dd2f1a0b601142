"""The memory page: search stored memories by text, and the recent consolidations (semantic
memories with the episodes they absorbed). Plain reads: searching here never counts as a use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jotty.dashboard import params
from jotty.dashboard.reader import Reader
from jotty.db.memory_uses import uses_of
from jotty.memory.store import tsquery
from jotty.memory.text import plain_words

COLUMNS = f"m.id, m.scope, m.level, m.text, m.salience, m.seen, {uses_of('m')}, m.created_at, m.sources"
SEARCH_SQLITE = (
    f"SELECT {COLUMNS} FROM jotty_memory_fts f JOIN jotty_memory m ON m.seq = f.rowid "
    "WHERE jotty_memory_fts MATCH ? AND m.absorbed_into IS NULL ORDER BY rank LIMIT ?"
)
SEARCH_POSTGRES = (
    f"SELECT {COLUMNS} FROM jotty_memory m, to_tsquery('english', ?) q WHERE m.tsf @@ q AND m.absorbed_into IS NULL "
    "ORDER BY ts_rank(m.tsf, q) DESC LIMIT ?"
)
"""Matches any word, accents aside, as recall and SQLite's FTS5 do (``store.tsquery``)."""
RECENT = f"SELECT {COLUMNS} FROM jotty_memory m WHERE m.level = 'semantic' ORDER BY m.created_at DESC LIMIT ?"
LEVELS = "SELECT scope, level, COUNT(*) FROM jotty_memory GROUP BY scope, level ORDER BY scope, level"


def _fts_query(text: str) -> str:
    """Words of ``text`` as an FTS5 query that matches any of them (quoted: no operators pass through)."""
    words = ['"' + w.replace('"', "") + '"' for w in text.split() if w.replace('"', "")]
    return " OR ".join(words)


def _memory(row: tuple[Any, ...]) -> dict[str, Any]:
    memory_id, scope, level, text, salience, seen, uses, created, sources = row
    absorbed = json.loads(sources) if sources else []
    return {
        "id": memory_id,
        "scope": scope,
        "level": level,
        "text": text,
        "salience": salience,
        "seen": seen,
        "uses": uses,
        "created_at": created,
        "sources": len(absorbed),
        "source_texts": [s.get("text", "") for s in absorbed[:5] if isinstance(s, dict)],
    }


async def memory_page(reader: Reader, query: Mapping[str, str]) -> dict[str, Any]:
    """Counts per scope and level, search hits for ``q``, and the latest consolidated memories."""
    search = params.text(query, "q")
    limit = params.integer(query, "limit", 20, 1, 200)
    if not await reader.has_table("jotty_memory"):
        return {"levels": [], "hits": [], "consolidations": [], "q": search}
    hits: list[dict[str, Any]] = []
    if search is not None:
        if reader.kind == "sqlite":
            fts = _fts_query(search)
            rows = await reader.rows(SEARCH_SQLITE, (fts, limit)) if fts else []
        else:
            words = tsquery(plain_words(search.lower()))
            rows = await reader.rows(SEARCH_POSTGRES, (words, limit)) if words else []
        hits = [_memory(r) for r in rows]
    return {
        "levels": [{"scope": s, "level": lv, "count": n} for s, lv, n in await reader.rows(LEVELS)],
        "hits": hits,
        "consolidations": [_memory(r) for r in await reader.rows(RECENT, (limit,))],
        "q": search,
    }
