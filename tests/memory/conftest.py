"""Every memory test that takes ``backend`` or ``store`` runs on SQLite and on PostgreSQL (a schema of
its own per test). ``memory`` is a ``Memory`` on that store with the default offline embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jotty.memory import Memory
from tests.runs.backends import backend, store  # noqa: F401 (fixtures)


@pytest.fixture
async def memory(store: str) -> AsyncIterator[Memory]:  # noqa: F811 (the fixture named store)
    mem = Memory(store, scope="test")
    try:
        yield mem
    finally:
        await mem.close()
