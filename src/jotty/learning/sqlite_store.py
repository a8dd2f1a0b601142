"""The learning store on SQLite: three small tables, increments merged in short write transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from jotty.db import connect, migrate_sqlite, translate_errors, write_transaction
from jotty.learning import sql
from jotty.learning.records import Key, Observation, QValue
from jotty.learning.store import QUpdateFn


class SQLiteLearningStore(sql.SQLLearningStore):
    """The learning tables of an SQLite store (migrated on open). Safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, *, owned: bool = False, where: str = "") -> None:
        self._conn = conn
        self._owned = owned
        self._where = where or _database_file(conn)
        self._lock = threading.RLock()
        with self._guard():
            migrate_sqlite(conn, self._where)

    @classmethod
    def open(cls, path: str) -> SQLiteLearningStore:
        """Open (creating and migrating if needed) the store file at ``path``."""
        return cls(connect(path), owned=True, where=path)

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translate_errors(self._where):
            yield self._conn

    def _rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        with self._guard() as conn:
            return conn.execute(statement, params).fetchall()

    def update_q(self, keys: Collection[Key], update: QUpdateFn) -> dict[Key, tuple[QValue, QValue]]:
        states = {state for state, _ in keys}
        actors = {actor for _, actor in keys}
        with self._guard() as conn, write_transaction(conn):
            changes = sql.q_changes(self.q_values(states, actors), update)
            conn.executemany(sql.ADD_Q, sql.q_params(changes, time.time()))
        return changes

    def add_observation(self, observation: Observation, goal_key: str) -> None:
        now = time.time()
        with self._guard() as conn, write_transaction(conn):
            conn.executemany(sql.ADD_STATS, sql.stats_params(observation, now))
            conn.execute(*sql.streak_change(observation, goal_key, now))

    def close(self) -> None:
        if self._owned:
            with self._lock:
                self._conn.close()


def _database_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2]) or ":memory:"
    return "the learning store"
