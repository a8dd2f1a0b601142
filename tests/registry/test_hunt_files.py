"""An adversarial hunt over what files hold: numbers too long or too large to read, file names that
are not UTF-8, cells and lines too large, encodings, binary files. Each failed before its fix; the
registry is checked unchanged after each refusal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tracemalloc
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from jotty.errors import ValidationError
from jotty.registry import DataRegistry, reader
from jotty.registry.reader import MAX_CHARS, MAX_LINE

T = TypeVar("T")


async def names(registry: DataRegistry) -> list[str]:
    return [s.name for s in await registry.sources()]


async def test_a_json_number_too_long_for_python_is_a_problem_of_its_file(
    registry: DataRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "good.csv").write_text("a\n1\n")
    (folder / "long.json").write_text('[{"a": ' + "1" * 5_000 + "}]")
    (folder / "long.jsonl").write_text('{"a": 1}\n{"a": ' + "1" * 5_000 + "}\n")
    for file, where in (("long.json", "long.json"), ("long.jsonl", "line 2")):
        with pytest.raises(ValidationError, match=rf"{where}.*more than 4,300 digits.*write it as text"):
            await registry.add_file(folder / file)
    report = await registry.scan(folder, name="d")  # used to stop the whole scan with a bare ValueError
    assert sorted(p.path for p in report.problems) == ["long.json", "long.jsonl"]
    assert await names(registry) == ["d", "d/good.csv"]
    (folder / "good.csv").write_text("a\n1\n")
    (tmp_path / "later.jsonl").write_text('{"a": 1}\n')
    await registry.add_file(tmp_path / "later.jsonl", "later")
    (tmp_path / "later.jsonl").write_text('{"a": ' + "9" * 5_000 + "}\n")  # changed since it was registered
    with pytest.raises(ValidationError, match=r"later is malformed.*more than 4,300 digits"):
        await registry.read("later")


async def test_numbers_out_of_a_floats_range_leave_no_infinity_in_the_statistics(
    registry: DataRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("a,b,c\n1e400,5,1e308\n-1e400,7,1e308\n2," + "9" * 400 + ",\n")
    source = await registry.add_file(path, "huge")
    stats = json.dumps(source.to_dict(), allow_nan=False)  # raised: Infinity and NaN are not JSON
    assert source.stats["columns"]["a"] == {"nulls": 0, "distinct": 3, "min": 2, "max": 2, "mean": 2.0}
    assert "inf" not in source.description and "nan" not in stats.lower()
    assert source.stats["columns"]["c"] == {"nulls": 1, "distinct": 1, "min": 1e308, "max": 1e308}  # no mean
    assert [c["type"] for c in source.schema] == ["number", "integer", "number"]


LATIN1 = os.fsdecode(b"caf\xe9")
"""A name as a Linux folder may hold it: Latin-1 bytes, not UTF-8 (``os`` gives it a lone surrogate)."""


async def test_a_file_name_that_is_not_utf8_is_a_problem_of_its_file(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ok.csv").write_text("a\n1\n")
    (folder / f"{LATIN1}.csv").write_text("a\n2\n")
    report = await registry.scan(folder, name="d")  # the whole scan failed, naming no file
    assert [p.path for p in report.problems] == ["caf\\xe9.csv"]
    assert "its path is not UTF-8" in report.problems[0].error and "rename it" in report.problems[0].error
    assert await names(registry) == ["d", "d/ok.csv"]
    with pytest.raises(ValidationError, match=r"caf\\xe9\.csv: its path is not UTF-8.*rename it"):
        await registry.add_file(folder / f"{LATIN1}.csv")  # a bare UnicodeEncodeError from the store
    other = tmp_path / LATIN1
    other.mkdir()
    for call in (registry.add_folder(other), registry.scan(other, name="x")):
        with pytest.raises(ValidationError, match="its path is not UTF-8"):
            await call
    assert await names(registry) == ["d", "d/ok.csv"]
    listing = (await registry.read("d")).to_dict()  # what read_data gives a model: it must encode to UTF-8
    json.dumps(listing, ensure_ascii=False).encode("utf-8")
    assert [r["path"] for r in listing["rows"]] == ["caf\\xe9.csv", "ok.csv"]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


async def test_a_binary_file_is_said_to_be_binary_when_read(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "logo.png").write_bytes(PNG)
    (folder / "blob").write_bytes(b"\x00\x01" * 100)
    await registry.add_file(folder / "logo.png", "logo")
    await registry.add_folder(folder, "d")
    for name, path, label in (("logo", None, "logo"), ("d", "logo.png", "d/logo.png"), ("d", "blob", "d/blob")):
        with pytest.raises(ValidationError, match=rf"{label} is a binary file: it has no rows or text to read"):
            await registry.read(name, path=path)  # said: "not UTF-8 text: convert it to UTF-8"


async def test_a_csv_cell_over_the_csv_modules_limit_is_named_as_such(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "notes.csv").write_text('id,note\n1,short\n2,"' + "word " * 40_000 + '"\n')
    message = r"notes\.csv: line 3 has a cell of more than 131,072 characters.*shorten it or write the data as JSON"
    with pytest.raises(ValidationError, match=message):
        await registry.add_file(folder / "notes.csv")  # said: "not valid CSV (...): fix the quoting"
    assert await names(registry) == []
    await registry.add_folder(folder, "d")
    with pytest.raises(ValidationError, match=r"d/notes\.csv: line 3 has a cell of more than 131,072 characters"):
        await registry.read("d", path="notes.csv")


async def test_a_utf16_file_is_named_utf16_with_the_conversion_that_fits(
    registry: DataRegistry, tmp_path: Path
) -> None:
    for bom in ("utf-16", "utf-32"):
        path = tmp_path / f"{bom}.csv"
        path.write_bytes("name,city\nJosé,São Paulo\n".encode(bom))  # with its byte order mark
        name = bom.upper()
        with pytest.raises(ValidationError, match=rf"is {name} text.*iconv -f {name} -t UTF-8"):
            await registry.add_file(path)  # said: "not UTF-8 ... (for example iconv -f latin1 -t utf-8)"
    assert await names(registry) == []


async def peak_of(call: Awaitable[T]) -> tuple[T, int]:
    """What ``call`` returns, and the most bytes Python held meanwhile."""
    tracemalloc.start()
    try:
        return await call, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_reading_long_lines_holds_what_it_returns_not_the_file(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(json.dumps({"i": i, "body": "w" * 1_000_000}) + "\n" for i in range(30)))
    row = ",".join("c" * 100_000 for _ in range(10))
    (folder / "docs.csv").write_text(",".join(f"c{i}" for i in range(10)) + "\n" + f"{row}\n" * 30)
    (folder / "flat.jsonl").write_text(json.dumps({"body": "w" * (MAX_LINE + 10)}))  # one line, no newline
    await registry.add_folder(folder, "d")
    for path in ("docs.jsonl", "docs.csv"):
        read, peak = await peak_of(registry.read("d", 1_000, path=path))
        assert peak < 15_000_000, f"{path}: {peak:,} bytes held to return {len(read.to_json()):,}"  # was 30 MB+
        assert 0 < len(read.rows) <= 30 and len(read.to_json()) <= MAX_CHARS + 10_000
    with pytest.raises(ValidationError, match=r"d/flat\.jsonl: line 1 is longer than 8,000,000 characters"):
        await registry.read("d", path="flat.jsonl")
    (folder / "bad.jsonl").write_text('{"a": 1}\n\n{"a": 2}\nnot json\n')
    with pytest.raises(ValidationError, match=r"d/bad\.jsonl is not valid JSONL: line 4: Expecting value"):
        await registry.read("d", path="bad.jsonl")  # said "line 1 column 1", the line's own


async def test_a_file_swapped_for_a_pipe_as_it_is_read_is_refused_not_waited_on(
    registry: DataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    await registry.add_folder(folder, "d")
    checked = reader.inside

    def swap_after_check(*args: str) -> str:
        real = checked(*args)
        os.remove(folder / "a.csv")
        os.mkfifo(folder / "a.csv")  # opening it waits for a writer: forever
        return real

    monkeypatch.setattr(reader, "inside", swap_after_check)
    try:
        with pytest.raises(ValidationError, match=r"a\.csv is not a regular file now.*not read"):
            await asyncio.wait_for(registry.read("d", path="a.csv"), 2)
    finally:  # a read stuck opening the pipe: let it go on, to a file
        with contextlib.suppress(OSError):
            writer = os.open(folder / "a.csv", os.O_WRONLY | os.O_NONBLOCK)
            (tmp_path / "again.csv").write_text("x\n1\n")
            os.replace(tmp_path / "again.csv", folder / "a.csv")
            os.close(writer)


async def test_empty_files_and_bad_headers_say_what_to_fix(registry: DataRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    await registry.add_artifact("kept", {"x": 1})
    before = await registry.sources()
    refused = {
        "empty.json": ("", r"empty\.json is empty: a JSON file holds one document"),  # said "Expecting value"
        "blank.json": (" \n", r"blank\.json is empty: a JSON file holds one document"),
        "empty.csv": ("", r"empty\.csv is empty: a CSV file needs a header row"),
        "twice.csv": ("a,b,a\n1,2,3\n", r"header \['a', 'b', 'a'\] has empty or repeated column names"),
        "unnamed.csv": ("a,,b\n1,2,3\n", r"header \['a', '', 'b'\] has empty or repeated column names"),
    }
    for file, (content, message) in refused.items():
        (folder / file).write_text(content)
        with pytest.raises(ValidationError, match=message):
            await registry.add_file(folder / file)
    assert await registry.sources() == before
    (folder / "empty.jsonl").write_text("")
    assert (await registry.add_file(folder / "empty.jsonl", "nothing")).stats == {"rows": 0, "columns": {}}
    await registry.add_folder(folder, "d")
    with pytest.raises(ValidationError, match=r"d/empty\.json is empty: a JSON file holds one document"):
        await registry.read("d", path="empty.json")
    assert (await registry.read("nothing")).rows == []


async def test_links_made_after_registration_are_not_followed(registry: DataRegistry, tmp_path: Path) -> None:
    """A probe that found nothing: a file source's parent folder, a table source's SQLite file and a
    scanned file each become links to outside after they were registered."""
    folder, outside = tmp_path / "d", tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    (folder / "sub" / "a.csv").write_text("x\n1\n")
    (outside / "a.csv").write_text("token\nhunter2\n")
    with contextlib.closing(sqlite3.connect(folder / "shop.db")) as conn, conn:
        conn.execute("CREATE TABLE products (id INTEGER)")
    with contextlib.closing(sqlite3.connect(outside / "shop.db")) as conn, conn:
        conn.execute("CREATE TABLE products (token TEXT)")
        conn.execute("INSERT INTO products VALUES ('hunter2')")
    await registry.scan(folder, name="d")
    await registry.add_file(folder / "sub" / "a.csv", "a")
    await registry.add_table("products", folder / "shop.db", "products")
    os.rename(folder / "sub", tmp_path / "old-sub")
    os.symlink(outside, folder / "sub")  # the parent folder of a.csv
    os.rename(folder / "shop.db", tmp_path / "old.db")
    os.symlink(outside / "shop.db", folder / "shop.db")
    for name, table in (("a", None), ("d/sub/a.csv", None), ("products", None), ("d/shop.db", "products")):
        with pytest.raises(ValidationError, match="is now a symbolic link"):
            await registry.read(name, table=table)
    for path, table in (("sub/a.csv", None), ("shop.db", "products")):
        with pytest.raises(ValidationError, match="leading out of the registered folder"):
            await registry.read("d", path=path, table=table)


async def test_json_escapes_of_lone_surrogates_neither_stop_a_scan_nor_reach_a_model(
    registry: DataRegistry, tmp_path: Path
) -> None:
    """``"caf\\udce9"`` is valid JSON but not Unicode text: Python parses it to a string no UTF-8
    encoder takes (the store's, the index's, an LLM request's)."""
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ok.csv").write_text("a\n1\n")
    (folder / "names.json").write_text('[{"name": "caf\\udce9", "k\\ud800": 1}]')
    (folder / "names.jsonl").write_text('{"name": "caf\\udce9"}\n{"name": "smile \\ud83d\\ude00"}\n')
    report = await registry.scan(folder, name="d")  # the whole scan failed: "item 2 text is not valid Unicode"
    assert report.problems == [] and len(report.sources) == 4
    for name in ("d/names.json", "d/names.jsonl"):
        source = await registry.get(name)
        json.dumps(source.to_dict(), ensure_ascii=False).encode("utf-8")
        read = (await registry.read(name)).to_dict()
        json.dumps(read, ensure_ascii=False).encode("utf-8")  # what a model is sent
        assert read["rows"][0]["name"] == "caf\ufffd"
    assert (await registry.get("d/names.json")).columns == ["name", "k\ufffd"]
    assert (await registry.read("d/names.jsonl")).rows[1] == {"name": "smile \U0001f600"}  # a pair is one character
    await registry.add_folder(folder, "plain")
    json.dumps((await registry.read("plain", path="names.json")).to_dict(), ensure_ascii=False).encode("utf-8")
