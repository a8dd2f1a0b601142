"""Inspecting one file: its format, schema (columns and types), size and statistics.

CSV/TSV, JSON (a list of objects, or one object), JSONL and SQLite files get a schema; other text
files get line and word counts; files with NUL bytes and no known format are ``binary``. A file that
claims a text format but is not UTF-8, a malformed CSV/JSON/JSONL, an unreadable or over-large file
raises ``ValidationError`` saying what to fix.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jotty.errors import ValidationError
from jotty.registry.columns import Profile
from jotty.unicode import sendable

MAX_BYTES = 256 * 1024 * 1024
"""Files larger than this are refused by default (``max_bytes=`` changes it)."""
MAX_JSON_BYTES = 64 * 1024 * 1024
"""A whole-document JSON file is parsed at once; larger ones must be JSONL."""
PROFILE_ROWS = 100_000
"""Rows profiled for statistics (all rows are counted)."""
TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PLAIN_TEXT = {".txt", ".md", ".rst", ".log", ".yaml", ".yml", ".toml", ".ini", ".html", ".xml", ".py", ".sql"}
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SUFFIXES = {".db", ".sqlite", ".sqlite3"}
LOCK_WAIT = 5.0
"""Seconds a read of an SQLite file waits for another program's write lock."""


@dataclass
class Probe:
    """What inspecting a file found."""

    format: str
    size: int
    schema: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    sample: list[Any] = field(default_factory=list)


def long_number() -> str:
    """What is wrong with JSON that holds an integer longer than Python reads (``ValueError``, not
    ``JSONDecodeError``), and the fix."""
    return (
        f"holds a number of more than {sys.get_int_max_str_digits():,} digits, which is not read: "
        "write it as text (in quotes)"
    )


def probe_file(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> Probe:
    """Inspect the file at ``path`` (see the module doc)."""
    where = os.fspath(path)
    try:
        return _probe(where, max_bytes)
    except RecursionError as exc:  # JSON nested thousands deep: the parser (or the profile) gives up
        raise ValidationError(f"{where} nests its data too deeply to inspect: flatten it") from exc


def _probe(where: str, max_bytes: int) -> Probe:
    try:
        info = os.stat(where)
    except OSError as exc:
        raise ValidationError(f"cannot read {where}: {exc.strerror or exc}; give an existing, readable file") from exc
    if os.path.isdir(where):
        raise ValidationError(f"{where} is not a regular file: register a folder with add_folder or scan")
    if not os.path.isfile(where):  # a pipe, socket or device: reading it could block or never end
        raise ValidationError(f"{where} is not a regular file (a pipe, socket or device): only files are registered")
    if info.st_size > max_bytes:
        raise ValidationError(
            f"{where} is {info.st_size:,} bytes, over the limit of {max_bytes:,}: pass max_bytes= to inspect it, "
            "or split it"
        )
    suffix = Path(where).suffix.lower()
    try:
        with open(where, "rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        raise ValidationError(f"cannot read {where}: {exc.strerror or exc}; check its permissions") from exc
    if head.startswith(SQLITE_MAGIC):
        return _sqlite(where, info.st_size)
    if suffix in SQLITE_SUFFIXES and head:
        raise ValidationError(f"{where} is named like an SQLite database but is not one (no SQLite header)")
    fmt = TEXT_FORMATS.get(suffix)
    if fmt is None and suffix not in PLAIN_TEXT and b"\x00" in head:
        return Probe("binary", info.st_size)
    text = _decode(where, fmt is not None or suffix in PLAIN_TEXT)
    if text is None:
        return Probe("binary", info.st_size)
    if fmt in ("csv", "tsv"):
        return _csv(where, text, info.st_size, "\t" if fmt == "tsv" else None, fmt)
    if fmt == "json":
        if info.st_size > MAX_JSON_BYTES:
            raise ValidationError(
                f"{where} is {info.st_size:,} bytes, too large to parse as one JSON document: write it as JSONL"
            )
        return _json(where, text, info.st_size)
    if fmt == "jsonl":
        return _jsonl(where, text, info.st_size)
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    return Probe("text", info.st_size, stats={"lines": lines, "words": len(text.split())}, sample=[text[:500]])


def csv_error(where: str, exc: csv.Error, line: int) -> ValidationError:
    """What ``csv`` refused on ``line`` of ``where``, and the fix."""
    if "field larger than field limit" in str(exc):  # valid CSV, but more than the csv module reads
        return ValidationError(
            f"{where}: line {line} has a cell of more than {csv.field_size_limit():,} characters, more than a CSV "
            "cell may hold here: shorten it or write the data as JSON Lines"
        )
    return ValidationError(f"{where} is not valid CSV (line {line}: {exc}): fix the quoting")


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(where: str, must: bool) -> str | None:
    with open(where, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not must:
            return None
        for bom, encoding in _BOMS:
            if data.startswith(bom):
                raise ValidationError(
                    f"{where} is {encoding} text (it starts with the {encoding} byte order mark): convert it to "
                    f"UTF-8 (for example iconv -f {encoding} -t UTF-8)"
                ) from exc
        raise ValidationError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): convert it to UTF-8 "
            "(for example iconv -f latin1 -t utf-8)"
        ) from exc


def _tabular(fmt: str, size: int, rows: Iterable[dict[str, Any]], order: list[str] | None = None) -> Probe:
    profile = Profile(order or [])
    sample: list[Any] = []
    for row in rows:
        if profile.rows < PROFILE_ROWS:
            profile.add(row)
        else:
            profile.rows += 1
        if len(sample) < 5:
            sample.append(row)
    stats = profile.stats()
    if profile.rows > PROFILE_ROWS:
        stats["profiled_rows"] = PROFILE_ROWS
    return Probe(fmt, size, profile.schema(), stats, sample)


def _csv(where: str, text: str, size: int, delimiter: str | None, fmt: str) -> Probe:
    if not text.strip():
        raise ValidationError(f"{where} is empty: a CSV file needs a header row")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise csv_error(where, exc, reader.line_num) from exc
    if len(set(header)) != len(header) or any(not h.strip() for h in header):
        raise ValidationError(f"{where}: the CSV header {header!r} has empty or repeated column names: name each once")

    def rows() -> Iterator[dict[str, Any]]:
        try:
            for number, values in enumerate(reader, start=2):
                if not values:
                    continue
                if len(values) != len(header):
                    raise ValidationError(
                        f"{where} is not valid CSV: line {number} has {len(values)} fields, the header {len(header)}"
                    )
                yield dict(zip(header, values, strict=True))
        except csv.Error as exc:
            raise csv_error(where, exc, reader.line_num) from exc

    return _tabular(fmt, size, rows(), header)


EMPTY_JSON = "is empty: a JSON file holds one document (a list of objects, or an object); write one or remove the file"


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def unicode_only(value: Any) -> Any:
    """``value`` (parsed JSON) with lone surrogates in its strings and keys replaced by U+FFFD, as
    a decoder replaces bytes that are not UTF-8: the store, the index and an LLM request take only
    Unicode text."""
    if isinstance(value, str):
        return sendable(value)
    if isinstance(value, list):
        return [unicode_only(item) for item in value]
    if isinstance(value, dict):
        return {sendable(key): unicode_only(item) for key, item in value.items()}
    return value


def _json(where: str, text: str, size: int) -> Probe:
    if not text.strip():
        raise ValidationError(f"{where} {EMPTY_JSON}")
    try:
        data = unicode_only(json.loads(text)) if _ESCAPED_SURROGATE.search(text) else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except ValueError as exc:
        raise ValidationError(f"{where} {long_number()}") from exc
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if isinstance(value, list) and value]
        if len(lists) == 1 and all(isinstance(item, dict) for item in data[lists[0]]):
            probe = _tabular("json", size, data[lists[0]])
            probe.stats["records_key"] = lists[0]
            return probe
        data = [data]
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        return _tabular("json", size, data)
    return Probe("json", size, stats={"items": len(data) if isinstance(data, list) else 1}, sample=[data][:1])


