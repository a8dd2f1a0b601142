"""The learning store on SQLite: three small tables, increments merged in short write transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from jotty.db import connect, migrate_sqlite, translate_errors, write_transaction
from jotty.learning.records import FeatureStats, Key, Observation, QValue
from jotty.learning.store import LearningStore, QUpdateFn

_ADD_Q = (
    "INSERT INTO jotty_learning_q (state, actor, q, visits, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (state, actor) DO UPDATE SET q = jotty_learning_q.q + excluded.q, "
    "visits = jotty_learning_q.visits + excluded.visits, updated_at = excluded.updated_at"
)
_ADD_STATS = (
    "INSERT INTO jotty_learning_stats (actor, feature, attempts, successes, reward, tokens, seconds, "
    "updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (actor, feature) DO UPDATE SET "
    "attempts = jotty_learning_stats.attempts + 1, "
    "successes = jotty_learning_stats.successes + excluded.successes, "
    "reward = jotty_learning_stats.reward + excluded.reward, "
    "tokens = jotty_learning_stats.tokens + excluded.tokens, "
    "seconds = jotty_learning_stats.seconds + excluded.seconds, updated_at = excluded.updated_at"
)
_ADD_FAILURE = (
    "INSERT INTO jotty_learning_streaks (goal_key, actor, failures, updated_at) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (goal_key, actor) DO UPDATE SET failures = jotty_learning_streaks.failures + 1, "
    "updated_at = excluded.updated_at"
)
_CLEAR_FAILURES = "DELETE FROM jotty_learning_streaks WHERE goal_key = ? AND actor = ?"


_SELECT_Q = "SELECT state, actor, q, visits FROM jotty_learning_q"
_SELECT_STATS = "SELECT actor, feature, attempts, successes, reward, tokens, seconds FROM jotty_learning_stats"


def _where_in(first: str, firsts: Collection[object], second: str, seconds: Collection[object]) -> str:
    """`` WHERE first IN (?, ...) AND second IN (?, ...)``."""
    return f" WHERE {first} IN ({', '.join('?' * len(firsts))}) AND {second} IN ({', '.join('?' * len(seconds))})"


def _q_values(rows: Iterable[Sequence[Any]]) -> dict[Key, QValue]:
    return {(r[0], r[1]): QValue(float(r[2]), int(r[3])) for r in rows}


def _feature_stats(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, str], FeatureStats]:
    return {(r[0], r[1]): FeatureStats(int(r[2]), int(r[3]), float(r[4]), int(r[5]), float(r[6])) for r in rows}


class SQLiteLearningStore(LearningStore):
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

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._guard() as conn:
            return conn.execute(sql, params).fetchall()

    def q_values(self, states: Collection[str], actors: Collection[str]) -> dict[Key, QValue]:
        if not states or not actors:
            return {}
        return _q_values(self._rows(_SELECT_Q + _where_in("state", states, "actor", actors), [*states, *actors]))

    def update_q(self, keys: Collection[Key], update: QUpdateFn) -> dict[Key, tuple[QValue, QValue]]:
        states = {state for state, _ in keys}
        actors = {actor for _, actor in keys}
        with self._guard() as conn, write_transaction(conn):
            current = self.q_values(states, actors)
            changes = {key: (current.get(key, QValue()), new) for key, new in update(current).items()}
            now = time.time()
            conn.executemany(
                _ADD_Q,
                [(s, a, new.q - old.q, new.visits - old.visits, now) for (s, a), (old, new) in changes.items()],
            )
        return changes

    def feature_stats(self, actors: Collection[str], features: Collection[str]) -> dict[tuple[str, str], FeatureStats]:
        if not actors or not features:
            return {}
        where = _where_in("actor", actors, "feature", features)
        return _feature_stats(self._rows(_SELECT_STATS + where, [*actors, *features]))

    def failure_streaks(self, goal_key: str, actors: Collection[str]) -> dict[str, int]:
        if not actors:
            return {}
        where = _where_in("goal_key", [goal_key], "actor", actors)
        rows = self._rows("SELECT actor, failures FROM jotty_learning_streaks" + where, [goal_key, *actors])
        return {r[0]: int(r[1]) for r in rows}

    def add_observation(self, observation: Observation, goal_key: str) -> None:
        o, now = observation, time.time()
        rows = [(o.actor, f, int(o.success), o.reward, o.tokens, o.seconds, now) for f in o.features]
        with self._guard() as conn, write_transaction(conn):
            conn.executemany(_ADD_STATS, rows)
            if o.success:
                conn.execute(_CLEAR_FAILURES, (goal_key, o.actor))
            else:
                conn.execute(_ADD_FAILURE, (goal_key, o.actor, now))

    def all_q_values(self) -> dict[Key, QValue]:
        return _q_values(self._rows(_SELECT_Q))

    def all_feature_stats(self) -> dict[tuple[str, str], FeatureStats]:
        return _feature_stats(self._rows(_SELECT_STATS))

    def close(self) -> None:
        if self._owned:
            with self._lock:
                self._conn.close()


def _database_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2]) or ":memory:"
    return "the learning store"
