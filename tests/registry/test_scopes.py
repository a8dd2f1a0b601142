"""Each scope is a registry of its own on a shared store: its rows are its own (a name in two scopes
is two sources), and listing, reading, removing, rescanning, sweeping, artifacts and the agent tools
see nothing of another scope's. A store from before schema version 11 keeps its rows, each in the
scope of the index entry it points at; a store from a newer Jotty is refused untouched."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import psycopg
import pytest

from jotty.agents import FunctionAgent
from jotty.db.migrations import load_migrations
from jotty.errors import NotFoundError, SchemaVersionError
from jotty.memory import Memory
from jotty.registry import Artifact, DataRegistry
from jotty.registry.sweep import GRACE
from tests.registry.conftest import make_data
from tests.runs.backends import Backend

SCOPED = 11
"""The schema version that keyed the registry's rows by scope."""


def index_ids(backend: Backend, scope: str) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT id FROM jotty_memory WHERE scope = ?", (scope,))}


def row_ids(backend: Backend, scope: str) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT memory_id FROM jotty_registry WHERE scope = ?", (scope,))}


async def names(registry: DataRegistry) -> list[str]:
    return [s.name for s in await registry.sources()]


async def test_one_name_in_two_scopes_is_two_sources(backend: Backend) -> None:
    async with (
        DataRegistry(backend.store, scope="finance") as finance,
        DataRegistry(backend.store, scope="sales") as sales,
    ):
        await finance.add_artifact("q1", {"revenue": 10}, description="quarterly revenue ledger")
        await sales.add_artifact("q1", {"orders": 3}, description="quarterly orders pipeline")
        await sales.add_artifact("leads", [1, 2], description="sales leads")
        assert (await finance.get("q1")).value == {"revenue": 10}
        assert (await sales.get("q1")).value == {"orders": 3}
        assert await names(finance) == ["q1"] and await names(sales) == ["leads", "q1"]
        assert (await finance.read("q1")).text == '{"revenue": 10}'
        with pytest.raises(NotFoundError):
            await finance.get("leads")
        with pytest.raises(NotFoundError):
            await finance.read("leads")
        assert [h.source.value for h in await finance.discover("quarterly", k=5)] == [{"revenue": 10}]
        assert [h.source.name for h in await finance.discover("", k=5)] == ["q1"]
        assert await finance.remove("leads") is False
        assert await finance.remove("q1") is True
        assert await names(finance) == [] and await names(sales) == ["leads", "q1"]
        assert [h.source.value for h in await sales.discover("quarterly", k=5)] == [{"orders": 3}]
    assert index_ids(backend, "sales") == row_ids(backend, "sales") and len(row_ids(backend, "sales")) == 2
    assert index_ids(backend, "finance") == row_ids(backend, "finance") == set()


