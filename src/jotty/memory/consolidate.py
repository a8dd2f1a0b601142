"""Consolidation, the "sleep" pass of one scope.

1. Take the scope's lease (a row in ``jotty_memory_leases`` with an expiry): one consolidator per
   scope at a time, across processes; a holder that died loses it when it expires.
2. Replay up to ``max_episodes`` episodes not yet consolidated, most salient and most used first.
3. Group related ones (``jotty.memory.cluster``: meaning, names, time).
4. For each group of two or more, write one semantic memory whose ``sources`` hold every absorbed
   episode's provenance, and mark the episodes absorbed, in ONE transaction that also renews the
   lease and checks that no episode was absorbed meanwhile (a racing consolidator's group is
   skipped, never merged twice). A pass killed at any point leaves whole groups or none.
5. Fade: episodes never recalled, older than ``FADE_AFTER`` (counted from the scope's newest
   memory) and of low salience (below ``FADE_SALIENCE``), move to the archive level. Absorbed
   episodes stay searchable: their semantic memory sums them up, they keep the exact words. Nothing is
   deleted; ``recall(level="archive")`` still reaches them.

Summaries are extractive (dated member texts) unless the Memory has a ``summarizer``: an async or
plain callable taking a prompt, or an agent whose ``run(prompt)`` result has ``output``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from jotty.agents.ask import ask
from jotty.memory import store
from jotty.memory.cluster import Episode, Group, extractive_summary, group, group_metadata
from jotty.memory.database import Cursor, Database
from jotty.memory.embedders import embed_texts
from jotty.memory.records import ConsolidationReport
from jotty.memory.rewrite import REPAIR_BATCH, repair_vectors
from jotty.memory.vectors import to_blob

if TYPE_CHECKING:
    from jotty.memory.memory import Memory

log = logging.getLogger(__name__)
FADE_AFTER = 30 * 86_400.0
FADE_SALIENCE = 0.4
FADE_BATCH = 5_000
_PROMPT = (
    "Summarise these related memories as a few plain factual sentences. Keep names, places, numbers and "
    "dates; when a later memory updates an earlier one, say what is true now and since when.\n\n{items}"
)


def acquire(database: Database, scope: str, owner: str, seconds: float) -> bool:
    """Take the scope's lease for ``seconds`` unless another owner holds an unexpired one."""

    def work(cur: Cursor) -> bool:
        now = time.time()
        rows = cur.rows(
            "INSERT INTO jotty_memory_leases (scope, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (scope) "
            "DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
            "WHERE jotty_memory_leases.expires_at < ? OR jotty_memory_leases.owner = excluded.owner RETURNING owner",
            (scope, owner, now + seconds, now),
        )
        return bool(rows)

    return database.write(work)


def release(database: Database, scope: str, owner: str) -> None:
    """Give the lease back (if still held)."""
    database.write(lambda cur: cur.run("DELETE FROM jotty_memory_leases WHERE scope = ? AND owner = ?", (scope, owner)))


def replay(database: Database, scope: str, limit: int, dimension: int | None) -> tuple[list[Episode], bool]:
    """Up to ``limit`` unconsolidated episodes, most salient and used first; and whether more remain."""
    import numpy as np

    rows = database.read(
        lambda cur: cur.rows(
            "SELECT seq, id, text, created_at, salience, metadata, sources, embedding, rev FROM jotty_memory "
            "WHERE scope = ? AND level = 'episodic' AND absorbed_into IS NULL "
            f"ORDER BY salience DESC, {store.USES} DESC, created_at DESC LIMIT ?",
            (scope, limit + 1),
        )
    )
    episodes = []
    for seq, mid, text, created, salience, metadata, sources, blob, rev in rows[:limit]:
        vector = None
        if blob is not None and dimension and len(blob) == 4 * dimension:
            vector = np.frombuffer(blob, dtype=np.float32)
        episodes.append(
            Episode(
                int(seq),
                mid,
                text,
                float(created),
                float(salience),
                json.loads(metadata),
                json.loads(sources),
                vector,
                rev=int(rev),
            )
        )
    return episodes, len(rows) > limit


