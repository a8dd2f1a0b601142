"""Runs the test chain durably in its own process: ``python -m tests.context.worker STORE LEVEL RUN_ID``."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.context.flows import Seen, flows, policy


async def main(store: str, level: str, run_id: str) -> None:
    seen = Seen()
    result = await flows(seen)["chain"].run("go", store=store, run_id=run_id, level=level, policy=policy(seen))
    print(json.dumps({"status": str(result.status), "loads": seen.loads}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
