"""Forgetting (the only way anything leaves memory) and a scope's counts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jotty.memory import store
from jotty.memory.database import Cursor, Database
from jotty.memory.records import STORED_LEVELS, MemoryStats
from jotty.memory.text import signature


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


def forget(database: Database, scope: str, criteria: Criteria) -> int:
    """Delete the scope's memories matching ``criteria`` in one transaction; how many memories were
    deleted or changed.

    The provenance entries of deleted items are removed from the memories that absorbed them. With
    ``where``, the items a memory holds (its ``sources``) are matched one by one: matching items
    leave every memory that holds them, a memory left without items is deleted, and an episode whose
    first item goes while others stay takes the next item's text and metadata (its vector, a
    near-duplicate's, stays).
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
        changed = 0
        if criteria.where is not None:
            rows, changed = _by_items(cur, scope, clauses, params, dict(criteria.where))
        else:
            rows = cur.rows(
                f"SELECT seq, id, metadata, absorbed_into FROM jotty_memory WHERE {' AND '.join(clauses)}", params
            )
        if rows or changed:  # rows deleted or texts changed: every process's cache reloads the scope
            store.purge(cur, scope)
        if not rows:
            return changed
        gone = {r[1] for r in rows}
        holders = {r[3] for r in rows if r[3] and r[3] not in gone}
        for holder in store.fetch_ids(cur, scope, sorted(holders)):
            kept = [s for s in holder.sources if s.get("id") not in gone]
            cur.run("UPDATE jotty_memory SET sources = ? WHERE seq = ?", (json.dumps(kept), holder.seq))
        seqs = sorted(int(r[0]) for r in rows)
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            cur.run(f"DELETE FROM jotty_memory_uses WHERE seq IN ({marks})", chunk)
            cur.run(f"DELETE FROM jotty_memory WHERE seq IN ({marks})", chunk)
        cur.run(
            f"UPDATE jotty_memory SET absorbed_into = NULL WHERE scope = ? AND absorbed_into IN "
            f"({', '.join('?' * len(gone))})",
            (scope, *sorted(gone)),
        )
        return len(seqs) + changed

    removed = database.write(work)
    database.term_counts.clear()  # the counts of common terms may have fallen
    return removed


def _by_items(
    cur: Cursor, scope: str, clauses: list[str], params: list[Any], wanted: dict[str, Any]
) -> tuple[list[Sequence[Any]], int]:
    """For ``forget(where=wanted)``: the rows ``(seq, id, metadata, absorbed_into)`` to delete (whose
    own metadata matches and which hold no other item, or a consolidated memory whose metadata
    matches), after removing the matching items from every other memory that holds them (and from
    the consolidated memory that absorbed a changed episode); and how many memories were changed so.
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
    gone: list[Sequence[Any]] = []
    changed: set[int] = set()
    holders: set[str] = set()
    for seq, memory_id, metadata, absorbed_into, sources, level, sign, seen in rows:
        own, items = matches(json.loads(metadata)), json.loads(sources)
        kept = [item for item in items if not matches(item.get("metadata"))]
        if own and (not kept or level == "semantic"):
            gone.append((seq, memory_id, metadata, absorbed_into))
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
        else:
            cur.run("UPDATE jotty_memory SET sources = ?, seen = ? WHERE seq = ?", (json.dumps(kept), sightings, seq))
        changed.add(int(seq))
        if absorbed_into:
            holders.add(str(absorbed_into))
    for holder in store.fetch_ids(cur, scope, sorted(holders)):  # not among the rows read (level=, ids)
        kept = [item for item in holder.sources if not matches(item.get("metadata"))]
        if holder.seq not in changed and len(kept) < len(holder.sources):
            cur.run("UPDATE jotty_memory SET sources = ? WHERE seq = ?", (json.dumps(kept), holder.seq))
            changed.add(holder.seq)
    return gone, len(changed)


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
