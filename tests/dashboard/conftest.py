"""Dashboard tests run on SQLite and PostgreSQL stores (``backend``) written by real runs; ``client``
is the app behind Starlette's test client (the lifespan opens the read-only reader)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from jotty.dashboard import create_app
from tests.runs.backends import KINDS, Backend, open_backend


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> str:
    return backend.store


def client_for(store: str, token: str | None = None, base_url: str = "http://127.0.0.1") -> TestClient:
    """A test client of the dashboard on ``store`` (use it as a context manager)."""
    return TestClient(create_app(store, token=token), base_url=base_url)
