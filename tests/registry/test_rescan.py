"""A rescan makes the registry match the folder: the files an earlier scan registered that are gone
are unregistered (and their index entries forgotten) in the same step; files registered by hand,
files of other folders, and files the rescan could not inspect but that are still there stay."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import NotFoundError, ValidationError
from jotty.registry import DataRegistry
from tests.registry.conftest import make_data
from tests.runs.backends import Backend


def index_ids(backend: Backend) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT id FROM jotty_memory WHERE scope = 'registry'")}


def row_ids(backend: Backend) -> set[str]:
    return {str(r[0]) for r in backend.rows("SELECT memory_id FROM jotty_registry")}


async def names(registry: DataRegistry) -> list[str]:
    return [s.name for s in await registry.sources()]


async def test_a_rescan_drops_deleted_and_renamed_files(backend: Backend, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    async with DataRegistry(backend.store) as registry:
        first = await registry.scan(data)
        assert first.removed == [] and first.kept == []
        (data / "customers.json").unlink()
        (data / "sales_2023.csv").rename(data / "sales_2024.csv")
        (data / "weather" / "daily_temperatures.jsonl").unlink()
        (data / "weather").rmdir()
        report = await registry.scan(data)
        assert report.removed == [
            "data/customers.json",
            "data/sales_2023.csv",
            "data/weather/daily_temperatures.jsonl",
        ]
        assert report.kept == [] and report.to_dict()["removed"] == report.removed
        assert await names(registry) == ["data", "data/churn_notes.md", "data/sales_2024.csv", "data/shop.db"]
        for gone in report.removed:
            with pytest.raises(NotFoundError):
                await registry.get(gone)
        found = [h.source.name for h in await registry.discover("customers age name", k=10)]
        assert "data/customers.json" not in found
        found = [h.source.name for h in await registry.discover("sales orders by region", k=10)]
        assert "data/sales_2024.csv" in found and "data/sales_2023.csv" not in found
        assert (await registry.get("data")).stats["files"] == 3
        again = await registry.scan(data)
        assert again.removed == []
    assert index_ids(backend) == row_ids(backend)  # the removed files' index entries are forgotten


async def test_a_rescan_leaves_hand_added_files_and_other_folders_alone(registry: DataRegistry, tmp_path: Path) -> None:
    data = make_data(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("Other notes.\n")
    await registry.scan(data)
    await registry.add_file(data / "customers.json", "crm")
    await registry.add_file(data / "churn_notes.md", "data/notes_by_hand")
    await registry.scan(other, name="data/other")  # another folder, named under this one
    (data / "customers.json").unlink()
    (data / "churn_notes.md").unlink()
    (other / "notes.md").unlink()
    report = await registry.scan(data)
    assert report.removed == ["data/churn_notes.md", "data/customers.json"]
    assert await names(registry) == [
        "crm",
        "data",
        "data/notes_by_hand",
        "data/other",
        "data/other/notes.md",
        "data/sales_2023.csv",
        "data/shop.db",
        "data/weather/daily_temperatures.jsonl",
    ]


async def test_a_file_that_cannot_be_inspected_keeps_its_registration(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    before = await registry.get("data/customers.json")
    (data / "customers.json").write_text("{oops")
    (data / "sales_2023.csv").unlink()
    report = await registry.scan(data)
    assert [p.path for p in report.problems] == ["customers.json"]
    assert report.removed == ["data/sales_2023.csv"] and report.kept == ["data/customers.json"]
    assert await registry.get("data/customers.json") == before
    with pytest.raises(ValidationError, match="found 1 problem"):
        await registry.scan(data, strict=True)
    (data / "customers.json").unlink()
    assert (await registry.scan(data)).removed == ["data/customers.json"]


async def test_a_file_a_hidden_name_hides_is_kept(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    hidden = data / ".customers.json"
    os.replace(data / "customers.json", hidden)
    await registry.add_file(hidden, "data/customers.json")  # the name a scan gives the hidden file
    report = await registry.scan(data)
    assert report.removed == [] and report.kept == ["data/customers.json"]
    assert (await registry.get("data/customers.json")).location == str(hidden)


async def test_a_file_found_through_a_link_goes_with_the_link(backend: Backend, tmp_path: Path) -> None:
    """A file registered through a link inside the folder is named after the link and located at its
    target: a rescan knows it as its own, and drops it when the link is gone, leads to another file
    or out of the folder, or its target is gone (the target's own registration stays while it is
    there)."""
    data = make_data(tmp_path)
    outside = tmp_path / "outside.csv"
    outside.write_text("secret,value\nx,1\n")
    links = {name: data / f"{name}.csv" for name in ("removed", "retargeted", "out", "broken")}
    (data / "copy.csv").write_text("a,b\n1,2\n")
    for link in links.values():
        link.symlink_to("copy.csv" if link.stem == "broken" else "sales_2023.csv")
    async with DataRegistry(backend.store) as registry:
        await registry.scan(data)
        first = await registry.get("data/retargeted.csv")
        assert first.location == str(data / "sales_2023.csv") and first.link == str(links["retargeted"])
        assert (await registry.get("data/sales_2023.csv")).link is None
        links["removed"].unlink()
        links["retargeted"].unlink()
        links["retargeted"].symlink_to("customers.json")
        links["out"].unlink()
        links["out"].symlink_to(outside)
        (data / "copy.csv").unlink()  # "broken" now leads to nothing
        report = await registry.scan(data)
        assert report.removed == ["data/broken.csv", "data/copy.csv", "data/out.csv", "data/removed.csv"]
        assert report.kept == []
        assert sorted(p.path for p in report.problems) == ["broken.csv", "out.csv"]
        again = await registry.get("data/retargeted.csv")
        assert again.location == str(data / "customers.json") and again.format == "json"
        assert {s.name for s in await registry.sources()} == {
            "data",
            "data/churn_notes.md",
            "data/customers.json",
            "data/retargeted.csv",
            "data/sales_2023.csv",
            "data/shop.db",
            "data/weather/daily_temperatures.jsonl",
        }
        assert all(str(outside) not in s.location for s in await registry.sources())
        assert (await registry.scan(data)).removed == []
    assert index_ids(backend) == row_ids(backend)


async def test_a_link_registered_by_hand_is_left_alone(registry: DataRegistry, data: Path) -> None:
    (data / "alias.csv").symlink_to("sales_2023.csv")
    await registry.add_file(data / "alias.csv", "data/alias.csv")  # the scan's name, but not found by a scan
    (data / "alias.csv").unlink()
    report = await registry.scan(data)
    assert report.removed == [] and (await registry.get("data/alias.csv")).link is None


async def test_a_dry_run_reports_what_would_be_removed(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    (data / "shop.db").unlink()
    report = await registry.scan(data, register=False)
    assert not report.registered and report.removed == ["data/shop.db"]
    assert "data/shop.db" in await names(registry)
    assert (await registry.scan(data)).removed == ["data/shop.db"]
    assert "data/shop.db" not in await names(registry)


async def test_bad_input_or_a_failed_write_removes_nothing(
    registry: DataRegistry, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registry.scan(data)
    listed = await names(registry)
    (data / "customers.json").unlink()
    with pytest.raises(ValidationError, match="source name"):
        await registry.scan(data, name="../data")
    with pytest.raises(ValidationError, match="not a folder"):
        await registry.scan(data / "sales_2023.csv", name="data")
    with pytest.raises(ValidationError, match="more than 2 files"):
        await registry.scan(data, max_files=2)
    (data / "bad.json").write_text("{oops")
    with pytest.raises(ValidationError, match="found 1 problem"):
        await registry.scan(data, strict=True)
    assert await names(registry) == listed

    def broken(cur: object, scope: str, gone: object) -> list[str]:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("jotty.registry.registry.drop", broken)
    with pytest.raises(RuntimeError, match="the disk is full"):
        await registry.scan(data)
    assert await names(registry) == listed  # the new rows and the removal are one transaction


def unlistable(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` one a scan cannot list (as without permission; the tests may run as root)."""
    real_walk = os.walk

    def walk(top: str, onerror: Any = None, followlinks: bool = False) -> Iterator[tuple[str, list[str], list[str]]]:
        for root, dirs, files in real_walk(top, followlinks=followlinks):
            if os.path.realpath(root) == os.path.realpath(folder):
                onerror(PermissionError(13, "Permission denied", root))
                dirs.clear()
                continue
            yield root, dirs, files

    monkeypatch.setattr("jotty.registry.walk.os.walk", walk)


async def test_a_folder_that_cannot_be_listed_loses_nothing(
    registry: DataRegistry, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registry.scan(data)
    listed = await names(registry)
    (data / "weather" / "daily_temperatures.jsonl").unlink()
    with monkeypatch.context() as patch:
        unlistable(patch, data / "weather")
        report = await registry.scan(data)
    assert [p.path for p in report.problems] == ["weather"]
    assert report.removed == [] and report.kept == ["data/weather/daily_temperatures.jsonl"]
    with monkeypatch.context() as patch:
        unlistable(patch, data)
        report = await registry.scan(data)
    assert [p.path for p in report.problems] == ["."] and report.sources[0].stats["files"] == 0
    assert report.removed == [] and len(report.kept) == 5
    assert await names(registry) == listed
    assert (await registry.scan(data)).removed == ["data/weather/daily_temperatures.jsonl"]
