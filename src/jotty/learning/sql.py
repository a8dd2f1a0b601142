"""The learning store's SQL, shared by the SQLite and PostgreSQL stores: portable statements with
``INSERT ... ON CONFLICT DO UPDATE SET x = table.x + excluded.x`` increments, and the reads.

Placeholders are ``?`` (sqlite3); the PostgreSQL store turns them into ``%s``
(``jotty.db.postgres.format_placeholders``). ``SQLLearningStore`` implements every read of the
``LearningStore`` interface over one ``_rows`` method; a backend adds its connection and the two
writes (``update_q``, ``add_observation``), each one transaction.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from jotty.learning.records import FeatureStats, Key, Observation, QValue
from jotty.learning.store import LearningStore, QUpdateFn

ADD_Q = (
    "INSERT INTO jotty_learning_q (state, actor, q, visits, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (state, actor) DO UPDATE SET q = jotty_learning_q.q + excluded.q, "
    "visits = jotty_learning_q.visits + excluded.visits, updated_at = excluded.updated_at"
)
ADD_STATS = (
    "INSERT INTO jotty_learning_stats (actor, feature, attempts, successes, reward, tokens, seconds, "
    "updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (actor, feature) DO UPDATE SET "
    "attempts = jotty_learning_stats.attempts + 1, "
    "successes = jotty_learning_stats.successes + excluded.successes, "
    "reward = jotty_learning_stats.reward + excluded.reward, "
    "tokens = jotty_learning_stats.tokens + excluded.tokens, "
    "seconds = jotty_learning_stats.seconds + excluded.seconds, updated_at = excluded.updated_at"
)
ADD_FAILURE = (
    "INSERT INTO jotty_learning_streaks (goal_key, actor, failures, updated_at) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (goal_key, actor) DO UPDATE SET failures = jotty_learning_streaks.failures + 1, "
    "updated_at = excluded.updated_at"
)
CLEAR_FAILURES = "DELETE FROM jotty_learning_streaks WHERE goal_key = ? AND actor = ?"

SELECT_Q = "SELECT state, actor, q, visits FROM jotty_learning_q"
SELECT_STATS = "SELECT actor, feature, attempts, successes, reward, tokens, seconds FROM jotty_learning_stats"
SELECT_STREAKS = "SELECT actor, failures FROM jotty_learning_streaks"


def where_in(first: str, firsts: Collection[object], second: str, seconds: Collection[object]) -> str:
    """`` WHERE first IN (?, ...) AND second IN (?, ...)``."""
    return f" WHERE {first} IN ({', '.join('?' * len(firsts))}) AND {second} IN ({', '.join('?' * len(seconds))})"


def q_values_of(rows: Iterable[Sequence[Any]]) -> dict[Key, QValue]:
    """Action values from ``SELECT_Q`` rows."""
    return {(r[0], r[1]): QValue(float(r[2]), int(r[3])) for r in rows}


def feature_stats_of(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, str], FeatureStats]:
    """Counts from ``SELECT_STATS`` rows."""
    return {(r[0], r[1]): FeatureStats(int(r[2]), int(r[3]), float(r[4]), int(r[5]), float(r[6])) for r in rows}


def q_changes(current: Mapping[Key, QValue], update: QUpdateFn) -> dict[Key, tuple[QValue, QValue]]:
    """``{pair: (before, after)}`` for the pairs that ``update`` changes, given the ``current`` values."""
    return {key: (current.get(key, QValue()), new) for key, new in update(current).items()}


def q_params(changes: Mapping[Key, tuple[QValue, QValue]], now: float) -> list[tuple[Any, ...]]:
    """Parameters of ``ADD_Q``: the difference each changed pair adds, in key order."""
    return [(s, a, new.q - old.q, new.visits - old.visits, now) for (s, a), (old, new) in sorted(changes.items())]


def stats_params(observation: Observation, now: float) -> list[tuple[Any, ...]]:
    """Parameters of ``ADD_STATS``: one row per feature of the observation, in feature order (so
    concurrent transactions lock the rows they share in the same order)."""
    o = observation
    return [(o.actor, f, int(o.success), o.reward, o.tokens, o.seconds, now) for f in sorted(o.features)]


def streak_change(observation: Observation, goal_key: str, now: float) -> tuple[str, tuple[Any, ...]]:
    """The streak statement of an observation: a success clears the actor's streak on the goal,
    anything else adds one failure."""
    if observation.success:
        return CLEAR_FAILURES, (goal_key, observation.actor)
    return ADD_FAILURE, (goal_key, observation.actor, now)


class SQLLearningStore(LearningStore):
    """The reads of a learning store on an SQL database; backends supply ``_rows`` and the writes."""

    @abc.abstractmethod
    def _rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        """The rows of one query (``?`` placeholders)."""

    def q_values(self, states: Collection[str], actors: Collection[str]) -> dict[Key, QValue]:
        if not states or not actors:
            return {}
        return q_values_of(self._rows(SELECT_Q + where_in("state", states, "actor", actors), [*states, *actors]))

    def feature_stats(self, actors: Collection[str], features: Collection[str]) -> dict[tuple[str, str], FeatureStats]:
        if not actors or not features:
            return {}
        where = where_in("actor", actors, "feature", features)
        return feature_stats_of(self._rows(SELECT_STATS + where, [*actors, *features]))

    def failure_streaks(self, goal_key: str, actors: Collection[str], since: float | None = None) -> dict[str, int]:
        if not actors:
            return {}
        query = SELECT_STREAKS + where_in("goal_key", [goal_key], "actor", actors)
        params: list[Any] = [goal_key, *actors]
        if since is not None:
            query += " AND updated_at >= ?"
            params.append(since)
        return {r[0]: int(r[1]) for r in self._rows(query, params)}

    def all_q_values(self) -> dict[Key, QValue]:
        return q_values_of(self._rows(SELECT_Q))

    def all_feature_stats(self) -> dict[tuple[str, str], FeatureStats]:
        return feature_stats_of(self._rows(SELECT_STATS))
