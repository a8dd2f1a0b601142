"""What a forget rewrites besides deleting: consolidated memories summarised again from what they
still hold, and the vectors of every memory whose text changed (embedded after the forget commits,
so that no writer waits on an embedder and a failing embedder fails no forget)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jotty.memory import store
from jotty.memory.cluster import Episode, extractive_summary, group_metadata
from jotty.memory.database import Cursor, Database
from jotty.memory.embedders import Embedder, embed_texts
from jotty.memory.vectors import to_blob

log = logging.getLogger(__name__)


def moment(at: Any, default: float) -> float:
    """An item's ``at`` (ISO 8601) as epoch seconds, or ``default`` if it is not one."""
    try:
        return datetime.fromisoformat(str(at)).timestamp()
    except ValueError:
        return default


def summarise_again(
    cur: Cursor,
    scope: str,
    groups: set[str],
    changed: set[int],
    retexted: list[tuple[int, str]],
) -> list[str]:
    """Each consolidated memory of ``groups`` rebuilt as consolidation would build it from the
    episodes it still absorbs, with the items each holds now (after the forget's changes), and from
    the items that reinforced the memory itself (a fact stated directly): an extractive summary of
    each one's first item, their sources, metadata, count and time, and no vector until
    ``embed_again``. Deletes those left with nothing and returns their ids; adds the seqs of those
    rebuilt to ``changed`` and ``(seq, text)`` to ``retexted``."""
    emptied: list[str] = []
    for group in store.fetch_ids(cur, scope, sorted(groups)):
        if not store.is_consolidated(group.level, group.metadata):
            continue  # a semantic memory remembered directly: its items were handled as an episode's
        episodes = group.metadata["episodes"]
        members = []
        for row in store.fetch_ids(cur, scope, [str(i) for i in episodes]):
            if row.absorbed_into == group.id and row.sources:
                members.append(
                    Episode(row.seq, row.id, row.sources[0]["text"], row.created_at, row.salience, {}, row.sources)
                )
        own = [s for s in group.sources if s.get("id") == group.id]
        stated = [Episode(0, group.id, s["text"], moment(s.get("at"), group.created_at), 0.0, {}, [s]) for s in own]
        if not members and not stated:
            emptied.append(group.id)
            store.delete_rows(cur, [group.seq])
            changed.discard(group.seq)
            continue
        summarised = sorted([*members, *stated], key=lambda member: member.created_at)
        text = extractive_summary(summarised)
        metadata = {
            **group.metadata,
            **group_metadata(summarised, "extractive"),
            "episodes": [m.id for m in sorted(members, key=lambda member: member.created_at)],
        }
        sources = store.merge_sources([], [item for member in summarised for item in member.sources])
        latest = summarised[-1].created_at
        seen = len(members) + sum(store.sightings_of(s) for s in own)  # episodes, and each time a fact was stated
        cur.run(
            "UPDATE jotty_memory SET text = ?, metadata = ?, sources = ?, seen = ?, created_at = ?, last_seen = ?, "
            "embedding = NULL WHERE seq = ?",
            (text, json.dumps(metadata), json.dumps(sources), seen, latest, latest, group.seq),
        )
        changed.add(group.seq)
        retexted.append((group.seq, text))
    return emptied


def embed_again(database: Database, scope: str, embedder: Embedder | None, retexted: Sequence[tuple[int, str]]) -> int:
    """The vectors of the memories whose text a forget changed, of their new texts, in one batch
    and one transaction: only with the embedder the scope's vectors come from, only for a memory
    whose text is still that text. A failing embedder leaves them without (logged): they are found
    by their words. How many were written."""
    if not retexted or embedder is None:
        return 0
    try:
        vectors = embed_texts(embedder, [text for _, text in retexted])
    except Exception as exc:  # the forget is done; its rewritten memories stay searchable by words
        log.warning("forget in scope %s: could not embed %d rewritten memories: %s", scope, len(retexted), exc)
        return 0

    def work(cur: Cursor) -> int:
        if not _vectors_of(cur, scope, embedder):
            return 0  # a words-only scope, or another embedder's: no vectors of this one
        rev = store.begin_write(cur, scope, embedder.name, embedder.dimension, time.time())
        return sum(
            cur.run(
                "UPDATE jotty_memory SET embedding = ?, rev = ? WHERE seq = ? AND scope = ? AND text = ?",
                (to_blob(vector), rev, seq, scope, text),
            )
            for (seq, text), vector in zip(retexted, vectors, strict=True)
        )

    return database.write(work)


REPAIR_BATCH = 1_000
"""Memories without a vector that one consolidation pass embeds, at most."""


def repair_vectors(database: Database, scope: str, embedder: Embedder) -> int:
    """Embed up to ``REPAIR_BATCH`` memories of ``scope`` left without a vector (a forget that died
    before ``embed_again``, an embedder that failed then, a words-only writer), when the scope's
    vectors are ``embedder``'s; how many were written."""

    def read(cur: Cursor) -> list[tuple[int, str]]:
        if not _vectors_of(cur, scope, embedder):
            return []
        rows = cur.rows(
            "SELECT seq, text FROM jotty_memory WHERE scope = ? AND embedding IS NULL LIMIT ?", (scope, REPAIR_BATCH)
        )
        return [(int(seq), str(text)) for seq, text in rows]

    return embed_again(database, scope, embedder, database.read(read))


def _vectors_of(cur: Cursor, scope: str, embedder: Embedder) -> bool:
    """Whether the scope's vectors come from ``embedder`` (its name and dimension)."""
    state = store.scope_state(cur, scope)
    return state is not None and (state.embedder, state.dimension) == (embedder.name, embedder.dimension)
