from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "jotty.db"


from tests.support.openai_server import openai_server  # noqa: E402

__all__ = ["openai_server"]
