"""Helpers for the ``jotty`` command's tests: run it in-process on a store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from jotty.cli.main import app

Jotty = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture
def jotty(db: Path, monkeypatch: pytest.MonkeyPatch) -> Jotty:
    """``jotty(*args)`` runs the command with ``--db`` set to this test's store."""
    monkeypatch.delenv("JOTTY_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, db_path: Path | None = db) -> Result:
        extra = ["--db", str(db_path)] if db_path is not None else []
        return runner.invoke(app, [*args, *extra])

    return invoke