def _jsonl(where: str, text: str, size: int) -> Probe:
    def rows() -> Iterator[dict[str, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = unicode_only(json.loads(line)) if _ESCAPED_SURROGATE.search(line) else json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{where} is not valid JSONL: line {number}: {exc.msg}") from exc
            except ValueError as exc:
                raise ValidationError(f"{where}: line {number} {long_number()}") from exc
            if not isinstance(item, dict):
                raise ValidationError(f"{where} is not valid JSONL: line {number} is not a JSON object")
            yield item

    return _tabular("jsonl", size, rows())


def sqlite_readonly(where: str) -> sqlite3.Connection:
    """A read-only connection to an SQLite file (it is never created or written)."""
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(where))}?mode=ro", uri=True, timeout=LOCK_WAIT)
    conn.execute("PRAGMA query_only = 1")
    return conn


def sqlite_locked(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says that another connection holds the file's lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


LOCKED = "is locked by another program writing it: try again when it is done"


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def sqlite_columns(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """The columns of ``table`` (its name checked against ``sqlite_master`` by the caller)."""
    rows = conn.execute(f"PRAGMA table_xinfo({quote_identifier(table)})")  # table_info hides generated columns
    return [{"name": row[1], "type": (row[2] or "any").lower()} for row in rows if row[6] != 1]  # 1: hidden


def _sqlite(where: str, size: int) -> Probe:
    try:
        with contextlib.closing(sqlite_readonly(where)) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            schema = []
            skipped: dict[str, str] = {}
            for table in tables:
                try:
                    rows = int(conn.execute(f"SELECT COUNT(*) FROM {quote_identifier(table)}").fetchone()[0])
                except sqlite3.OperationalError as exc:  # a virtual table of an extension (sqlite-vec, ...)
                    module = str(exc).removeprefix("no such module: ")
                    if module == str(exc):
                        raise
                    skipped[table] = f"it needs the SQLite module {module}, which is not loaded here"
                    continue
                schema.append({"table": table, "rows": rows, "columns": sqlite_columns(conn, table)})
    except sqlite3.DatabaseError as exc:
        if sqlite_locked(exc):
            raise ValidationError(f"{where} {LOCKED}") from exc
        raise ValidationError(f"{where} is a damaged SQLite database ({exc}): repair it or leave it out") from exc
    stats: dict[str, Any] = {"tables": len(schema)}
    if skipped:
        stats["skipped_tables"] = skipped
    return Probe("sqlite", size, schema, stats)
