"""Many processes opening one brand-new SQLite file at once: every one gets a migrated WAL store."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from jotty.db import connect, migrate_sqlite
from jotty.db.migrations import load_migrations


def _open(path: str, go: multiprocessing.synchronize.Event, failures: multiprocessing.Queue[str]) -> None:
    go.wait(10)
    try:
        conn = connect(path)
        migrate_sqlite(conn)
        conn.close()
    except Exception as exc:  # reported to the test, which fails on any
        failures.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL can deadlock two openers; SQLite fails one at once (no busy wait).
    context = multiprocessing.get_context("fork")
    failures: multiprocessing.Queue[str] = context.Queue()
    for round_ in range(12):
        path = str(tmp_path / f"new-{round_}.db")
        go = context.Event()
        procs = [context.Process(target=_open, args=(path, go, failures)) for _ in range(8)]
        for proc in procs:
            proc.start()
        go.set()
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            versions = [r[0] for r in conn.execute("SELECT version FROM jotty_schema_migrations ORDER BY version")]
            assert versions == [m.version for m in load_migrations("sqlite")]
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert not found, found
