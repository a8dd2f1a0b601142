"""Sweeping the registry's index: entries no row points at go, rows whose entry is gone are indexed
again.

A registration writes its index entries first and its rows after (``DataRegistry._register``), so a
crash in between leaves entries no row points at: ``orphans`` finds them. An entry written by a
registration still under way in another process looks the same until its rows commit, so only
entries stored more than ``GRACE`` seconds ago are swept, and a registration checks, inside its
rows' transaction, that its entries are still there (``held``; on PostgreSQL it also locks them
until it commits, so a sweep's delete waits for it), and indexes its sources again if a sweep took
them (it waited past the grace). A sweep that read an entry as orphaned just before a registration
committed its row may still forget that entry: its rows then point at nothing, which ``dangling``
finds right after the forget (and any later sweep finds too), and those rows are indexed again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jotty.errors import ValidationError
from jotty.memory.database import Cursor
from jotty.registry import table as rows
from jotty.registry.records import Source

if TYPE_CHECKING:
    from jotty.registry.registry import DataRegistry

GRACE = 600.0
"""Seconds an index entry must have been stored before a sweep may take it for an orphan: far
longer than a registration takes between writing its entries and committing its rows."""
LIMIT = 500
"""The most entries a sweep forgets, and the most rows it indexes again, in one call."""
OWN_SCOPE = "registry"
"""The default registry's scope, which no one else writes to: an entry there that names a source is
the registry's, marked or not (entries written before ``entry`` marked them)."""


def entry(name: str) -> dict[str, Any]:
    """The metadata of the index entry of the source ``name``: the name, and a mark saying it is the
    registry's own (a scope may also be an agent's memory, whose metadata may name a "source")."""
    return {"source": name, "registry": True}


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did: how many orphaned index entries it forgot, and the sources whose entry was
    gone that it indexed again."""

    forgotten: int = 0
    reindexed: list[str] = field(default_factory=list)


class Swept(Exception):
    """A registration's index entries were swept before its rows committed: index them again."""


async def sweep_index(registry: DataRegistry, grace: float = GRACE, limit: int = LIMIT) -> SweepReport:
    """``DataRegistry.sweep``: forget up to ``limit`` orphaned entries stored over ``grace`` seconds
    ago, then index again up to ``limit`` rows whose entry is gone (among them any whose entry this
    sweep forgot as its row committed)."""
    grace, limit = check_grace(grace), check_limit(limit)
    index, database = registry.index, registry.index.database()
    found = await asyncio.to_thread(
        database.read, functools.partial(orphans, scope=index.scope, before=time.time() - grace, limit=limit)
    )
    forgotten = await index.forget(found) if found else 0
    lost = await asyncio.to_thread(database.read, functools.partial(dangling, scope=index.scope, limit=limit))
    if not lost:
        return SweepReport(forgotten)
    names = sorted(lost)
    ids = await index.remember_many([{"text": lost[n][0].document(), "metadata": entry(n)} for n in names])
    postgres = database.dialect == "postgres"

    def write(cur: Cursor) -> list[str]:
        if postgres:
            rows.lock(cur)
        held(cur, ids, postgres)
        return [n for n, i in zip(names, ids, strict=True) if i and repoint(cur, index.scope, n, lost[n][1], i)]

    try:
        done = await asyncio.to_thread(database.write, write)
    except Swept:  # another sweep, with a grace shorter than this took: the next sweep tries again
        done = []
    unused = [i for n, i in zip(names, ids, strict=True) if i and n not in done]
    if unused:
        await index.forget(unused)
    return SweepReport(forgotten, done)


def check_grace(grace: object) -> float:
    """Seconds, 0 or more."""
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not math.isfinite(grace) or grace < 0:
        raise ValidationError(f"grace is a number of seconds, 0 or more, got {grace!r}")
    return float(grace)


def check_limit(limit: object) -> int:
    """How many entries a sweep may take: 1 to 100,000."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        raise ValidationError(f"limit must be a whole number from 1 to 100000, got {limit!r}")
    return limit


def orphans(cur: Cursor, scope: str, before: float, limit: int = LIMIT) -> list[str]:
    """Up to ``limit`` ids of the scope's index entries stored before ``before`` that name a source
    (``metadata.source``) and that no row of the scope points at (no row of that name, or one
    pointing at another entry). Outside ``OWN_SCOPE`` only entries marked as the registry's (``entry``)
    count: a scope shared with an agent's memory keeps the memories."""
    live = {
        str(r[0])
        for r in cur.rows("SELECT memory_id FROM jotty_registry WHERE scope = ? AND memory_id IS NOT NULL", (scope,))
    }
    found: list[str] = []
    entries = cur.rows(
        "SELECT id, metadata FROM jotty_memory WHERE scope = ? AND stored_at < ? ORDER BY seq", (scope, before)
    )
    for memory_id, metadata in entries:
        meta = _parsed(metadata)
        if str(memory_id) in live or "source" not in meta or (scope != OWN_SCOPE and meta.get("registry") is not True):
            continue
        found.append(str(memory_id))
        if len(found) >= limit:
            break
    return found


def dangling(cur: Cursor, scope: str, limit: int = LIMIT) -> dict[str, tuple[Source, str | None]]:
    """Up to ``limit`` rows of the registry ``scope`` whose index entry is gone (no memory of the
    scope has their id), by name, with the id they hold."""
    names = cur.rows(
        "SELECT r.name FROM jotty_registry r LEFT JOIN jotty_memory m ON m.id = r.memory_id AND m.scope = r.scope "
        "WHERE r.scope = ? AND m.id IS NULL ORDER BY r.name LIMIT ?",
        (scope, limit),
    )
    return rows.get(cur, scope, [str(r[0]) for r in names])


def repoint(cur: Cursor, scope: str, name: str, was: str | None, memory_id: str) -> bool:
    """Point the row ``name`` of the registry ``scope`` at ``memory_id`` if it still points at ``was``
    (no registration changed it meanwhile); whether it did."""
    if was is None:
        changed = cur.run(
            "UPDATE jotty_registry SET memory_id = ? WHERE scope = ? AND name = ? AND memory_id IS NULL",
            (memory_id, scope, name),
        )
    else:
        changed = cur.run(
            "UPDATE jotty_registry SET memory_id = ? WHERE scope = ? AND name = ? AND memory_id = ?",
            (memory_id, scope, name, was),
        )
    return changed > 0


def held(cur: Cursor, ids: Sequence[str | None], postgres: bool) -> None:
    """Inside a registration's rows transaction: raise ``Swept`` if any of its index entries ``ids``
    is gone. On PostgreSQL the entries are locked (``FOR SHARE``) until the transaction ends, so a
    sweep's delete of them waits for the rows to commit (and the sweep then sees the rows)."""
    wanted = sorted({i for i in ids if i})
    lock = " FOR SHARE" if postgres else ""
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        there = cur.rows(f"SELECT id FROM jotty_memory WHERE id IN ({', '.join('?' * len(chunk))}){lock}", chunk)
        if len(there) < len(chunk):
            raise Swept


def _parsed(metadata: Any) -> dict[str, Any]:
    if isinstance(metadata, dict):
        return metadata
    try:
        value = json.loads(metadata)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
