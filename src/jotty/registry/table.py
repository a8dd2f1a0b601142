"""The ``jotty_registry`` table's statements (``?`` placeholders; SQLite and PostgreSQL), each run on a
memory ``Cursor`` inside the caller's unit of work. Each registry's rows are those of its ``scope``
(the memory scope of its index): a name is unique within a scope, and no statement reads or writes
another scope's rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jotty.memory.database import Cursor
from jotty.registry.records import Source

COLUMNS = (
    "name, kind, format, location, source_table, description, described_by, schema, tags, owner, size, stats, "
    "run_id, step, value, created_at, updated_at, link"
)
_UPSERT = (
    f"INSERT INTO jotty_registry ({COLUMNS}, memory_id, scope) VALUES ({', '.join('?' * 20)}) "
    "ON CONFLICT (scope, name) DO UPDATE SET kind = excluded.kind, format = excluded.format, "
    "location = excluded.location, source_table = excluded.source_table, description = excluded.description, "
    "described_by = excluded.described_by, schema = excluded.schema, tags = excluded.tags, "
    "owner = excluded.owner, size = excluded.size, stats = excluded.stats, run_id = excluded.run_id, "
    "step = excluded.step, value = excluded.value, memory_id = excluded.memory_id, "
    "updated_at = excluded.updated_at, link = excluded.link"
)


def to_source(raw: Sequence[Any]) -> Source:
    """A row of ``SELECT {COLUMNS}`` as a ``Source``."""
    return Source(
        name=raw[0],
        kind=raw[1],
        format=raw[2],
        location=raw[3],
        table=raw[4],
        description=raw[5],
        described_by=raw[6],
        schema=json.loads(raw[7]),
        tags=json.loads(raw[8]),
        owner=raw[9],
        size=None if raw[10] is None else int(raw[10]),
        stats=json.loads(raw[11]),
        run_id=raw[12],
        step=raw[13],
        value=None if raw[14] is None else json.loads(raw[14]),
        created_at=float(raw[15]),
        updated_at=float(raw[16]),
        link=raw[17],
    )


def lock(cur: Cursor) -> None:
    """Make this transaction the only registry writer until it ends (PostgreSQL; SQLite's writers
    already are one at a time). Without it, a writer that read a row's index entry before another
    writer of the same name committed replaced that row without removing the other's entry."""
    cur.rows("SELECT pg_advisory_xact_lock(hashtext('jotty-registry:' || current_schema()))")  # a store per schema


def upsert(cur: Cursor, scope: str, source: Source, memory_id: str | None) -> str | None:
    """Insert or replace ``source`` (keeping its first ``created_at``); the memory id it had before."""
    old = cur.rows("SELECT memory_id FROM jotty_registry WHERE scope = ? AND name = ?", (scope, source.name))
    cur.run(
        _UPSERT,
        (
            source.name,
            source.kind,
            source.format,
            source.location,
            source.table,
            source.description,
            source.described_by,
            json.dumps(source.schema),
            json.dumps(source.tags),
            source.owner,
            source.size,
            json.dumps(source.stats, default=str),
            source.run_id,
            source.step,
            None if source.value is None else json.dumps(source.value, default=str),
            source.created_at,
            source.updated_at,
            source.link,
            memory_id,
            scope,
        ),
    )
    return old[0][0] if old else None


def get(cur: Cursor, scope: str, names: Sequence[str]) -> dict[str, tuple[Source, str | None]]:
    """Sources by name, each with the id of the memory that indexes it."""
    found: dict[str, tuple[Source, str | None]] = {}
    for start in range(0, len(names), 500):
        chunk = list(names[start : start + 500])
        wanted = ", ".join("?" * len(chunk))
        rows = cur.rows(
            f"SELECT {COLUMNS}, memory_id FROM jotty_registry WHERE scope = ? AND name IN ({wanted})", [scope, *chunk]
        )
        found.update((raw[0], (to_source(raw), raw[18])) for raw in rows)
    return found


def listing(cur: Cursor, scope: str, kind: str | None = None, limit: int = 10_000) -> list[Source]:
    """Sources in name order (of one kind if given)."""
    if kind is None:
        rows = cur.rows(f"SELECT {COLUMNS} FROM jotty_registry WHERE scope = ? ORDER BY name LIMIT ?", (scope, limit))
    else:
        rows = cur.rows(
            f"SELECT {COLUMNS} FROM jotty_registry WHERE scope = ? AND kind = ? ORDER BY name LIMIT ?",
            (scope, kind, limit),
        )
    return [to_source(raw) for raw in rows]


def delete(cur: Cursor, scope: str, name: str) -> tuple[bool, str | None]:
    """Remove a source: whether it was registered, and the id of the memory that indexed it."""
    rows = cur.rows("DELETE FROM jotty_registry WHERE scope = ? AND name = ? RETURNING memory_id", (scope, name))
    return (True, rows[0][0]) if rows else (False, None)
