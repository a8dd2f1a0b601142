"""An adversarial hunt over the tables a registry reads: a locked SQLite file, columns the registered
schema does not show, huge cells, PostgreSQL views and catalog names, ``table=`` where it means
nothing. Each failed before its fix; refusals leave the registry unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from jotty.errors import NotFoundError, ValidationError
from jotty.registry import DataRegistry, probe, reader
from jotty.registry.reader import MAX_CELL
from tests.runs.backends import postgres_url


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


def generated(path: Path, rows: int = 30) -> None:
    """A small file whose table computes a 10 MB cell per row (a generated column), and stores a 3 MB blob."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (a INTEGER, blob BLOB)")
        conn.executemany("INSERT INTO t (a, blob) VALUES (?, zeroblob(3000000))", [(i,) for i in range(rows)])
        conn.execute("ALTER TABLE t ADD COLUMN big TEXT AS (hex(zeroblob(5000000))) VIRTUAL")  # inserts compute it


async def test_huge_sqlite_cells_are_capped_in_the_query_not_after_it(registry: DataRegistry, tmp_path: Path) -> None:
    path = tmp_path / "gen.db"
    generated(path)
    source = await registry.add_table("t", path, "gen")
    assert source.columns == ["a", "blob", "big"]  # PRAGMA table_info leaves generated columns out
    await registry.add_file(path, "genfile")
    assert (await registry.get("genfile")).columns == ["a", "blob", "big"]
    for name, table in (("gen", None), ("genfile", "t")):
        tracemalloc.start()
        try:
            read = await registry.read(name, 20, table=table)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000_000, f"{peak:,} bytes to read 20 rows"  # was 20 x 10 MB + 20 x 3 MB
        assert read.columns == ["a", "blob", "big"] and read.truncated
        first = read.rows[0]
        assert first["blob"] == "<3000000 bytes>" and first["big"] == "0" * MAX_CELL + "..."


BOOM = """CREATE FUNCTION boom() RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the view ran'; END $$"""


async def test_postgres_reads_only_the_base_table_it_checked(registry: DataRegistry, tmp_path: Path) -> None:
    user = f"jotty_hunt_{os.getpid()}"
    role = sql.Identifier(user)
    with postgres_url(tmp_path / "tables") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(BOOM)
            conn.execute("CREATE VIEW running AS SELECT boom() AS x")
            conn.execute("CREATE TABLE orders (id INTEGER)")
            conn.execute("INSERT INTO orders VALUES (1)")
            conn.execute("CREATE TABLE pg_settings (mine INTEGER)")  # pg_catalog is searched first
            here = sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]
            conn.execute(sql.SQL("INSERT INTO {}.pg_settings VALUES (7)").format(here))
            conn.execute("CREATE TABLE docs (id INTEGER, body TEXT, raw BYTEA)")
            conn.execute(
                "INSERT INTO docs SELECT i, repeat('x', 1500000), '\\x00'::bytea FROM generate_series(1, 30) i"
            )
        await registry.add_table("orders", url, "pg/orders")
        before = await registry.sources()
        with pytest.raises(ValidationError, match=r"'running' is a view, not a table.*register the tables it reads"):
            await registry.add_table("running", url)  # ran the view (a raw RaiseException)
        assert await registry.sources() == before
        settings = await registry.add_table("pg_settings", url, "pg/settings")
        assert settings.columns == ["mine"] and settings.stats == {"rows": 1}
        assert (await registry.read("pg/settings")).rows == [{"mine": 7}]  # was the server's pg_catalog.pg_settings
        tracemalloc.start()
        try:
            await registry.add_table("docs", url, "pg/docs")
            read = await registry.read("pg/docs", 20)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 12_000_000, f"{peak:,} bytes to read 20 rows"  # was 21 x 1.5 MB
        assert read.rows[0] == {"id": 1, "body": "x" * MAX_CELL + "...", "raw": "<1 bytes>"} and read.truncated
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE orders")
            conn.execute("CREATE VIEW orders AS SELECT boom() AS id")
        with pytest.raises(ValidationError, match=r"'orders' is a view, not a table"):
            await registry.read("pg/orders")  # the view swapped in ran
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP VIEW orders")
            conn.execute("CREATE TABLE orders (id INTEGER)")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(here, role))
            conn.execute(sql.SQL("GRANT INSERT ON orders TO {}").format(role))  # it sees the table, cannot read it
        try:
            reader_url = url.replace("postgresql://postgres@", f"postgresql://{user}@", 1)
            with pytest.raises(ValidationError, match=r"cannot read table 'orders'.*permission denied"):
                await registry.add_table("orders", reader_url, "pg/denied")  # a raw InsufficientPrivilege
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
                conn.execute(sql.SQL("DROP ROLE {}").format(role))


async def test_a_table_that_computes_huge_or_slow_cells_is_refused_in_time(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "READ_SECONDS", 0.5)
    path = tmp_path / "bomb.db"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # 8 KB that compute 80 MB, or 4 MB, per row
        for table, rows, size in (("huge", 3, "40000000"), ("slow", 300, "2000000 + a")):  # + a: once per row
            conn.execute(f"CREATE TABLE {table} (a INTEGER)")
            conn.executemany(f"INSERT INTO {table} VALUES (?)", [(i,) for i in range(rows)])
            conn.execute(f"ALTER TABLE {table} ADD COLUMN cell TEXT AS (hex(zeroblob({size}))) VIRTUAL")
    await registry.add_file(path, "bomb")
    started = time.monotonic()
    with pytest.raises(ValidationError, match=r"'huge' of bomb has a cell of more than 67,108,864 bytes, or computes"):
        await registry.read("bomb", 1, table="huge")
    with pytest.raises(ValidationError, match=r"reading table 'slow' of bomb took more than 0.5 s.*read fewer rows"):
        await registry.read("bomb", 1_000, table="slow")  # took 3 s, then returned 300 capped cells
    assert time.monotonic() - started < 2.5
    assert (await registry.read("bomb", 1, table="slow")).rows[0]["a"] == 0


