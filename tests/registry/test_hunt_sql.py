"""An adversarial hunt over the tables a registry reads: a locked SQLite file, columns the registered
schema does not show, huge cells, PostgreSQL views and catalog names, ``table=`` where it means
nothing. Each failed before its fix; refusals leave the registry unchanged."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.registry import DataRegistry, probe


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """``path`` with another connection holding its exclusive lock (a writer in the middle of a commit)."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO t VALUES (2)")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_locked_sqlite_file_is_said_to_be_locked_not_damaged(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "LOCK_WAIT", 0.05)  # 5 s by default
    path = tmp_path / "busy.db"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    await registry.add_file(path, "busy")
    before = await registry.sources()
    with locked(path):
        for call in (registry.add_file(path, "other"), registry.add_table("t", path, "busy/t")):
            with pytest.raises(ValidationError, match=r"is locked by another program.*try again when it is done"):
                await call  # said: "a damaged SQLite database (database is locked): repair it"
        with pytest.raises(ValidationError, match=r"is locked by another program.*try again when it is done"):
            await registry.read("busy", table="t")
    assert await registry.sources() == before
    assert (await registry.read("busy", table="t")).rows == [{"a": 1}]
