"""Reading a registered source, and only that: files where they were registered, files inside a
registered folder (no ``..``, no absolute paths, no symbolic link leading out), and tables by their
registered names (quoted identifiers, read-only connections, ``LIMIT``). What is returned is capped.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jotty.errors import NotFoundError, ValidationError
from jotty.registry.probe import (
    EMPTY_JSON,
    LOCKED,
    MAX_JSON_BYTES,
    PLAIN_TEXT,
    TEXT_FORMATS,
    csv_error,
    long_number,
    quote_identifier,
    sqlite_locked,
    sqlite_readonly,
)
from jotty.registry.records import ReadResult, Source
from jotty.registry.validation import check_identifier
from jotty.registry.walk import shown
from jotty.unicode import SURROGATE, sendable

MAX_CHARS = 100_000
"""The most characters of text (or of one read's cells together) ``read`` returns."""
MAX_CELL = 2_000
MAX_LINE = 8_000_000
"""The most characters of one JSON Lines record a read parses."""
MAX_SQLITE_VALUE = 64 * 1024 * 1024
"""The largest text or blob an SQLite read makes (SQLite's own limit is a gigabyte)."""
READ_SECONDS = 10.0
"""How long one read of an SQLite or PostgreSQL table may run."""
MAX_DEPTH = 20
"""Values nested deeper than this are returned as a note of what was left out."""
MAX_COLUMNS = 200
"""Columns beyond this many are left out of what a read returns (and of ``describe_data``)."""


def read_source(
    source: Source, limit: int, path: str | None = None, table: str | None = None, private: frozenset[str] = frozenset()
) -> ReadResult:
    """Up to ``limit`` rows (or ``MAX_CHARS`` of text) of ``source``; never one of the files
    ``private`` (the registry's own store: ``check_not_private``)."""
    if path is not None and source.kind != "folder":
        raise ValidationError(f"{source.name} is a {source.kind}; path= is only for folders")
    if table is not None and source.kind == "folder" and path is None:
        raise ValidationError(f"table= for the folder {source.name} needs path=, the SQLite file inside it")
    if table is not None and source.kind in ("sqlite_table", "postgres_table") and table != source.table:
        raise ValidationError(
            f"{source.name} is the table {source.table} of {source.shown_location}: leave table= out "
            "(it names a table of an SQLite file source)"
        )
    if table is not None and source.kind == "run_output":
        raise ValidationError(f"table= is only for SQLite sources; {source.name} is a run_output")
    if source.kind == "run_output":
        return _value(source, limit)
    if source.kind == "sqlite_table":
        check_not_private(source.location, private)
        return _sqlite_table(source, _file(source.location, source.name), source.table, limit)
    if source.kind == "postgres_table":
        return _postgres_table(source, limit)
    if source.kind == "folder":
        folder = _folder(source)
        if path is None:
            return _listing(source, folder, limit)
        target = inside(folder, path, source.name)
        check_not_private(target, private)
        return _file_rows(source, target, limit, table, os.path.relpath(target, folder))
    check_not_private(source.location, private)
    return _file_rows(source, _file(source.location, source.name), limit, table, None)


def store_files(database: str) -> frozenset[str]:
    """The files of the SQLite store at ``database``: the file, its journal and write-ahead log."""
    real = os.path.realpath(database)
    return frozenset(real + suffix for suffix in ("", "-wal", "-shm", "-journal"))


def check_not_private(real: str, private: frozenset[str]) -> None:
    """A ``ValidationError`` if ``real`` is one of ``private``, the registry's own store: it holds every
    scope's memories, the queue's tasks and the runs, which no agent reads through the registry."""
    if os.path.realpath(real) in private:
        raise ValidationError(
            f"{shown(real)} is the store this registry lives in (memories, tasks, runs): the registry never "
            "registers or reads it; register a copy of the data you mean, or another file"
        )


def inside(folder: str, path: str, name: str) -> str:
    """The real path of ``path`` within the real folder ``folder``, or a ``ValidationError``."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValidationError(f"path must be a relative path inside {name}, got {path!r}")
    if SURROGATE.search(path):  # JSON's "\udce9": it would reach messages no UTF-8 encoder takes
        raise ValidationError(f"path {path!r} is not Unicode text: give a path as read({name!r}) lists it")
    parts = path.replace("\\", "/").split("/")
    if os.path.isabs(path) or ".." in parts:
        raise ValidationError(
            f"path {path!r} leaves the registered folder {name}: give a path inside it, without '..' or a leading '/'"
        )
    real = os.path.realpath(os.path.join(folder, path))
    if os.path.commonpath([real, folder]) != folder:
        raise ValidationError(
            f"path {path!r} in {name} is a symbolic link leading out of the registered folder (to {real}): "
            "only files inside the folder are read"
        )
    if not os.path.isfile(real):
        raise NotFoundError(
            f"{path!r} is not a file in {name}: list the folder with read({name!r}) or `jotty data show {name}`"
        )
    return real


def _folder(source: Source) -> str:
    real = os.path.realpath(source.location)
    if real != source.location:
        raise ValidationError(
            f"the folder of {source.name} ({source.location}) is now a link (to {real}): register it again"
        )
    if not os.path.isdir(real):
        raise NotFoundError(
            f"the folder of {source.name} ({source.location}) is gone or no longer a folder: register it again "
            f"or remove {source.name}"
        )
    return real


def _file(location: str, name: str) -> str:
    real = os.path.realpath(location)
    if real != location:
        raise ValidationError(
            f"the file of {name} ({location}) is now a symbolic link (to {real}); it is not read: register it again"
        )
    if not os.path.isfile(real):
        raise NotFoundError(f"the file of {name} ({location}) is gone: register it again or remove {name}")
    return real


def _listing(source: Source, folder: str, limit: int) -> ReadResult:
    rows: list[Any] = []
    truncated = False
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(f for f in files if not f.startswith(".")):
            full = os.path.join(root, file)
            real = os.path.realpath(full)
            if os.path.commonpath([real, folder]) != folder or not os.path.isfile(real):
                continue
            if len(rows) >= limit:
                truncated = True
                break
            rows.append({"path": shown(os.path.relpath(full, folder)), "size": os.path.getsize(real)})
        if truncated:
            break
    return ReadResult(source.name, source.kind, "listing", ["path", "size"], rows, None, truncated)


def _open(real: str) -> io.TextIOWrapper:
    """Open the resolved file for text, refusing anything but a regular file, and a link swapped in
    since it was resolved: the file itself (``O_NOFOLLOW``) or, where the system says which file an
    open descriptor is (Linux's ``/proc/self/fd``), any folder on its path."""
    try:  # O_NONBLOCK: a pipe swapped in since the check is not waited on (no effect on a file)
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ValidationError(f"cannot read {real}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValidationError(f"{real} is not a regular file now (a pipe or a device took its place): not read")
    opened = _path_of(fd)
    if opened is not None and opened != real:
        os.close(fd)
        raise ValidationError(f"{real} changed while it was opened (a folder on its path became a link): not read")
    return open(fd, encoding="utf-8-sig", errors="strict", newline="")


def _path_of(fd: int) -> str | None:
    """The path of the file open as ``fd``, where the system says (Linux), else None."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _file_rows(source: Source, real: str, limit: int, table: str | None, inner: str | None) -> ReadResult:
    label = source.name if inner is None else f"{source.name}/{inner}"
    with _open(real) as handle:
        head = bytes(handle.buffer.read(8192))
    if head.startswith(b"SQLite format 3\x00"):
        if table is None:
            raise ValidationError(f"{label} is an SQLite database: say which registered table=")
        registered = [t.get("table") for t in source.schema if "table" in t]
        if inner is None and table not in registered:
            raise ValidationError(f"table {table!r} is not registered in {label}: readable tables are {registered}")
        return _sqlite_table(source, real, table, limit)
    if table is not None:
        raise ValidationError(f"table= is only for SQLite sources; {label} is not one")
    suffix = os.path.splitext(real)[1].lower()
    fmt = TEXT_FORMATS.get(suffix, "text")
    if (inner is None and source.format == "binary") or (
        fmt == "text" and suffix not in PLAIN_TEXT and b"\x00" in head
    ):
        raise ValidationError(
            f"{label} is a binary file: it has no rows or text to read; what is registered about it is all there is "
            "(describe_data)"
        )
    try:
        if fmt in ("csv", "tsv"):
            return _csv(source, label, real, limit, fmt)
        if fmt == "jsonl":
            return _jsonl(source, label, real, limit)
        if fmt == "json":
            if os.path.getsize(real) > MAX_JSON_BYTES:
                raise ValidationError(f"{label} is too large to read as one JSON document: write it as JSONL")
            with _open(real) as handle:
                document = handle.read()
            if not document.strip():
                raise ValidationError(f"{label} {EMPTY_JSON}")
            return _rows(source, "json", _records(json.loads(document)), limit)
        with _open(real) as handle:
            text = handle.read(MAX_CHARS + 1)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{label} is not UTF-8 text: convert it to UTF-8") from exc
    except RecursionError as exc:
        raise ValidationError(f"{label} nests its data too deeply to read: flatten it") from exc
    except (json.JSONDecodeError, csv.Error) as exc:
        raise ValidationError(f"{label} is malformed ({exc}): fix the file or register it again") from exc
    except ValidationError:
        raise
    except ValueError as exc:  # not a JSONDecodeError: an integer longer than Python reads
        raise ValidationError(f"{label} is malformed: it {long_number()}") from exc
    return ReadResult(source.name, source.kind, fmt, text=text[:MAX_CHARS], truncated=len(text) > MAX_CHARS)


def _records(data: Any) -> list[Any]:
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if isinstance(value, list) and value]
        return list(data[lists[0]]) if len(lists) == 1 else [data]
    return list(data) if isinstance(data, list) else [data]


def _csv(source: Source, label: str, real: str, limit: int, fmt: str) -> ReadResult:
    with _open(real) as handle:
        sample = handle.read(8192)
        handle.seek(0)
        delimiter = "\t" if fmt == "tsv" else ","
        if fmt == "csv":
            with contextlib.suppress(csv.Error):
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        reader = csv.DictReader(handle, delimiter=delimiter, strict=True)

        def checked() -> Iterator[dict[str, Any]]:
            for row in reader:
                if None in row or None in row.values():  # more fields than the header, or fewer
                    raise ValidationError(
                        f"{label} is not valid CSV: line {reader.line_num} has "
                        f"{'more' if None in row else 'fewer'} fields than its header; fix the file or register it "
                        "again"
                    )
                yield row

        try:
            rows, more = _take(checked(), limit)
        except csv.Error as exc:
            raise csv_error(label, exc, reader.reader.line_num) from exc  # DictReader.line_num lags a failed row
        return _rows(source, fmt, rows, limit, more, list(reader.fieldnames or []))


def _jsonl(source: Source, label: str, real: str, limit: int) -> ReadResult:
    def lines(handle: io.TextIOWrapper) -> Iterator[tuple[int, str]]:
        number = 0
        while line := handle.readline(MAX_LINE + 1):  # a file without newlines is not read whole
            number += 1
            if line.strip():
                yield number, line

    def parse(item: tuple[int, str]) -> Any:
        number, line = item
        if len(line) > MAX_LINE:
            raise ValidationError(
                f"{label}: line {number} is longer than {MAX_LINE:,} characters, too long to read as one record: "
                "split it into smaller records"
            )
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{label} is not valid JSONL: line {number}: {exc.msg}; fix the file or register it again"
            ) from exc

    with _open(real) as handle:
        rows, more = _take(lines(handle), limit, parse)
    return _rows(source, "jsonl", rows, limit, more)


def _take(rows: Iterable[Any], limit: int, parse: Callable[[Any], Any] = lambda row: row) -> tuple[list[Any], bool]:
    """Up to ``limit`` of ``rows`` (each ``parse``d and capped as ``_rows`` caps it), taken no further
    than ``MAX_CHARS`` of them, and whether more were there: only what can be returned is held, not
    every row of a file of huge rows."""
    kept: list[Any] = []
    used = 0
    for row in rows:
        if len(kept) >= limit or used > MAX_CHARS:
            return kept, True
        capped = _cap(parse(row))
        used += len(json.dumps(capped, default=str))
        kept.append(capped)
    return kept, False


def _rows(
    source: Source, fmt: str, rows: list[Any], limit: int, more: bool = False, columns: list[str] | None = None
) -> ReadResult:
    """Cap rows to ``limit`` and cells to ``MAX_CELL``/``MAX_CHARS`` characters."""
    truncated = more or len(rows) > limit
    if columns is not None and len(columns) > MAX_COLUMNS:
        columns, truncated = columns[:MAX_COLUMNS], True
    kept, used = [], 0
    for row in rows[:limit]:
        if isinstance(row, dict) and len(row) > MAX_COLUMNS:
            row, truncated = dict(itertools.islice(row.items(), MAX_COLUMNS)), True
        capped = _cap(row)
        used += len(json.dumps(capped, default=str))
        if used > MAX_CHARS:
            truncated = True
            break
        kept.append(capped)
    if columns is None:
        columns = list(dict.fromkeys(k for row in kept if isinstance(row, dict) for k in row))
    return ReadResult(source.name, source.kind, fmt, columns, kept, None, truncated)


def _cap(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):  # lone surrogates (JSON's "\udce9"): no LLM request could send them
        return sendable(value if len(value) <= MAX_CELL else value[:MAX_CELL] + "...")
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return f"<{type(value).__name__} nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        return {sendable(str(k)): _cap(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap(v, depth + 1) for v in value[:100]]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN: valid JSON out, as text
        return str(value)
    return value


def _value(source: Source, limit: int) -> ReadResult:
    value = source.value
    if isinstance(value, list):
        return _rows(source, "json", value, limit)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return ReadResult(source.name, source.kind, "json", text=text[:MAX_CHARS], truncated=len(text) > MAX_CHARS)


def _sqlite_table(source: Source, real: str, table: str, limit: int) -> ReadResult:
    check_identifier(table)
    try:
        with contextlib.closing(sqlite_readonly(real)) as conn:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQLITE_VALUE)  # a generated column can compute 1 GB
            deadline = time.monotonic() + READ_SECONDS
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 100)
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchall()
            if not found:
                raise NotFoundError(f"table {table!r} of {source.name} is no longer in {real}")
            columns = [d[0] for d in conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
            capped = ", ".join(_capped_cell(quote_identifier(c)) for c in columns)
            cursor = conn.execute(f'SELECT {capped} FROM "{table}" LIMIT ?', (limit + 1,))
            rows = [dict(zip(columns, raw, strict=True)) for raw in cursor.fetchall()]
    except sqlite3.DatabaseError as exc:
        if sqlite_locked(exc):
            raise ValidationError(f"cannot read table {table!r} of {source.name}: {real} {LOCKED}") from exc
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_TOOBIG:
            raise ValidationError(
                f"table {table!r} of {source.name} has a cell of more than {MAX_SQLITE_VALUE:,} bytes, or computes "
                "one (a generated column): it is not read; read the table with SQLite itself"
            ) from exc
        if code == sqlite3.SQLITE_INTERRUPT:
            raise ValidationError(
                f"reading table {table!r} of {source.name} took more than {READ_SECONDS:g} s (a generated column "
                "computing large values?): read fewer rows"
            ) from exc
        raise ValidationError(f"cannot read table {table!r} of {source.name} ({exc})") from exc
    return _rows(source, "sqlite", rows, limit, columns=columns)


def _capped_cell(column: str) -> str:
    """The SQL that reads the quoted ``column`` capped as ``_cap`` caps it, inside SQLite: text past
    ``MAX_CELL`` characters and blobs never reach Python (a generated column can make a cell of a
    gigabyte from a file of a few kilobytes)."""
    return (
        f"CASE typeof({column}) WHEN 'text' THEN substr({column}, 1, {MAX_CELL + 1}) "
        f"WHEN 'blob' THEN '<' || length({column}) || ' bytes>' ELSE {column} END"
    )


def _postgres_table(source: Source, limit: int) -> ReadResult:
    from jotty.registry.postgres import read_table

    columns, raw = read_table(source.location, source.table, limit + 1, MAX_CELL, READ_SECONDS)
    rows = [dict(zip(columns, r, strict=True)) for r in raw]
    return _rows(source, "postgres", rows, limit, columns=columns)
