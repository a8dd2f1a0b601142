"""``open_queue``: which backend a store path or URL opens."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import JottyError, ValidationError
from jotty.queue import SQLiteTaskQueue, open_queue


async def test_paths_open_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOTTY_DATABASE_URL", raising=False)
    for store in (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite:///{tmp_path / 'c.db'}"):
        queue = open_queue(store, lease_seconds=7)
        assert isinstance(queue, SQLiteTaskQueue) and queue.lease_seconds == 7
        await queue.close()
    monkeypatch.setenv("JOTTY_HOME", str(tmp_path / "home"))
    queue = open_queue()
    assert isinstance(queue, SQLiteTaskQueue) and queue.db_path == tmp_path / "home" / "jotty.db"
    await queue.close()


class Recorder:
    def __init__(self, url: str, **options: Any) -> None:
        self.url, self.options = url, options


@pytest.mark.parametrize(
    ("url", "module", "name"),
    [
        ("postgresql://u@h/db", "jotty.queue.postgres", "PostgresTaskQueue"),
        ("redis://h:6379/0", "jotty.queue.redis_backend", "RedisTaskQueue"),
    ],
)
def test_server_urls_open_their_backend(url: str, module: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module(module), name, Recorder)
    queue: Any = open_queue(url, lease_seconds=5)
    assert isinstance(queue, Recorder) and queue.url == url and queue.options == {"lease_seconds": 5}


@pytest.mark.parametrize(
    ("url", "module", "driver", "extra"),
    [
        ("postgres://h/db", "jotty.queue.postgres", "psycopg", "postgres"),
        ("redis://h", "jotty.queue.redis_backend", "redis", "redis"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    url: str, module: str, driver: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, driver, None)  # as if the driver were not installed
    with pytest.raises(JottyError, match=rf"pip install 'jotty\[{extra}\]'"):
        open_queue(url)


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown store URL scheme 'mysql'"):
        open_queue("mysql://h/db")
