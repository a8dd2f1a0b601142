"""Fixtures for the orchestration tests: a fresh store per test, the real OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.openai_server import openai_server

__all__ = ["openai_server"]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The test's store file: learning (and, where a test wants it, the queue) live here."""
    return tmp_path / "jotty.db"
