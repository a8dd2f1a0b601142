"""Worker processes for tests/memory/test_races.py.

``churn STORE SECONDS MODE``: until killed (or SECONDS pass), remember a batch into scope ``a`` and
forget everything; MODE ``cross`` does the same in scope ``b`` too, with texts marked SECRET.
``twin STORE SECONDS``: remember a near-duplicate of ``TWIN`` into ``a``, forget it, then the same
into ``b`` and forget it (on SQLite the seqs a forget frees are taken again by the other scope).
``consolidate_paused STORE SCOPE MARKER PAUSE``: consolidate; after the first group's check that its
episodes are still free, write the group's seqs to MARKER and sleep PAUSE seconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from jotty.memory import Memory

TWIN = "the harbour lighthouse keeper Alice painted the big wooden door bright teal on monday morning"


async def churn(store: str, seconds: float, mode: str) -> None:
    async with Memory(store, scope="a") as a:
        b = a.scoped("b")
        end, n = time.monotonic() + seconds, 0
        print("started", flush=True)
        while time.monotonic() < end:
            await a.remember_many([f"Alice visited lighthouse number {n}-{i} near harbour" for i in range(10)])
            await a.forget(everything=True)
            if mode == "cross":
                await b.remember_many([f"SECRET Alice lighthouse harbour code {n}-{i}" for i in range(10)])
                await b.forget(everything=True)
            n += 1


async def twin(store: str, seconds: float) -> None:
    async with Memory(store, scope="a") as a:
        b = a.scoped("b")
        end = time.monotonic() + seconds
        print("started", flush=True)
        while time.monotonic() < end:
            await a.remember(TWIN + " again")
            await a.forget(everything=True)
            await b.remember(TWIN + " too")
            await b.forget(everything=True)


async def consolidate_paused(store: str, scope: str, marker: str, pause: float) -> None:
    from jotty.memory import database as memory_database
    from jotty.memory import postgres as memory_postgres
    from jotty.memory.consolidate import MEMBERS

    for cls in (memory_database._SQLiteCursor, memory_postgres._PostgresCursor):
        original = cls.rows

        def rows(self: Any, statement: str, params: Any = (), _original: Any = original) -> Any:
            found = _original(self, statement, params)
            if statement.startswith(MEMBERS) and not Path(marker).exists():
                Path(marker).write_text(json.dumps(list(params)[:-1]))  # the group's seqs (the scope last)
                time.sleep(pause)
            return found

        cls.rows = rows  # type: ignore[method-assign]
    async with Memory(store, scope=scope) as memory:
        report = await memory.consolidate(max_episodes=100, lease_seconds=60.0)
    print("ok", report.clusters, flush=True)


if __name__ == "__main__":
    command, where, *rest = sys.argv[1:]
    if command == "churn":
        asyncio.run(churn(where, float(rest[0]), rest[1]))
    elif command == "twin":
        asyncio.run(twin(where, float(rest[0])))
    else:
        asyncio.run(consolidate_paused(where, rest[0], rest[1], float(rest[2])))
