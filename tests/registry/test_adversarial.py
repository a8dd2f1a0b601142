"""What an adversarial review found: deep JSON, names a scan makes, NULs in data, a PostgreSQL
password, a model's wrong argument types, very wide files, a folder swapped for a link while a file
is opened, a table added to a registered SQLite file. Each failed before its fix."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jotty.db.location import redact
from jotty.errors import NotFoundError, ValidationError
from jotty.registry import DataRegistry, reader
from jotty.registry.reader import MAX_CHARS
from tests.runs.backends import postgres_url


def nested_json(depth: int) -> str:
    text = "1"
    for _ in range(depth):
        text = '{"a": ' + text + "}"
    return text


async def test_json_nested_too_deep_is_a_problem_of_its_file(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "good.csv").write_text("a,b\n1,2\n")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValidationError, match="nests its data too deeply to inspect: flatten it"):
        await registry.add_file(folder / "deep.json", "deep")
    report = await registry.scan(folder, name="d")
    assert [p.path for p in report.problems] == ["deep.json"]
    assert [s.name for s in await registry.sources()] == ["d", "d/good.csv"]


async def test_nested_values_are_read_capped(registry: DataRegistry, tmp_path: Path) -> None:
    path = tmp_path / "nested.json"
    path.write_text("[" + nested_json(600) + "]")
    await registry.add_file(path, "nested")  # Python parses 600 levels; reading used to recurse past its limit
    read = json.dumps((await registry.read("nested")).to_dict())
    assert "nested deeper than 20 levels" in read and len(read) < MAX_CHARS


async def test_an_artifact_nested_too_deep_is_refused(registry: DataRegistry) -> None:
    value: list[object] = []
    for _ in range(5_000):
        value = [value]
    with pytest.raises(ValidationError, match="artifact 'deep': the value cannot be stored as JSON"):
        await registry.add_artifact("deep", value)
    assert await registry.sources() == []


async def test_a_scan_reports_files_whose_names_collide_or_are_not_valid(
    registry: DataRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("a b.csv", "a_b.csv", "report..final.csv", "L" * 250 + ".csv"):
        (folder / name).write_text("x\n1\n")
    report = await registry.scan(folder, name="d")
    problems = {p.path: p.error for p in report.problems}
    assert "is taken by a b.csv" in problems["a_b.csv"]
    assert "its source name (made from its path" in problems["report..final.csv"]
    assert "its source name (made from its path" in problems["L" * 250 + ".csv"]
    assert [s.name for s in await registry.sources()] == ["d", "d/a_b.csv"]
    assert (await registry.get("d/a_b.csv")).location == str(folder / "a b.csv")  # the first stays, not overwritten
    for source in await registry.sources():  # every source a scan registers can be read and removed
        await registry.read(source.name)
        assert await registry.remove(source.name)


async def test_a_nul_in_a_files_data_is_left_out_of_its_description(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "good.csv").write_text("a,b\n1,2\n")
    (folder / "nul.json").write_text(json.dumps([{"a\u0000b": "x\u0000y"}]))
    report = await registry.scan(folder, name="d")
    assert report.problems == []
    found = await registry.get("d/nul.json")
    assert "\x00" not in found.description
    assert [h.source.name for h in await registry.discover("nul", k=1)] == ["d/nul.json"]


async def test_a_postgres_password_is_shown_to_no_one(registry: DataRegistry, tmp_path: Path) -> None:
    with postgres_url(tmp_path / "tables") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER)")
        secret = url.replace("postgresql://postgres@", "postgresql://postgres:hunter2secret@", 1)
        await registry.add_table("orders", secret, "pg/orders")
        tools = {t.name: t for t in registry.tools()}
        described = json.dumps(await tools["describe_data"].call({"name": "pg/orders"}), default=str)
        assert "hunter2secret" not in described and ":***@" in described
        assert "hunter2secret" not in json.dumps((await registry.get("pg/orders")).to_dict())
        assert (await registry.read("pg/orders")).rows == []  # the stored URL still reads the table
        with pytest.raises(ValidationError, match=r"is a database: say which table") as refused:
            await registry.add(secret)
        assert "hunter2secret" not in str(refused.value)


async def test_a_models_wrong_argument_types_are_clear_errors(registry: DataRegistry, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    await registry.add_file(tmp_path / "a.csv", "a")
    tools = {t.name: t for t in registry.tools()}
    for name, arguments in (
        ("read_data", {"name": "a", "limit": "5"}),
        ("read_data", {"name": "a", "limit": None}),
        ("search_data", {"query": "a", "k": "3"}),
        ("read_data", {"name": "a", "bogus": 1}),
    ):
        with pytest.raises(ValidationError, match=f"tool '{name}'"):
            await tools[name].call(arguments)


async def test_reading_and_describing_a_very_wide_file_are_capped(registry: DataRegistry, tmp_path: Path) -> None:
    columns = 100_000
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n")
    await registry.add_file(path, "wide")
    tools = {t.name: t for t in registry.tools()}
    read = await tools["read_data"].call({"name": "wide"})
    assert len(json.dumps(read)) <= MAX_CHARS and read["truncated"] and len(read["rows"]) == 1
    described = await tools["describe_data"].call({"name": "wide"})
    assert len(json.dumps(described)) <= MAX_CHARS and described["left_out"] == ["columns past the first 200"]


async def test_a_folder_swapped_for_a_link_while_a_file_is_opened_is_not_followed(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, outside = tmp_path / "data", tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    (folder / "sub" / "a.csv").write_text("x\n1\n")
    (outside / "a.csv").write_text("token\nhunter2\n")
    await registry.add_folder(folder, "data")
    checked = reader.inside

    def swap_after_check(*args: str) -> str:
        real = checked(*args)
        os.rename(folder / "sub", tmp_path / "old-sub")
        os.symlink(outside, folder / "sub")
        return real

    monkeypatch.setattr(reader, "inside", swap_after_check)
    with pytest.raises(ValidationError, match="changed while it was opened"):
        await registry.read("data", path="sub/a.csv")


async def test_a_table_added_later_is_not_readable_through_the_folder(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with sqlite3.connect(folder / "shop.db") as conn:
        conn.execute("CREATE TABLE products (id INTEGER)")
    conn.close()
    await registry.scan(folder, name="data")
    with sqlite3.connect(folder / "shop.db") as conn:
        conn.execute("CREATE TABLE added_later (token TEXT)")
    conn.close()
    for name, path in (("data/shop.db", None), ("data", "shop.db")):
        with pytest.raises(ValidationError, match=r"'added_later' is not registered in data/shop\.db"):
            await registry.read(name, path=path, table="added_later")
    assert (await registry.read("data", path="shop.db", table="products")).rows == []
    await registry.add_folder(folder, "plain")  # a folder whose files are not registered on their own
    with pytest.raises(ValidationError, match=r"'shop\.db' in plain is not registered on its own"):
        await registry.read("plain", path="shop.db", table="products")


def test_the_cli_says_in_one_line_that_a_file_nests_too_deeply(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    command = [
        sys.executable,
        "-m",
        "jotty",
        "data",
        "add",
        str(tmp_path / "deep.json"),
        "--db",
        str(tmp_path / "j.db"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-300:]
    assert done.stderr.startswith("error:") and "nests its data too deeply" in done.stderr


async def test_nan_and_infinity_never_reach_json_output(registry: DataRegistry, tmp_path: Path) -> None:
    path = tmp_path / "readings.json"
    path.write_text(
        '[{"sensor": "a", "value": NaN}, {"sensor": "b", "value": Infinity}, {"sensor": "c", "value": 2.5}]'
    )
    source = await registry.add_file(path, "readings")
    strict = {"allow_nan": False}
    stats = json.dumps(source.to_dict(), **strict)  # raises on NaN
    assert '"min": 2.5' in stats and '"nulls": 2' in stats and "nan" not in source.description
    read = json.dumps((await registry.read("readings")).to_dict(), **strict)
    assert '"value": "nan"' in read and '"value": "inf"' in read
    with pytest.raises(ValidationError, match="cannot be stored as JSON"):
        await registry.add_artifact("bad", {"x": float("nan")})


async def test_small_things_a_review_found_say_what_they_are(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ragged.csv").write_text("a,b\n1,2\n")
    await registry.add_folder(folder, "d")
    await registry.add_artifact("answer", {"x": 1})
    with pytest.raises(ValidationError, match="answer is a run_output; path= is only for folders"):
        await registry.read("answer", path="x.csv")  # path= was ignored for anything but a file
    (folder / "ragged.csv").write_text("a,b\n1,2,3\n")  # changed since: a row longer than its header
    with pytest.raises(ValidationError, match="line 2 has more fields than its header"):
        await registry.read("d", path="ragged.csv")
    folder_file = tmp_path / "gone"
    folder_file.mkdir()
    await registry.add_folder(folder_file, "gone")
    folder_file.rmdir()
    folder_file.write_text("now a file")
    with pytest.raises(NotFoundError, match="is gone or no longer a folder"):
        await registry.read("gone")


def test_a_password_in_the_query_string_is_hidden_too() -> None:
    assert redact("postgresql://postgres@127.0.0.1:5432/test?password=s3cret").endswith("?password=***")
    assert redact("postgresql:///test?host=127.0.0.1&user=postgres&password=s3cret") == (
        "postgresql:///test?host=127.0.0.1&user=postgres&password=***"
    )
    assert redact("postgresql://u:pw@h/db?options=-c%20x") == "postgresql://u:***@h/db?options=-c%20x"


async def test_describe_data_of_wide_tables_or_long_names_fits(registry: DataRegistry, tmp_path: Path) -> None:
    path = tmp_path / "wide.sqlite"
    columns = ", ".join(f"a_rather_long_descriptive_column_name_{i:04d} INTEGER" for i in range(1_990))
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE t ({columns})")
        conn.execute(f"CREATE TABLE u ({columns})")
    conn.close()
    await registry.add_file(path, "wide")
    (tmp_path / "long.csv").write_text(
        ",".join(f"c{i}_" + "x" * 900 for i in range(150)) + "\n" + ",".join("1" * 150) + "\n"
    )
    await registry.add_file(tmp_path / "long.csv", "long")
    tools = {t.name: t for t in registry.tools()}
    for name in ("wide", "long"):
        described = await tools["describe_data"].call({"name": name})
        assert len(json.dumps(described, default=str)) <= MAX_CHARS and described["left_out"], name


async def test_a_folder_that_cannot_be_listed_is_a_scan_problem(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied cannot be had as root (as these tests run): the listing's own error is
    raised for one folder instead, as os.scandir raises it there."""
    folder = tmp_path / "d"
    (folder / "locked").mkdir(parents=True)
    (folder / "good.csv").write_text("a\n1\n")
    (folder / "locked" / "hidden.csv").write_text("a\n2\n")
    listing = os.scandir

    def refused(path: Any = ".") -> Any:
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", refused)
    report = await registry.scan(folder, name="d")
    assert [(p.path, p.error.split(" (")[0]) for p in report.problems] == [("locked", "a folder that cannot be listed")]
    assert [s.name for s in report.sources] == ["d", "d/good.csv"]
