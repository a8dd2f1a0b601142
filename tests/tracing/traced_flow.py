"""A small flow run in its own process for the export tests: ``python traced_flow.py``.

Tracing is whatever the environment says (``JOTTY_OTEL``, ``OTEL_*``).
"""

from __future__ import annotations

import asyncio

from jotty.agents import FunctionAgent
from jotty.patterns import Chain


async def main() -> None:
    flow = Chain([FunctionAgent(lambda x: x + "!", name="shout"), FunctionAgent(str.upper, name="upper")], name="notes")
    result = await flow.run("hi")
    print(result.status, result.output)


if __name__ == "__main__":
    asyncio.run(main())
