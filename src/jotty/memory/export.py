"""``export_memories``: every memory of a scope, in order, as JSON-ready dicts (for backups, review
and ``jotty memory export``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from jotty.memory import store
from jotty.memory.database import Cursor
from jotty.memory.memory import Memory
from jotty.memory.retrieve import hits_of
from jotty.memory.validation import check_levels

PAGE = 500


async def export_memories(memory: Memory, level: str | Sequence[str] | None = "all") -> list[dict[str, Any]]:
    """The scope's memories of ``level`` ("all" by default: every stored level) as dicts, oldest
    first: ``MemoryHit.to_dict()`` without score and why, with ``uses``, ``seen`` and ``salience``."""
    levels = [name for name in check_levels(level) if name != "procedural"]
    if not levels:
        return []

    def read(cur: Cursor) -> list[store.Row]:
        marks = ", ".join("?" * len(levels))
        seqs = [
            int(raw[0])
            for raw in cur.rows(
                f"SELECT seq FROM jotty_memory WHERE scope = ? AND level IN ({marks}) ORDER BY seq",
                (memory.scope, *levels),
            )
        ]
        rows: list[store.Row] = []
        for start in range(0, len(seqs), PAGE):
            found = store.fetch(cur, memory.scope, seqs[start : start + PAGE])
            rows.extend(found[seq] for seq in seqs[start : start + PAGE] if seq in found)
        return rows

    rows = await asyncio.to_thread(lambda: memory.database().read(read))
    out = []
    for hit in hits_of(rows):
        data = hit.to_dict()
        data.pop("score", None)
        data.pop("why", None)
        out.append(data)
    return out