async def test_a_table_named_where_there_is_none_to_choose_is_refused(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    with contextlib.closing(sqlite3.connect(folder / "shop.db")) as conn, conn:
        conn.execute("CREATE TABLE products (id INTEGER)")
        conn.execute("CREATE TABLE secrets (token TEXT)")
        conn.execute("INSERT INTO secrets VALUES ('hunter2')")
    await registry.scan(folder, name="d")
    await registry.add_table("products", folder / "shop.db", "products")
    await registry.add_artifact("answer", [1, 2])
    tools = {t.name: t for t in registry.tools()}
    for arguments, message in (  # each was ignored: a listing, the products, the answer
        ({"name": "d", "table": "secrets"}, r"table= for the folder d needs path=, the SQLite file inside it"),
        ({"name": "products", "table": "secrets"}, r"products is the table products of .*shop\.db: leave table= out"),
        ({"name": "answer", "table": "secrets"}, r"table= is only for SQLite sources; answer is a run_output"),
    ):
        with pytest.raises(ValidationError, match=message):
            await tools["read_data"].call(arguments)
    assert (await tools["read_data"].call({"name": "products", "table": "products"}))["rows"] == []
    assert (await tools["read_data"].call({"name": "d", "path": "shop.db", "table": "secrets"}))["rows"] == [
        {"token": "hunter2"}  # scanned, so registered with its tables
    ]


def extension_table(path: Path) -> None:
    """An SQLite file with a plain table and a virtual table of an extension this Python has not
    loaded (as sqlite-vec writes it)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE notes (id INTEGER, body TEXT)")
        conn.execute("INSERT INTO notes VALUES (1, 'hello')")
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'vectors', 'vectors', "
            "0, 'CREATE VIRTUAL TABLE vectors USING vec0(embedding float[4])')"
        )


async def test_a_table_of_an_sqlite_extension_not_loaded_leaves_the_others_readable(
    registry: DataRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "memory.db"
    extension_table(path)
    source = await registry.add_file(path, "memory")  # was: "a damaged SQLite database: repair it"
    assert [t["table"] for t in source.schema] == ["notes"]
    assert source.stats["skipped_tables"] == {"vectors": "it needs the SQLite module vec0, which is not loaded here"}
    assert (await registry.read("memory", table="notes")).rows == [{"id": 1, "body": "hello"}]
    before = await registry.sources()
    with pytest.raises(ValidationError, match=r"table 'vectors' of .*memory\.db cannot be read: it needs the SQLite"):
        await registry.add_table("vectors", path)
    assert await registry.sources() == before


async def test_a_locked_postgres_table_is_said_to_be_locked_not_waited_on(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "LOCK_WAIT", 0.2)
    with postgres_url(tmp_path / "tables") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER)")
            conn.execute("CREATE TABLE stock (id INTEGER)")
        await registry.add_table("orders", url, "pg/orders")
        before = await registry.sources()
        locker = psycopg.connect(url)  # a migration holding its lock: ALTER TABLE, VACUUM FULL, LOCK TABLE
        try:
            locker.execute("LOCK TABLE orders, stock IN ACCESS EXCLUSIVE MODE")
            message = r"table '(orders|stock)' is locked by another session.*try again when it is done"
            for call in (registry.read("pg/orders"), registry.add_table("stock", url, "pg/stock")):
                with pytest.raises(ValidationError, match=message):
                    await asyncio.wait_for(call, 3)  # waited as long as the lock was held
        finally:
            locker.rollback()
            locker.close()
        assert await registry.sources() == before
        assert (await registry.read("pg/orders")).rows == []


async def test_sqlite_table_names_beyond_plain_identifiers_are_refused_and_nothing_is_written(
    registry: DataRegistry, tmp_path: Path
) -> None:
    """A probe that found nothing: names with spaces, quotes, unicode, another case, a schema, a view."""
    path = tmp_path / "odd.db"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        for name in ("my table", 'say "hi"', "prödukte", "Products", "semi;colon"):
            conn.execute(f"CREATE TABLE {probe.quote_identifier(name)} (id INTEGER)")
        conn.execute("CREATE VIEW everything AS SELECT * FROM Products")
    written = path.stat().st_mtime_ns, path.read_bytes()
    source = await registry.add_file(path, "odd")
    assert sorted(t["table"] for t in source.schema) == sorted(
        ["my table", 'say "hi"', "prödukte", "Products", "semi;colon"]
    )
    for table in ("my table", 'say "hi"', "prödukte", "semi;colon", "main.Products", "temp.x", "Products--"):
        with pytest.raises(ValidationError, match="must be a plain identifier"):
            await registry.read("odd", table=table)
        with pytest.raises(ValidationError, match="must be a plain identifier"):
            await registry.add_table(table, path)
    for table in ("products", "PRODUCTS", "everything", "sqlite_master"):
        with pytest.raises(ValidationError, match=rf"table '{table}' is not registered in odd"):
            await registry.read("odd", table=table)
    with pytest.raises(NotFoundError, match="no table 'everything'"):
        await registry.add_table("everything", path)
    assert (await registry.read("odd", table="Products")).rows == []
    assert [s.name for s in await registry.sources()] == ["odd"]
    assert (path.stat().st_mtime_ns, path.read_bytes()) == written
