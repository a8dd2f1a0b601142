"""The registry's own store (every scope's memories, the queue's tasks, the runs) is never registered
or read through it, though it sits in a folder that is scanned or registered: agents would read
what no one gave them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory
from jotty.registry import DataRegistry

OWN = "is the store this registry lives in"


async def test_the_store_in_a_scanned_folder_is_a_problem_and_other_files_register(tmp_path: Path) -> None:
    store = tmp_path / "jotty.db"
    async with Memory(store, "user:ana") as memory:
        await memory.remember("Ana's door code is 4417")
    (tmp_path / "sales.csv").write_text("region,total\nnorth,10\n")
    other = sqlite3.connect(tmp_path / "shop.db")
    other.execute("CREATE TABLE items (name TEXT)")
    other.commit()
    other.close()

    async with DataRegistry(store, embedder=False) as registry:
        report = await registry.scan(tmp_path, name="work")
        registered = {s.name for s in report.sources}
        assert {"work/sales.csv", "work/shop.db"} <= registered, registered
        assert not any("jotty.db" in name for name in registered)
        problems = {p.path: p.error for p in report.problems}
        assert OWN in problems["jotty.db"], problems

        before = await registry.sources()
        for attempt in (
            registry.add_file(store, "memories"),
            registry.add_table("jotty_memory", store, "memories"),
            registry.read("work", path="jotty.db"),
            registry.read("work", path="jotty.db", table="jotty_memory"),
        ):
            with pytest.raises(ValidationError, match=OWN):
                await attempt
        assert [s.name for s in await registry.sources()] == [s.name for s in before]
        read = await registry.read("work", path="sales.csv")
        assert read.rows == [{"region": "north", "total": "10"}]


async def test_the_store_under_another_name_is_refused_and_another_store_is_not(tmp_path: Path) -> None:
    store, elsewhere = tmp_path / "jotty.db", tmp_path / "elsewhere.db"
    async with Memory(elsewhere, "user:ana") as memory:
        await memory.remember("Ana's door code is 4417")
    async with DataRegistry(store, embedder=False) as registry:
        linked = tmp_path / "link.db"
        linked.symlink_to(store)
        with pytest.raises(ValidationError, match=OWN):
            await registry.add_file(linked, "linked")
        with pytest.raises(ValidationError, match=OWN):
            await registry.add_table("jotty_memory", linked, "linked")
        await registry.add_table("jotty_memory", elsewhere, "theirs")  # another store is data like any other
        assert (await registry.read("theirs")).rows
