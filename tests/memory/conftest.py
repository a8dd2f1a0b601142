"""Every memory test that takes ``backend`` or ``store`` runs on SQLite and on PostgreSQL (a schema of
its own per test). ``memory`` is a ``Memory`` on that store with the default offline embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jotty.memory import Memory
from tests.runs.backends import KINDS, Backend, open_backend


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> str:
    """The store path or URL to pass as ``store=``."""
    return backend.store


@pytest.fixture
async def memory(store: str) -> AsyncIterator[Memory]:
    mem = Memory(store, scope="test")
    try:
        yield mem
    finally:
        await mem.close()
