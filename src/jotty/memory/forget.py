"""Forgetting (the only way anything leaves memory) and a scope's counts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jotty.memory import store
from jotty.memory.cluster import Episode, extractive_summary, group_metadata
from jotty.memory.database import Cursor, Database
from jotty.memory.records import STORED_LEVELS, MemoryStats
from jotty.memory.text import signature
from jotty.memory.vectors import to_blob


@dataclass(frozen=True)
class Criteria:
    """Which memories to forget: every given criterion must hold."""

    ids: list[str] | None = None
    where: Mapping[str, Any] | None = None
    level: str | None = None
    before: float | None = None

    @property
    def empty(self) -> bool:
        """True when no criterion is given (everything matches)."""
        return self.ids is None and self.where is None and self.level is None and self.before is None


def forget(database: Database, scope: str, criteria: Criteria, embed: Callable[[list[str]], Any] | None = None) -> int:
    """Delete the scope's memories matching ``criteria`` in one transaction; how many memories were
    deleted (with ``where``: deleted or changed).

    The provenance entries of deleted items are removed from the memories that absorbed them. With
    ``where``, the items a memory holds (its ``sources``) are matched one by one: matching items
    leave every memory that holds them, a memory left without items is deleted, and an episode whose
    first item goes while others stay takes the next item's text and metadata. A consolidated memory
    that loses items is summarised again (extractively) from the items it still holds, or deleted
    when none is left, so that no forgotten words stay in its text. A memory whose text changes gets
    the vector of its new text from ``embed`` (unit vectors of texts), or none without it.
    """

    def work(cur: Cursor) -> int:
        # The scope's row first, as every writer of the scope takes it: on PostgreSQL, reading the rows
        # (and what absorbed them) before it would miss a consolidation committed in between, and a
        # recall-count flush could deadlock with this forget or add a count for a memory it deletes.
        store.lock_scope(cur, scope)
        clauses, params = ["scope = ?"], [scope]
        if criteria.level is not None:
            clauses.append("level = ?")
            params.append(criteria.level)
        if criteria.before is not None:
            clauses.append("created_at < ?")
            params.append(criteria.before)  # type: ignore[arg-type]
        if criteria.ids is not None:
            if not criteria.ids:
                return 0
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
            return 0
        store.purge(cur, scope)  # rows deleted or texts changed: every process's cache reloads the scope
        gone = {str(r[1]) for r in found.gone}
        found.groups.update(str(r[3]) for r in found.gone if r[3])
        _delete(cur, [int(r[0]) for r in found.gone])
        emptied = _summarise_again(cur, scope, found.groups - gone, embed, found)
        gone.update(emptied)
        _embed_again(cur, found.retexted, embed)
        if gone:
            cur.run(
                f"UPDATE jotty_memory SET absorbed_into = NULL WHERE scope = ? AND absorbed_into IN "
                f"({', '.join('?' * len(gone))})",
                (scope, *sorted(gone)),
            )
        return len(gone) + (len(found.changed) if criteria.where is not None else 0)

    removed = database.write(work)
    database.term_counts.clear()  # the counts of common terms may have fallen
    return removed


@dataclass
class _Found:
    """What a forget deletes (rows ``(seq, id, metadata, absorbed_into)``) and changes: the seqs of
    the memories changed, the episodes among them whose text changed, the consolidated memories (by
    id) that lost items."""

    gone: list[Sequence[Any]]
    changed: set[int] = field(default_factory=set)
    retexted: list[tuple[int, str]] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    forgotten: Callable[[Any], bool] = lambda metadata: False
    """Whether an item of this metadata is forgotten (with ``where``), wherever it is held."""


def _delete(cur: Cursor, seqs: list[int]) -> None:
    for start in range(0, len(seqs), 500):
        chunk = sorted(seqs)[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        cur.run(f"DELETE FROM jotty_memory_uses WHERE seq IN ({marks})", chunk)
        cur.run(f"DELETE FROM jotty_memory WHERE seq IN ({marks})", chunk)


def _summarise_again(
    cur: Cursor,
    scope: str,
    groups: set[str],
    embed: Callable[[list[str]], Any] | None,
    found: _Found,
) -> list[str]:
    """Each consolidated memory of ``groups`` rebuilt as consolidation would build it from the
    episodes it still absorbs, each with its items that ``found.forgotten`` does not match (an
    episode left without items is left out): an extractive summary of each one's first item, their
    sources, metadata, count and time, a new vector. Deletes those left without episodes and returns
    their ids; adds the seqs of those rebuilt to ``found.changed``."""
    emptied: list[str] = []
    for group in store.fetch_ids(cur, scope, sorted(groups)):
        episodes = group.metadata.get("episodes")
        if group.level != "semantic" or group.metadata.get("kind") != "consolidated" or not isinstance(episodes, list):
            continue  # a semantic memory remembered directly: its items were handled as an episode's
        members = []
        for row in store.fetch_ids(cur, scope, [str(i) for i in episodes]):
            items = [item for item in row.sources if not found.forgotten(item.get("metadata"))]
            if row.absorbed_into == group.id and items:
                first = items[0]
                members.append(Episode(row.seq, row.id, first["text"], row.created_at, row.salience, {}, items))
        if not members:
            emptied.append(group.id)
            _delete(cur, [group.seq])
            found.changed.discard(group.seq)
            continue
        members.sort(key=lambda member: member.created_at)
        text = extractive_summary(members)
        metadata = {**group.metadata, **group_metadata(members, "extractive")}
        sources = store.merge_sources([], [item for member in members for item in member.sources])
        latest = members[-1].created_at
        cur.run(
            "UPDATE jotty_memory SET text = ?, metadata = ?, sources = ?, seen = ?, created_at = ?, last_seen = ?, "
            "embedding = ? WHERE seq = ?",
            (
                text,
                json.dumps(metadata),
                json.dumps(sources),
                len(members),
                latest,
                latest,
                _vector(embed, text),
                group.seq,
            ),
        )
        found.changed.add(group.seq)
    return emptied


def _embed_again(cur: Cursor, retexted: list[tuple[int, str]], embed: Callable[[list[str]], Any] | None) -> None:
    """The vectors of the episodes whose text changed: of their new texts (none without ``embed``)."""
    for seq, text in retexted:
        cur.run("UPDATE jotty_memory SET embedding = ? WHERE seq = ?", (_vector(embed, text), seq))


def _vector(embed: Callable[[list[str]], Any] | None, text: str) -> bytes | None:
    return to_blob(embed([text])[0]) if embed is not None else None


def _by_items(cur: Cursor, scope: str, clauses: list[str], params: list[Any], wanted: dict[str, Any]) -> _Found:
    """For ``forget(where=wanted)``: the rows ``(seq, id, metadata, absorbed_into)`` to delete (whose
    own metadata matches and which hold no other item, or a consolidated memory whose metadata
    matches), after removing the matching items from every other memory that holds them (and from
    the consolidated memory that absorbed a changed episode); and the memories changed so.
    Only rows whose JSON names every wanted key are parsed (the values are compared in Python, as
    ``==`` compares them: 2 and 2.0, dicts in any key order)."""

    def matches(metadata: Any) -> bool:
        return isinstance(metadata, dict) and all(metadata.get(k) == v for k, v in wanted.items())

    keys = [json.dumps(key) + ": " for key in wanted]
    escaped = [k.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for k in keys]
    held = " AND ".join("(metadata LIKE ? ESCAPE '\\' OR sources LIKE ? ESCAPE '\\')" for _ in escaped)
    rows = cur.rows(
        f"SELECT seq, id, metadata, absorbed_into, sources, level, signature, seen FROM jotty_memory "
        f"WHERE {' AND '.join(clauses)} AND {held}",
        (*params, *(f"%{k}%" for k in escaped for _ in range(2))),
    )
    found = _Found([], forgotten=matches)
    changed, holders = found.changed, found.groups
    for seq, memory_id, metadata, absorbed_into, sources, level, sign, seen in rows:
        own, items = matches(json.loads(metadata)), json.loads(sources)
        kept = [item for item in items if not matches(item.get("metadata"))]
        if own and (not kept or level == "semantic"):
            found.gone.append((seq, memory_id, metadata, absorbed_into))
            continue
        if len(kept) == len(items):
            continue
        # an episode's seen counts its sightings (one source entry may stand for several); a
        # consolidated memory's counts its episodes, which stay
        sightings = int(seen) if level == "semantic" else max(int(seen) - (len(items) - len(kept)), len(kept))
        if own:  # its first item goes, its others stay: the next one speaks for the memory
            first = kept[0]
            cur.run(
                "UPDATE jotty_memory SET text = ?, metadata = ?, sources = ?, seen = ?, signature = ? WHERE seq = ?",
                (
                    first["text"],
                    json.dumps(first.get("metadata") or {}),
                    json.dumps(kept),
                    sightings,
                    f"{str(sign).split(':', 1)[0]}:{signature(first['text'])}",
                    seq,
                ),
            )
            found.retexted.append((int(seq), str(first["text"])))
        else:
            cur.run("UPDATE jotty_memory SET sources = ?, seen = ? WHERE seq = ?", (json.dumps(kept), sightings, seq))
        changed.add(int(seq))
        if level == "semantic":
            holders.add(str(memory_id))
        if absorbed_into:
            holders.add(str(absorbed_into))
    for holder in store.fetch_ids(cur, scope, sorted(holders)):  # not among the rows read (level=, ids)
        kept = [item for item in holder.sources if not matches(item.get("metadata"))]
        if holder.seq not in changed and len(kept) < len(holder.sources):
            cur.run("UPDATE jotty_memory SET sources = ? WHERE seq = ?", (json.dumps(kept), holder.seq))
            changed.add(holder.seq)
    return found


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
