"""Reading registered sources, and only those: path traversal, symbolic links out of a folder, files
swapped for links, unregistered tables and SQL in names are refused with a clear error; reads are
capped."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from jotty.errors import NotFoundError, ValidationError
from jotty.registry import DataRegistry
from jotty.registry.reader import MAX_CELL, MAX_CHARS


async def test_reads_each_kind_of_source(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    sales = await registry.read("data/sales_2023.csv", limit=2)
    assert sales.columns == ["order_id", "region", "amount", "ordered_on"]
    assert sales.rows == [
        {"order_id": "1", "region": "north", "amount": "12.5", "ordered_on": "2023-01-02"},
        {"order_id": "2", "region": "south", "amount": "99", "ordered_on": "2023-02-03"},
    ]
    assert sales.truncated
    assert not (await registry.read("data/sales_2023.csv", limit=3)).truncated
    weather = await registry.read("data/weather/daily_temperatures.jsonl")
    assert [r["city"] for r in weather.rows] == ["Boston", "Paris"] and not weather.truncated
    customers = await registry.read("data/customers.json", limit=1)
    assert customers.rows == [{"name": "ann", "age": 31}] and customers.truncated
    products = await registry.read("data/shop.db", table="products")
    assert products.rows == [{"id": 1, "title": "pen", "price": 1.5}, {"id": 2, "title": "ink", "price": 4.0}]
    notes = await registry.read("data/churn_notes.md")
    assert notes.text == "Notes on the customer churn model.\nSecond line.\n"
    listing = await registry.read("data", limit=10)
    assert [r["path"] for r in listing.rows] == [
        "churn_notes.md",
        "customers.json",
        "sales_2023.csv",
        "shop.db",
        "sales_2023.csv".replace("sales_2023.csv", os.path.join("weather", "daily_temperatures.jsonl")),
    ]
    inner = await registry.read("data", path="weather/daily_temperatures.jsonl", limit=1)
    assert inner.rows == [{"city": "Boston", "temp_c": 3.5, "day": "2024-01-01"}] and inner.truncated
    table = await registry.add_table("products", data / "shop.db", "shop/products")
    assert (await registry.read(table.name, 1)).rows == [{"id": 1, "title": "pen", "price": 1.5}]
    output = await registry.add_artifact("runs/out", [{"k": i} for i in range(30)], run_id="r1", step="write")
    assert len((await registry.read(output.name, 5)).rows) == 5


async def test_path_traversal_and_absolute_paths_are_refused(registry: DataRegistry, data: Path) -> None:
    (data.parent / "private.csv").write_text("secret\n42\n")
    await registry.add_folder(data / "weather", "weather")
    for path in ("../sales_2023.csv", "../../private.csv", "a/../../private.csv", str(data.parent / "private.csv")):
        with pytest.raises(ValidationError, match="leaves the registered folder weather"):
            await registry.read("weather", path=path)
    with pytest.raises(NotFoundError, match="is not a file in weather"):
        await registry.read("weather", path="nothing.csv")
    with pytest.raises(ValidationError, match="path= is only for folders"):
        await registry.add_file(data / "sales_2023.csv", "sales")
        await registry.read("sales", path="../private.csv")


async def test_symbolic_links_out_of_a_folder_are_refused(registry: DataRegistry, data: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("token\nhunter2\n")
    os.symlink(outside / "secret.csv", data / "weather" / "link.csv")
    os.symlink(outside, data / "weather" / "linkdir")
    os.symlink(data / "weather" / "daily_temperatures.jsonl", data / "weather" / "inside.jsonl")
    await registry.add_folder(data / "weather", "weather")
    for path in ("link.csv", "linkdir/secret.csv"):
        with pytest.raises(ValidationError, match="symbolic link leading out of the registered folder"):
            await registry.read("weather", path=path)
    assert (await registry.read("weather", path="inside.jsonl", limit=1)).rows[0]["city"] == "Boston"
    listed = [r["path"] for r in (await registry.read("weather")).rows]
    assert "link.csv" not in listed and "inside.jsonl" in listed
    report = await registry.scan(data / "weather")
    assert {p.path for p in report.problems} == {"link.csv"}  # linkdir is not walked into
    assert "hunter2" not in json.dumps([s.to_dict() for s in report.sources])


async def test_a_registered_file_or_folder_swapped_for_a_link_is_refused(
    registry: DataRegistry, data: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.csv").write_text("token\nhunter2\n")
    await registry.add_file(data / "sales_2023.csv", "sales")
    await registry.add_folder(data / "weather", "weather")
    os.remove(data / "sales_2023.csv")
    os.symlink(tmp_path / "secret.csv", data / "sales_2023.csv")
    with pytest.raises(ValidationError, match="is now a symbolic link"):
        await registry.read("sales")
    shutil.rmtree(data / "weather")
    os.symlink(tmp_path, data / "weather")
    with pytest.raises(ValidationError, match="is now a link"):
        await registry.read("weather", path="secret.csv")
    os.remove(data / "sales_2023.csv")
    with pytest.raises(NotFoundError, match="is gone: register it again or remove sales"):
        await registry.read("sales")


async def test_unregistered_tables_and_sql_in_names_are_refused(registry: DataRegistry, data: Path) -> None:
    shop = await registry.add_table("products", data / "shop.db", "shop/products")
    await registry.add_file(data / "shop.db", "shopfile")
    with sqlite3.connect(data / "shop.db") as conn:
        conn.execute("CREATE TABLE added_later (x INTEGER)")
    conn.close()
    with pytest.raises(ValidationError, match="table 'added_later' is not registered in shopfile"):
        await registry.read("shopfile", table="added_later")
    with pytest.raises(ValidationError, match="say which registered table"):
        await registry.read("shopfile")
    for name in ("secrets", "shop/secrets", "products"):
        with pytest.raises(NotFoundError, match="no data source is registered"):
            await registry.read(name)
    for evil in ('products"; DROP TABLE secrets; --', "products limit 1 union select * from secrets", "1=1"):
        with pytest.raises(ValidationError, match="plain identifier"):
            await registry.read("shopfile", table=evil)
        with pytest.raises(ValidationError, match="plain identifier"):
            await registry.add_table(evil, data / "shop.db")
    for evil_name in ("x'; DROP TABLE jotty_registry; --", "shop/products' OR '1'='1", "../etc/passwd"):
        with pytest.raises(ValidationError, match="a source name"):
            await registry.read(evil_name)
    with pytest.raises(ValidationError, match="table= is only for SQLite sources"):
        await registry.add_file(data / "sales_2023.csv", "sales")
        await registry.read("sales", table="products")
    with sqlite3.connect(data / "shop.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM secrets").fetchone() == (1,)
    conn.close()
    assert [s.name for s in await registry.sources()] == ["sales", "shop/products", "shopfile"]
    assert (await registry.read(shop.name)).rows[0]["title"] == "pen"


async def test_reads_are_capped(registry: DataRegistry, tmp_path: Path) -> None:
    big = tmp_path / "wide.csv"
    big.write_text("id,blob\n" + "".join(f"{i},{'x' * 5_000}\n" for i in range(200)))
    await registry.add_file(big, "wide")
    result = await registry.read("wide", limit=1_000)
    assert result.truncated and all(len(r["blob"]) == MAX_CELL + 3 for r in result.rows)
    assert len(json.dumps(result.rows)) <= MAX_CHARS
    text = tmp_path / "long.txt"
    text.write_text("word " * 50_000)
    await registry.add_file(text, "long")
    long = await registry.read("long")
    assert long.truncated and long.text is not None and len(long.text) == MAX_CHARS
    for bad in (0, -1, 1_001, "10", 2.5, True):
        with pytest.raises(ValidationError, match="limit must be a whole number from 1 to 1000"):
            await registry.read("wide", limit=bad)  # type: ignore[arg-type]


async def test_postgres_tables_read_by_registered_name_only(registry: DataRegistry, tmp_path: Path) -> None:
    import psycopg

    from tests.runs.backends import postgres_url

    with postgres_url(tmp_path / "tables") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER, region TEXT, amount NUMERIC)")
            conn.execute("CREATE TABLE payroll (id INTEGER, salary INTEGER)")
            conn.execute("INSERT INTO orders VALUES (1, 'north', 12.5), (2, 'south', 99)")
            conn.execute("INSERT INTO payroll VALUES (1, 100000)")
        source = await registry.add_table("orders", url, "pg/orders", description="Orders by region")
        assert source.kind == "postgres_table" and [c["name"] for c in source.schema] == ["id", "region", "amount"]
        assert source.stats == {"rows": 2}
        result = await registry.read("pg/orders", limit=1)
        assert result.rows == [{"id": 1, "region": "north", "amount": Decimal("12.5")}]
        assert result.truncated
        with pytest.raises(ValidationError, match="plain identifier"):
            await registry.add_table("orders; DROP TABLE payroll", url)
        with pytest.raises(NotFoundError, match="no table 'missing'"):
            await registry.add_table("missing", url)
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT COUNT(*) FROM payroll").fetchone() == (1,)
