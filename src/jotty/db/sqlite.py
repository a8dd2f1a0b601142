"""SQLite connections for the embedded store: WAL, ``synchronous=NORMAL``, a busy timeout, and
errors translated into ``StoreError``s that say what to do."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from jotty.errors import StoreCorruptError, StoreError, StoreReadOnlyError

BUSY_TIMEOUT_MS = 30_000


class translate_errors:
    """Turn sqlite3 errors about the file itself into ``StoreError``s naming the file and the fix."""

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, sqlite3.DatabaseError):
            translated = _translate(exc, os.fspath(self.path))
            if translated is not exc:
                raise translated from exc


def _translate(exc: sqlite3.DatabaseError, path: str) -> Exception:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StoreCorruptError(
            f"{path} is not a readable SQLite database ({exc}). Jotty did not change it: restore it "
            "from a backup, or point the store (db_path, JOTTY_HOME) at another file."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreReadOnlyError(
            f"cannot write the database {path} ({exc}): make the file and its directory writable "
            "by this user, or point the store (db_path, JOTTY_HOME) at a writable place."
        )
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StoreError(
            f"the database {path} is locked ({exc}; Jotty waits up to {BUSY_TIMEOUT_MS // 1000} s): "
            "another process holds a long write transaction; find and stop it."
        )
    return exc


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) an SQLite store in autocommit mode; transactions are explicit."""
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreReadOnlyError(
            f"cannot create the directory {file.parent} for the database ({exc}): create it, or "
            "point the store at a writable place."
        ) from exc
    with translate_errors(file):
        conn = sqlite3.connect(file, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. Processes opening one new file at once can deadlock on the switch
    (each holds a shared lock and wants the exclusive one): SQLite then fails one of them at once,
    without waiting, so it waits here and tries again; by then the other has made the switch."""
    started = time.monotonic()
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # a file that cannot use WAL keeps its mode
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() - started > BUSY_TIMEOUT_MS / 1000:
                raise
        time.sleep(0.005)


class write_transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one short write transaction, rolled back on any error,
    a failed ``COMMIT`` included, so the connection is never left inside a transaction; the
    original error is the one raised.

    A class rather than a generator context manager: it runs on every queue operation, and this
    form costs a third as much."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is not None:
            self._rollback()
            return
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Roll back what is still open (SQLite may have rolled back itself); a failing rollback
        must not hide the error that caused it."""
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
