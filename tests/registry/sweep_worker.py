"""A registry worker process for the sweep's multi-process tests; each step it waits at is announced
by touching a marker file and ends when a "go" file appears.

``python -m tests.registry.sweep_worker stall STORE NAME MARKER GO``: registers the run output NAME,
stopping after its index entry is written and before its row (where a crash leaves an orphan);
prints ``ok``.
``python -m tests.registry.sweep_worker sweep STORE GRACE MARKER GO``: sweeps, stopping after it has
chosen the orphans and before it forgets them; prints the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jotty.registry import DataRegistry
from tests.registry.worker import words


async def wait(marker: str, go: str) -> None:
    Path(marker).touch()
    while not Path(go).exists():
        await asyncio.sleep(0.02)


async def stall(store: str, name: str, marker: str, go: str) -> None:
    async with DataRegistry(store) as registry:
        remember_many = registry.index.remember_many
        first = True

        async def stalled(items: Any) -> Any:
            nonlocal first
            ids = await remember_many(items)
            if first:
                first = False
                await wait(marker, go)
            return ids

        registry.index.remember_many = stalled  # type: ignore[method-assign]
        await registry.add_artifact(name, {"name": name}, description=words(name, 3), run_id=name)
    print("ok", flush=True)


async def sweep(store: str, grace: float, marker: str, go: str) -> None:
    async with DataRegistry(store) as registry:
        forget = registry.index.forget
        first = True

        async def stalled(*args: Any, **kwargs: Any) -> int:
            nonlocal first
            if first:
                first = False
                await wait(marker, go)
            return await forget(*args, **kwargs)

        registry.index.forget = stalled  # type: ignore[method-assign]
        report = await registry.sweep(grace=grace)
    print(json.dumps(asdict(report)), flush=True)


if __name__ == "__main__":
    command, store, *rest = sys.argv[1:]
    if command == "stall":
        asyncio.run(stall(store, *rest))
    else:
        asyncio.run(sweep(store, float(rest[0]), rest[1], rest[2]))
