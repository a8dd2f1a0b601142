"""Scanning and registering: types, schemas, statistics, descriptions; updates keep provenance."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from jotty.errors import NotFoundError, ValidationError
from jotty.registry import DataRegistry
from jotty.registry.probe import probe_file


async def test_scan_registers_every_file_with_its_schema_and_stats(registry: DataRegistry, data: Path) -> None:
    report = await registry.scan(data, tags=["demo"], owner="analytics")
    assert report.registered and report.problems == []
    by_name = {s.name: s for s in report.sources}
    assert sorted(by_name) == [
        "data",
        "data/churn_notes.md",
        "data/customers.json",
        "data/sales_2023.csv",
        "data/shop.db",
        "data/weather/daily_temperatures.jsonl",
    ]
    sales = await registry.get("data/sales_2023.csv")
    assert sales.kind == "file" and sales.format == "csv" and sales.location == str(data / "sales_2023.csv")
    assert sales.schema == [
        {"name": "order_id", "type": "integer"},
        {"name": "region", "type": "text"},
        {"name": "amount", "type": "number"},
        {"name": "ordered_on", "type": "date"},
    ]
    assert sales.stats["rows"] == 3
    assert sales.stats["columns"]["amount"] == {"nulls": 1, "distinct": 2, "min": 12.5, "max": 99, "mean": 55.75}
    assert sales.stats["columns"]["region"]["values"] == ["north", "south"]
    assert sales.size == (data / "sales_2023.csv").stat().st_size
    assert sales.tags == ["demo"] and sales.owner == "analytics" and sales.described_by == "heuristic"
    assert "sales 2023" in sales.description and "3 rows" in sales.description
    weather = await registry.get("data/weather/daily_temperatures.jsonl")
    assert weather.format == "jsonl"
    assert weather.schema == [
        {"name": "city", "type": "text"},
        {"name": "temp_c", "type": "number"},
        {"name": "day", "type": "date"},
    ]
    customers = await registry.get("data/customers.json")
    assert customers.schema == [{"name": "name", "type": "text"}, {"name": "age", "type": "integer"}]
    shop = await registry.get("data/shop.db")
    assert shop.format == "sqlite"
    assert [(t["table"], t["rows"]) for t in shop.schema] == [("products", 2), ("secrets", 1)]
    assert shop.schema[0]["columns"][2] == {"name": "price", "type": "real"}
    notes = await registry.get("data/churn_notes.md")
    assert notes.format == "text" and notes.stats == {"lines": 2, "words": 8}
    folder = await registry.get("data")
    assert folder.kind == "folder" and folder.stats["files"] == 5


async def test_scan_without_register_changes_nothing(registry: DataRegistry, data: Path) -> None:
    report = await registry.scan(data, register=False)
    assert not report.registered and len(report.sources) == 6
    assert await registry.sources() == []


async def test_rescan_updates_in_place_and_keeps_created_at(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    first = await registry.get("data/sales_2023.csv")
    with open(data / "sales_2023.csv", "a") as handle:
        handle.write("4,east,7,2023-04-05\n")
    await registry.scan(data)
    second = await registry.get("data/sales_2023.csv")
    assert second.stats["rows"] == 4 and second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert len(await registry.sources()) == 6
    hits = await registry.discover("sales orders by region", k=10)
    assert [h.source.name for h in hits].count("data/sales_2023.csv") == 1


async def test_add_file_folder_and_table_with_user_fields(registry: DataRegistry, data: Path) -> None:
    source = await registry.add_file(
        data / "customers.json", "crm/customers", description="Our paying customers", tags="crm,people", owner="ana"
    )
    assert source.description == "Our paying customers" and source.described_by == "user"
    assert source.tags == ["crm", "people"]
    table = await registry.add_table("products", data / "shop.db", "shop/products", tags=["shop"])
    assert table.kind == "sqlite_table" and table.table == "products" and table.stats == {"rows": 2}
    assert [c["name"] for c in table.schema] == ["id", "title", "price"]
    folder = await registry.add(data / "weather", "weather")
    assert folder.kind == "folder" and folder.stats == {"files": 1}
    assert [s.name for s in await registry.sources()] == ["crm/customers", "shop/products", "weather"]
    assert [s.name for s in await registry.sources(kind="sqlite_table")] == ["shop/products"]
    assert await registry.remove("shop/products") is True
    assert await registry.remove("shop/products") is False
    with pytest.raises(NotFoundError, match="no data source is registered as 'shop/products'"):
        await registry.get("shop/products")


async def test_bad_files_are_clear_errors_and_the_registry_is_unchanged(registry: DataRegistry, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ragged.csv").write_text('a,b\n1,2\n3,"unterminated\n')
    (bad / "short.csv").write_text("a,b\n1,2\n3\n")
    (bad / "broken.json").write_text('{"a": [1, 2')
    (bad / "lines.jsonl").write_text('{"a": 1}\nnot json\n')
    (bad / "latin1.csv").write_bytes("name,city\nJos\xe9,S\xe3o Paulo\n".encode("latin-1"))
    (bad / "fake.db").write_text("not a database")
    (bad / "damaged.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    os.symlink(bad / "missing.csv", bad / "dangling.csv")
    expected = {
        "ragged.csv": "not valid CSV",
        "short.csv": "line 3 has 1 fields, the header 2",
        "broken.json": "not valid JSON (line 1",
        "lines.jsonl": "line 2",
        "latin1.csv": "not UTF-8 text (byte 0xe9",
        "fake.db": "not one (no SQLite header)",
        "damaged.sqlite": "is a damaged SQLite database",
    }
    for file, message in expected.items():
        with pytest.raises(ValidationError, match=re.escape(message)):
            await registry.add_file(bad / file)
    with pytest.raises(ValidationError, match="cannot read"):
        await registry.add_file(bad / "dangling.csv")
    assert await registry.sources() == []
    with pytest.raises(ValidationError, match="found 8 problem"):
        await registry.scan(bad, strict=True)
    assert await registry.sources() == []
    report = await registry.scan(bad)
    assert sorted(p.path for p in report.problems) == sorted([*expected, "dangling.csv"])
    assert [s.name for s in await registry.sources()] == ["bad"]


async def test_huge_files_are_refused_with_the_limit_named(store: str, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 5_000)
    async with DataRegistry(store, max_bytes=10_000) as registry:
        with pytest.raises(ValidationError, match=r"20,004 bytes, over the limit of 10,000: pass max_bytes="):
            await registry.add_file(big)
        assert await registry.sources() == []
    assert probe_file(big).stats["rows"] == 5_000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r, d: r.add_file(d / "customers.json", "../up"), "source name"),
        (lambda r, d: r.add_file(d / "customers.json", "x; DROP TABLE jotty_registry"), "source name"),
        (lambda r, d: r.add_file(d / "customers.json", tags=["ok", "bad tag"]), "a tag is"),
        (lambda r, d: r.add_file(d / "customers.json", description="x" * 5_000), "at most 4000"),
        (lambda r, d: r.add_file(d / "customers.json", description="caf\udce9"), "description is not valid Unicode"),
        (lambda r, d: r.add_file(d / "nope.csv"), "cannot read"),
        (lambda r, d: r.add_file(d / "weather"), "not a regular file"),
        (lambda r, d: r.add_folder(d / "sales_2023.csv"), "not a folder"),
        (lambda r, d: r.add_table("products; DROP TABLE products", d / "shop.db"), "plain identifier"),
        (lambda r, d: r.add_table("nope", d / "shop.db"), "no table 'nope'"),
        (lambda r, d: r.add_artifact("x", object()), "cannot be stored as JSON"),
        (lambda r, d: r.add_artifact("x", "y" * 1_100_000), "over 1,000,000"),
    ],
)
async def test_bad_input_is_refused(registry: DataRegistry, data: Path, call: object, message: str) -> None:
    await registry.add_file(data / "sales_2023.csv", "kept")
    with pytest.raises((ValidationError, NotFoundError), match=message):
        await call(registry, data)  # type: ignore[operator]
    assert [s.name for s in await registry.sources()] == ["kept"]
    assert json.loads(json.dumps((await registry.get("kept")).to_dict()))["format"] == "csv"


async def test_binary_and_plain_text_files(registry: DataRegistry, tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "legacy.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    binary = await registry.add_file(tmp_path / "blob.bin")
    assert binary.format == "binary" and binary.schema == [] and binary.size == 300
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        await registry.add_file(tmp_path / "legacy.txt")
    assert [s.name for s in await registry.sources()] == ["blob.bin"]


async def test_a_description_counts_one_row_one_column_and_one_file_in_the_singular(
    registry: DataRegistry, tmp_path: Path
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "tiny.csv").write_text("amount\n12.5\n")
    report = await registry.scan(tmp_path / "one")
    by_name = {s.name: s for s in report.sources}
    assert "1 row and 1 column" in by_name["one/tiny.csv"].description
    assert "of 1 data file:" in by_name["one"].description
    folder = await registry.add_folder(tmp_path / "one", "one-folder")
    assert folder.description == "Folder one of 1 file."
