"""Fixtures for the learning tests: a fresh SQLite store file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.learning import Router


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "jotty.db"


@pytest.fixture
def router(store_path: Path) -> Iterator[Router]:
    with Router(["coder", "reviewer", "writer"], store=store_path) as r:
        yield r