async def test_a_rescan_and_a_sweep_in_one_scope_leave_the_other_alone(backend: Backend, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    async with (
        DataRegistry(backend.store, scope="a") as a,
        DataRegistry(backend.store, scope="b") as b,
    ):
        await a.scan(data)
        await b.scan(data)
        before_b = await b.sources()
        (data / "customers.json").unlink()
        report = await a.scan(data)
        assert report.removed == ["data/customers.json"]
        assert "data/customers.json" not in await names(a)
        assert await b.sources() == before_b  # b's rescan has not happened: b still lists it
        backend.rows("UPDATE jotty_memory SET stored_at = stored_at - ?", (GRACE + 5,))
        assert await a.sweep(grace=0) == await b.sweep(grace=0)  # nothing orphaned or lost in either
        assert (await a.sweep()).forgotten == 0
        assert await b.sources() == before_b
        assert index_ids(backend, "a") == row_ids(backend, "a") and len(row_ids(backend, "a")) == 5
        assert index_ids(backend, "b") == row_ids(backend, "b") and len(row_ids(backend, "b")) == 6
        assert (await b.scan(data)).removed == ["data/customers.json"]


async def test_tools_and_artifacts_are_the_scopes_own(backend: Backend) -> None:
    async with (
        DataRegistry(backend.store, scope="a") as a,
        DataRegistry(backend.store, scope="b") as b,
    ):
        made = Artifact(FunctionAgent(lambda _input: [{"total": 12.5}]), a, "reports/{run_id}")
        assert (await made.run(None)).ok
        [report] = await a.sources()
        tools = {tool.name: tool for tool in b.tools()}
        assert await tools["search_data"].call({"query": "total"}) == []
        with pytest.raises(NotFoundError):
            await tools["describe_data"].call({"name": report.name})
        with pytest.raises(NotFoundError):
            await tools["read_data"].call({"name": report.name})
        own = {tool.name: tool for tool in a.tools()}
        assert (await own["read_data"].call({"name": report.name}))["rows"] == [{"total": 12.5}]


def _script(backend: Backend, statements: str) -> None:
    if backend.kind == "sqlite":
        with contextlib.closing(sqlite3.connect(backend.store)) as conn:
            conn.executescript(statements)
        return
    with psycopg.connect(backend.store, autocommit=True) as conn:
        conn.execute(statements.encode())


def make_old(backend: Backend) -> None:
    """Take the store's ``jotty_registry`` back to its shape before schema version 11 (one row per
    name, no scope), its rows kept, and its migration record with it."""
    [created] = [m for m in load_migrations(backend.kind) if m.name == "registry"]
    columns = (
        "name, kind, format, location, source_table, description, described_by, schema, tags, owner, size, stats, "
        "run_id, step, value, memory_id, created_at, updated_at"
    )
    _script(
        backend,
        f"CREATE TABLE saved AS SELECT {columns} FROM jotty_registry;\nDROP TABLE jotty_registry;\n{created.sql}\n"
        f"INSERT INTO jotty_registry ({columns}) SELECT {columns} FROM saved;\nDROP TABLE saved;\n"
        f"DELETE FROM jotty_schema_migrations WHERE version >= {SCOPED};\n",
    )


async def test_an_old_store_keeps_its_rows_each_in_its_scope(backend: Backend) -> None:
    async with (
        DataRegistry(backend.store) as default,
        DataRegistry(backend.store, scope="team") as team,
    ):
        await default.add_artifact("orders", [1, 2], description="orders ledger")
        await team.add_artifact("plans", {"q": 1}, description="team plans roadmap")
    make_old(backend)
    backend.rows(
        "INSERT INTO jotty_registry (name, kind, format, value, created_at, updated_at) "
        "VALUES ('unindexed', 'run_output', 'json', '[3]', 1, 1)"
    )
    assert not any("scope" in str(c) for c in backend.rows("SELECT * FROM jotty_registry WHERE 1 = 0"))
    async with (
        DataRegistry(backend.store) as default,
        DataRegistry(backend.store, scope="team") as team,
    ):
        assert await names(default) == ["orders", "unindexed"]
        assert await names(team) == ["plans"]
        assert [h.source.name for h in await team.discover("team plans", k=3)] == ["plans"]
        assert (await default.sweep()).reindexed == ["unindexed"]  # a row without an entry: indexed now
        assert [h.source.name for h in await default.discover("orders ledger", k=1)] == ["orders"]
        await team.add_artifact("orders", {"team": True})  # names are unique per scope now
        assert (await default.get("orders")).value == [1, 2]
    versions = {r[0] for r in backend.rows("SELECT version FROM jotty_schema_migrations")}
    assert versions == {m.version for m in load_migrations(backend.kind)}


async def test_a_store_from_a_newer_jotty_is_refused_untouched(backend: Backend) -> None:
    async with DataRegistry(backend.store) as registry:
        await registry.add_artifact("orders", [1, 2])
    make_old(backend)
    backend.rows("INSERT INTO jotty_schema_migrations (version, name) VALUES (999, 'future')")
    table = backend.rows("SELECT * FROM jotty_registry")
    async with DataRegistry(backend.store) as registry:
        with pytest.raises(SchemaVersionError, match="schema version 999, newer than this Jotty knows"):
            await registry.sources()
    assert backend.rows("SELECT * FROM jotty_registry") == table
    assert SCOPED not in {r[0] for r in backend.rows("SELECT version FROM jotty_schema_migrations")}


async def test_a_sweep_leaves_the_memories_of_a_scope_it_shares_alone(backend: Backend) -> None:
    """A registry whose scope is also an agent's memory (``jotty data scan --scope conductor``)
    forgets only index entries of its own: a memory whose metadata names a "source" (as
    ``jotty memory add --metadata '{"source": "notes"}'`` writes) is not an orphaned entry."""
    async with (
        Memory(backend.store, scope="conductor") as memory,
        DataRegistry(backend.store, scope="conductor") as registry,
    ):
        kept = await memory.remember("The standup moved to 10am.", metadata={"source": "notes"})
        await registry.add_artifact("orders", [1, 2], description="orders ledger")
        backend.rows("UPDATE jotty_memory SET stored_at = stored_at - ?", (GRACE + 5,))
        assert (await registry.sweep()).forgotten == 0
        assert kept in index_ids(backend, "conductor")
        assert [h.text for h in await memory.recall("standup", k=1)] == ["The standup moved to 10am."]
        assert [h.source.name for h in await registry.discover("orders ledger", k=1)] == ["orders"]