async def summarise(summarizer: Any, members: list[Episode]) -> tuple[str, str]:
    """The group's summary and how it was made ("extractive" or "llm")."""
    if summarizer is None:
        return extractive_summary(members), "extractive"
    items = "\n".join(f"- {m.text}" for m in sorted(members, key=lambda m: m.created_at))
    prompt = _PROMPT.format(items=items)
    try:
        text = await ask(summarizer, prompt)
    except Exception as exc:  # a summarizer failure must not lose the pass: fall back to extractive
        log.warning("memory summarizer failed (%s); using an extractive summary", exc)
        return extractive_summary(members), "extractive"
    return (text[:4_000], "llm") if text else (extractive_summary(members), "extractive")


MEMBERS = "SELECT seq, rev, text, created_at, metadata, sources FROM jotty_memory WHERE seq IN"
"""How ``write_group`` reads its members again, in its transaction (the rest of the statement
follows: the seqs, and that each is this scope's, episodic and free)."""


def _only_reinforced(
    member: Episode, text: str, created_at: float, metadata: dict[str, Any], sources: list[dict[str, Any]]
) -> bool:
    """Whether an episode changed since ``member`` was read only by sightings added: the same text,
    time and metadata (a forget that drops its first item rewrites them, even when the next item has
    the same words), and every item it held still held (a forget removes; a reinforcement adds)."""
    if (text, created_at, metadata) != (member.text, member.created_at, member.metadata):
        return False
    now = {store.item_key(s): store.sightings_of(s) for s in sources}
    return all(now.get(store.item_key(s), 0) >= store.sightings_of(s) for s in member.sources)


def write_group(
    database: Database,
    scope: str,
    owner: str,
    lease_seconds: float,
    members: list[Episode],
    summary: str,
    how: str,
    vector: Any,
    embedder: str | None,
    dimension: int | None,
) -> str | None:
    """One semantic memory for ``members``, in one transaction; None if the lease was lost or an
    episode was absorbed, or rewritten by a forget, since the pass read it (one only reinforced
    meanwhile is taken as it is now: a hot episode would otherwise never be consolidated)."""
    seqs = sorted(m.seq for m in members)

    def work(cur: Cursor) -> str | None:
        now = time.time()
        held = cur.run(
            "UPDATE jotty_memory_leases SET expires_at = ? WHERE scope = ? AND owner = ?",
            (now + lease_seconds, scope, owner),
        )
        if held != 1:
            return None
        # the scope's row first: a forget (or another writer) of the scope waits until this commits,
        # so the episodes found free here stay so (on PostgreSQL a forget could commit in between)
        store.lock_scope(cur, scope)
        marks = ", ".join("?" * len(seqs))
        free = cur.rows(
            f"{MEMBERS} ({marks}) AND scope = ? AND level = 'episodic' AND absorbed_into IS NULL", (*seqs, scope)
        )
        now_held = {
            int(seq): (int(rev), text, float(created), json.loads(meta), json.loads(sources))
            for seq, rev, text, created, meta, sources in free
        }
        held_sources = {}
        for m in members:
            found = now_held.get(m.seq)
            if found is None or (found[0] != m.rev and not _only_reinforced(m, *found[1:])):
                # absorbed by another pass, or rewritten by a forget since this pass read it: its
                # group waits for the next pass (it would hold what the forget removed)
                return None
            held_sources[m.seq] = found[4]  # a reinforcement meanwhile: its new sightings come too
        rev = store.begin_write(cur, scope, embedder if vector is not None else None, dimension, now)
        memory_id = store.new_id()
        ordered = sorted(members, key=lambda m: m.created_at)
        sources = store.merge_sources([], [s for m in ordered for s in held_sources[m.seq]])
        metadata = group_metadata(ordered, how)
        salience = max(m.salience for m in members)
        cur.run(
            store.INSERT,
            store.insert_params(
                memory_id,
                scope,
                "semantic",
                summary,
                metadata,
                sources,
                f"semantic:{memory_id}",
                salience,
                len(members),
                ordered[-1].created_at,
                ordered[-1].created_at,
                now,
                to_blob(vector) if vector is not None else None,
                rev,
            ),
        )
        # by seq alone: the check above found them this scope's (and the scope is held); with the
        # scope in the statement SQLite would scan the scope's index instead of looking them up
        cur.run(f"UPDATE jotty_memory SET absorbed_into = ?, rev = ? WHERE seq IN ({marks})", (memory_id, rev, *seqs))
        return memory_id

    return database.write(work)


