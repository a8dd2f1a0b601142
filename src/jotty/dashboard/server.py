"""Serving the dashboard with uvicorn: checks first (the token off loopback, the store), then serve."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jotty.dashboard.app import create_app
from jotty.dashboard.reader import open_reader
from jotty.dashboard.security import resolve_token

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321


async def serve(
    store: str | Path | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None
) -> None:
    """Serve the dashboard on ``host:port`` until interrupted. ``ValidationError`` for a non-loopback
    ``host`` without a token; ``StoreError`` for a store that cannot be read."""
    import uvicorn

    required = resolve_token(host, token)
    reader = await open_reader(store)
    try:
        app = create_app(token=required, reader=reader)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        await uvicorn.Server(config).serve()
    finally:
        await reader.close()


def run_blocking(store: str | Path | None, host: str, port: int, token: str | None) -> None:
    """``serve`` from synchronous code (the CLI)."""
    asyncio.run(serve(store, host=host, port=port, token=token))
