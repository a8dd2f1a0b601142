"""A registry worker process for the hunt's multi-process tests (a lexical index: no model to load).

``python -m tests.registry.hunt_worker scan STORE FOLDER NAME``: scans FOLDER as NAME once; prints ``ok``.
``python -m tests.registry.hunt_worker rescan STORE FOLDER NAME MARKER``: scans FOLDER as NAME over and
over, touching MARKER after each scan, until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from jotty.registry import DataRegistry


async def scan(store: str, folder: str, name: str, marker: str | None = None) -> None:
    async with DataRegistry(store, embedder=False) as registry:
        while True:
            report = await registry.scan(folder, name=name)
            assert not report.problems, report.problems
            if marker is None:
                print("ok", flush=True)
                return
            Path(marker).touch()


if __name__ == "__main__":
    command, store, folder, name, *rest = sys.argv[1:]
    asyncio.run(scan(store, folder, name, rest[0] if command == "rescan" else None))