def fade(database: Database, scope: str, embedder: str | None, dimension: int | None) -> int:
    """Move unused, old, low-salience episodes to the archive; how many moved."""

    def work(cur: Cursor) -> int:
        newest = cur.rows("SELECT MAX(last_seen) FROM jotty_memory WHERE scope = ?", (scope,))[0][0]
        if newest is None:
            return 0
        rows = cur.rows(
            f"SELECT seq FROM jotty_memory WHERE scope = ? AND level = 'episodic' AND {store.USES} = 0 "
            "AND last_seen < ? AND salience < ? ORDER BY seq LIMIT ?",
            (scope, float(newest) - FADE_AFTER, FADE_SALIENCE, FADE_BATCH),
        )
        if not rows:
            return 0
        rev = store.begin_write(cur, scope, None, dimension, time.time())
        seqs = [int(r[0]) for r in rows]
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            cur.run(
                f"UPDATE jotty_memory SET level = 'archive', rev = ? WHERE seq IN ({', '.join('?' * len(chunk))})",
                (rev, *chunk),
            )
        return len(seqs)

    return database.write(work)


async def run_consolidation(memory: Memory, *, max_episodes: int, lease_seconds: float) -> ConsolidationReport:
    """One bounded pass over ``memory``'s scope (see the module doc)."""
    started = time.monotonic()
    database = await asyncio.to_thread(memory.database)
    scope = memory.scope
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not await asyncio.to_thread(acquire, database, scope, owner, lease_seconds):
        return ConsolidationReport(scope, lease=False, seconds=round(time.monotonic() - started, 3))
    embedder = memory.embedder
    name = embedder.name if embedder is not None else None
    dimension = embedder.dimension if embedder is not None else None
    try:
        repaired = 0 if embedder is None else await asyncio.to_thread(repair_vectors, database, scope, embedder)
        episodes, more = await asyncio.to_thread(replay, database, scope, max_episodes, dimension)
        groups: list[Group] = [g for g in await asyncio.to_thread(group, episodes) if len(g.members) >= 2]
        written, absorbed, skipped, lost = [], 0, 0, False
        step = 1 if memory.summarizer is not None else 64  # an LLM's group is written before the next call
        for start in range(0, len(groups), step):
            if lost:
                break
            chunk = [g.members for g in groups[start : start + step]]
            summaries = [await summarise(memory.summarizer, members) for members in chunk]
            vectors: Any = None
            if embedder is not None:
                vectors = await asyncio.to_thread(embed_texts, embedder, [text for text, _ in summaries])
            for index, (members, (summary, how)) in enumerate(zip(chunk, summaries, strict=True)):
                vector = vectors[index] if vectors is not None else None
                memory_id = await asyncio.to_thread(
                    write_group, database, scope, owner, lease_seconds, members, summary, how, vector, name, dimension
                )
                if memory_id is None:
                    skipped += 1
                    # another consolidator took the lease (a summarizer call outlasted it): stop, and
                    # make no more summarizer calls for groups this pass can no longer write
                    lost = not await asyncio.to_thread(acquire, database, scope, owner, lease_seconds)
                    if lost:
                        break
                    continue
                written.append(memory_id)
                absorbed += len(members)
        faded = 0 if lost else await asyncio.to_thread(fade, database, scope, name, dimension)
    finally:
        await asyncio.to_thread(release, database, scope, owner)
    return ConsolidationReport(
        scope=scope,
        replayed=len(episodes),
        clusters=len(written),
        absorbed=absorbed,
        faded=faded,
        skipped_clusters=skipped,
        more=more or lost or repaired >= REPAIR_BATCH,  # vectors may be left to repair: sleep on it again
        seconds=round(time.monotonic() - started, 3),
        memory_ids=written,
        embedded=repaired,
    )
