"""The index sweep: entries no row points at (a registration that crashed between its index write
and its rows) are forgotten once older than the grace; rows whose entry is gone are indexed again;
a scan sweeps; bad arguments are refused and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.registry import DataRegistry
from jotty.registry.sweep import GRACE
from tests.registry.conftest import make_data
from tests.runs.backends import Backend


def index_ids(backend: Backend) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT id FROM jotty_memory WHERE scope = 'registry'")}


def row_ids(backend: Backend) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT memory_id FROM jotty_registry")}


def age(backend: Backend, seconds: float) -> None:
    """Make every index entry ``seconds`` older."""
    backend.rows("UPDATE jotty_memory SET stored_at = stored_at - ? WHERE scope = 'registry'", (seconds,))


async def crash_after_indexing(registry: DataRegistry, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A registration of ``name`` that dies after its index entry is written, before its row."""

    def dead(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr("jotty.registry.registry._write", dead)
        with pytest.raises(RuntimeError, match="killed"):
            await registry.add_artifact(name, {"lost": True}, description=f"{name} orphan ledger words")


async def test_orphans_are_forgotten_once_older_than_the_grace(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DataRegistry(backend.store) as registry:
        await registry.add_artifact("kept", {"a": 1}, description="kept ledger")
        for name in ("lost1", "lost2", "lost3"):
            await crash_after_indexing(registry, monkeypatch, name)
        assert len(index_ids(backend) - row_ids(backend)) == 3
        assert (await registry.sweep()).forgotten == 0  # young: maybe a registration still under way
        age(backend, GRACE + 5)
        report = await registry.sweep(limit=2)
        assert report.forgotten == 2 and report.reindexed == []
        assert (await registry.sweep()).forgotten == 1
        assert (await registry.sweep(grace=0)).forgotten == 0
        assert index_ids(backend) == row_ids(backend)
        assert [h.source.name for h in await registry.discover("kept ledger", k=3)] == ["kept"]


async def test_entries_that_name_no_source_are_not_swept(registry: DataRegistry) -> None:
    note = await registry.index.remember("a note someone kept in the registry's scope")
    assert note is not None
    assert (await registry.sweep(grace=0)).forgotten == 0
    assert await registry.index.get(note) is not None


async def test_a_row_whose_entry_is_gone_is_indexed_again(backend: Backend, registry: DataRegistry) -> None:
    await registry.add_artifact("monthly/revenue", {"m": 1}, description="monthly revenue ledger by region")
    await registry.add_artifact("other", {"o": 1}, description="unrelated weather notes")
    [(memory_id,)] = backend.rows("SELECT memory_id FROM jotty_registry WHERE name = 'monthly/revenue'")
    await registry.index.forget(str(memory_id))
    assert [h.source.name for h in await registry.discover("monthly revenue by region", k=1)] != ["monthly/revenue"]
    before = await registry.get("monthly/revenue")
    report = await registry.sweep()
    assert report.forgotten == 0 and report.reindexed == ["monthly/revenue"]
    assert await registry.get("monthly/revenue") == before  # only its index entry is new
    assert [h.source.name for h in await registry.discover("monthly revenue by region", k=1)] == ["monthly/revenue"]
    assert index_ids(backend) == row_ids(backend)
    assert (await registry.sweep()).reindexed == []


async def test_a_scan_sweeps(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(tmp_path)
    async with DataRegistry(backend.store) as registry:
        await crash_after_indexing(registry, monkeypatch, "data/crashed")
        age(backend, GRACE + 5)
        await registry.scan(data)
        assert index_ids(backend) == row_ids(backend) and len(row_ids(backend)) == 6


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"grace": -1}, "grace is a number of seconds"),
        ({"grace": float("nan")}, "grace is a number of seconds"),
        ({"grace": "600"}, "grace is a number of seconds"),
        ({"limit": 0}, "limit must be a whole number"),
        ({"limit": 2.5}, "limit must be a whole number"),
        ({"limit": True}, "limit must be a whole number"),
    ],
)
async def test_bad_arguments_are_refused_and_sweep_nothing(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, arguments: dict[str, object], message: str
) -> None:
    async with DataRegistry(backend.store) as registry:
        await crash_after_indexing(registry, monkeypatch, "lost")
        age(backend, GRACE + 5)
        before = index_ids(backend)
        with pytest.raises(ValidationError, match=message):
            await registry.sweep(**arguments)  # type: ignore[arg-type]
        assert index_ids(backend) == before
