"""Fixtures for the learning tests: a fresh store per test, on SQLite (``store_path``) or on every
backend (``store``: an SQLite file, then a PostgreSQL schema of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.learning import Router
from tests.runs.backends import KINDS, open_backend


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "jotty.db"


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store's path or URL, as ``Router(store=...)`` takes it."""
    with open_backend(request.param, tmp_path) as backend:
        yield backend.store


@pytest.fixture
def router(store: str) -> Iterator[Router]:
    with Router(["coder", "reviewer", "writer"], store=store) as r:
        yield r
