"""``write_transaction``: committed on success, rolled back on any error, a failed COMMIT included."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jotty.db import connect, write_transaction


def store(tmp_path: Path) -> sqlite3.Connection:
    conn = connect(tmp_path / "tx.db")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, "
        "parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    return conn


def test_a_commit_that_fails_rolls_back_and_leaves_the_connection_usable(tmp_path: Path) -> None:
    conn = store(tmp_path)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), write_transaction(conn):
        conn.execute("INSERT INTO child (id, parent) VALUES (1, 99)")  # checked only at COMMIT
    assert not conn.in_transaction
    with write_transaction(conn):  # the next transaction starts cleanly
        conn.execute("INSERT INTO parent (id) VALUES (99)")
        conn.execute("INSERT INTO child (id, parent) VALUES (1, 99)")
    assert conn.execute("SELECT COUNT(*) FROM child").fetchone()[0] == 1


def test_an_error_in_the_block_rolls_back_and_is_the_one_raised(tmp_path: Path) -> None:
    conn = store(tmp_path)
    with pytest.raises(KeyError), write_transaction(conn):
        conn.execute("INSERT INTO parent (id) VALUES (1)")
        conn.execute("ROLLBACK")  # SQLite may end a transaction itself (an I/O error, interrupt())
        raise KeyError("the real error")
    with pytest.raises(ZeroDivisionError), write_transaction(conn):
        conn.execute("INSERT INTO parent (id) VALUES (2)")
        raise ZeroDivisionError
    assert not conn.in_transaction
    assert conn.execute("SELECT COUNT(*) FROM parent").fetchone()[0] == 0
