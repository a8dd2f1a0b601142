"""Forgetting (the only way anything leaves memory) and a scope's counts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jotty.memory import store
from jotty.memory.database import Cursor, Database
from jotty.memory.embedders import Embedder
from jotty.memory.records import STORED_LEVELS, MemoryStats
from jotty.memory.rewrite import embed_again, moment, summarise_again
from jotty.memory.text import signature


@dataclass(frozen=True)
class Criteria:
    """Which memories to forget: every given criterion must hold."""

    ids: list[str] | None = None
    where: Mapping[str, Any] | None = None
    levels: tuple[str, ...] | None = None
    before: float | None = None

    @property
    def empty(self) -> bool:
        """True when no criterion is given (everything matches)."""
        return self.ids is None and self.where is None and self.levels is None and self.before is None


def forget(database: Database, scope: str, criteria: Criteria, embedder: Embedder | None = None) -> int:
    """Delete the scope's memories matching ``criteria`` in one transaction; how many memories were
    deleted (with ``where``: deleted or changed).

    The provenance entries of deleted items are removed from the memories that absorbed them. With
    ``where``, the items a memory holds (its ``sources``) are matched one by one: matching items
    leave every memory the other criteria select, a memory left without items is deleted, and an
    episode whose first item goes while others stay takes the next item's text, metadata and time.
    A consolidated memory holds the facts stated to it; its episodes' items are theirs, and leave it
    with them. A consolidated memory that loses an episode or items is summarised again from what
    it still holds, or deleted when nothing is left (``rewrite.summarise_again``), so that no
    forgotten words stay in its text. A memory whose text changes loses its vector in the
    transaction and gets that of its new text from ``embedder`` after the commit
    (``rewrite.embed_again``).
    """

    def work(cur: Cursor) -> tuple[int, list[tuple[int, str]]]:
        # The scope's row first, as every writer of the scope takes it: on PostgreSQL, reading the rows
        # (and what absorbed them) before it would miss a consolidation committed in between, and a
        # recall-count flush could deadlock with this forget or add a count for a memory it deletes.
        store.lock_scope(cur, scope)
        clauses, params = ["scope = ?"], [scope]
        if criteria.levels is not None:
            clauses.append(f"level IN ({', '.join('?' * len(criteria.levels))})")
            params.extend(criteria.levels)
        if criteria.before is not None:
            clauses.append("created_at < ?")
            params.append(criteria.before)  # type: ignore[arg-type]
        if criteria.ids is not None:
            if not criteria.ids:
                return 0, []
            clauses.append(f"id IN ({', '.join('?' * len(criteria.ids))})")
            params.extend(criteria.ids)
        if criteria.where is not None:
            found = _by_items(cur, scope, clauses, params, dict(criteria.where))
        else:
            rows = cur.rows(
                f"SELECT seq, id, metadata, absorbed_into FROM jotty_memory WHERE {' AND '.join(clauses)}", params
            )
            found = _Found(rows)
        if not found.gone and not found.changed:
            return 0, []
        rev = store.purge(cur, scope)  # rows deleted or texts changed: every process's cache reloads the scope
        gone = {str(r[1]) for r in found.gone}
        found.groups.update(str(r[3]) for r in found.gone if r[3])
        store.delete_rows(cur, [int(r[0]) for r in found.gone])
        gone.update(summarise_again(cur, scope, found.groups - gone, found.changed, found.retexted))
        if gone:
            cur.run(
                f"UPDATE jotty_memory SET absorbed_into = NULL WHERE scope = ? AND absorbed_into IN "
                f"({', '.join('?' * len(gone))})",
                (scope, *sorted(gone)),
            )
        store.stamp(cur, sorted(found.changed), rev)  # a consolidation pass that read them writes no group of them
        return len(gone) + (len(found.changed) if criteria.where is not None else 0), found.retexted

    removed, retexted = database.write(work)
    database.term_counts.clear()  # the counts of common terms may have fallen
    embed_again(database, scope, embedder, retexted)
    return removed


@dataclass
class _Found:
    """What a forget deletes (rows ``(seq, id, metadata, absorbed_into)``) and changes: the seqs of
    the memories changed, those among them whose text changed (with the new text), the consolidated
    memories (by id) that lost items."""

    gone: list[Sequence[Any]]
    changed: set[int] = field(default_factory=set)
    retexted: list[tuple[int, str]] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)


def _by_items(cur: Cursor, scope: str, clauses: list[str], params: list[Any], wanted: dict[str, Any]) -> _Found:
    """For ``forget(where=wanted)``: the rows ``(seq, id, metadata, absorbed_into)`` to delete (whose
    own metadata matches and which hold no other item, or a consolidated memory whose metadata
    matches), after removing the matching items from every other memory of ``clauses`` that holds
    them (from a consolidated memory, only the facts stated to it: its episodes' items go with
    them); the memories changed so; and the consolidated memories to rebuild (those changed, and
    those that absorbed a changed episode: ``summarise_again`` takes its items as they are now).
    Only rows whose JSON names every wanted key are parsed (the values are compared in Python, as
    ``==`` compares them: 2 and 2.0, dicts in any key order)."""

    def matches(metadata: Any) -> bool:
        return isinstance(metadata, dict) and all(metadata.get(k) == v for k, v in wanted.items())

    patterns = [store.contains(json.dumps(key) + ": ") for key in wanted]
    held = " AND ".join(store.HOLDS for _ in patterns)
    rows = cur.rows(
        f"SELECT seq, id, metadata, absorbed_into, sources, level, signature, seen, created_at FROM jotty_memory "
        f"WHERE {' AND '.join(clauses)} AND {held}",
        (*params, *(p for p in patterns for _ in range(2))),
    )
    found = _Found([])
    changed, groups = found.changed, found.groups
    for seq, memory_id, metadata, absorbed_into, sources, level, sign, seen, created in rows:
        meta, items = json.loads(metadata), json.loads(sources)
        own, consolidated = matches(meta), store.is_consolidated(level, meta)
        # a consolidated memory's items of its episodes stay while the episode holds them (the
        # criteria may leave that episode out); the facts stated to it are its own
        kept = [
            item
            for item in items
            if not matches(item.get("metadata")) or (consolidated and item.get("id") != memory_id)
        ]
        # a consolidated memory whose own metadata matches goes whole; any other memory whose first
        # item matches keeps its other items (a semantic fact another user stated too stays theirs)
        if own and (not kept or consolidated):
            found.gone.append((seq, memory_id, metadata, absorbed_into))
            continue
        if len(kept) == len(items):
            continue
        # an episode's seen counts its sightings (an entry's count says how often its item was
        # said); a consolidated memory's counts its episodes, which stay
        removed = sum(map(store.sightings_of, items)) - sum(map(store.sightings_of, kept))
        sightings = int(seen) if consolidated else max(int(seen) - removed, len(kept))
        if own:  # its first item goes, its others stay: the next one speaks for the memory, from its time
            first = kept[0]
            times = [moment(item.get("at"), float(created)) for item in kept]
            cur.run(
                "UPDATE jotty_memory SET text = ?, metadata = ?, sources = ?, seen = ?, signature = ?, created_at = ?, "
                "last_seen = ?, embedding = NULL WHERE seq = ?",
                (
                    first["text"],
                    json.dumps(first.get("metadata") or {}),
                    json.dumps(kept),
                    sightings,
                    f"{str(sign).split(':', 1)[0]}:{signature(first['text'])}",
                    times[0],
                    max(times),
                    seq,
                ),
            )
            found.retexted.append((int(seq), str(first["text"])))
        else:
            cur.run("UPDATE jotty_memory SET sources = ?, seen = ? WHERE seq = ?", (json.dumps(kept), sightings, seq))
        changed.add(int(seq))
        if level == "semantic":
            groups.add(str(memory_id))
        if absorbed_into:
            groups.add(str(absorbed_into))
    return found  # the consolidated memories in ``groups`` are rebuilt from what they hold now (summarise_again)


def scope_stats(cur: Cursor, scope: str) -> MemoryStats:
    """The scope's counts per level, absorbed and embedded episodes, time span and embedder."""
    levels = dict.fromkeys(STORED_LEVELS, 0)
    for level, count in cur.rows("SELECT level, COUNT(*) FROM jotty_memory WHERE scope = ? GROUP BY level", (scope,)):
        levels[str(level)] = int(count)
    absorbed, embedded, oldest, newest = cur.rows(
        "SELECT COUNT(absorbed_into), COUNT(embedding), MIN(created_at), MAX(created_at) FROM jotty_memory "
        "WHERE scope = ?",
        (scope,),
    )[0]
    state = store.scope_state(cur, scope)
    return MemoryStats(
        scope=scope,
        levels=levels,
        total=sum(levels.values()),
        absorbed=int(absorbed or 0),
        embedded=int(embedded or 0),
        embedder=state.embedder if state else None,
        dimension=state.dimension if state else None,
        oldest=_moment(oldest),
        newest=_moment(newest),
    )


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)
