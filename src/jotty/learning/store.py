"""The learning store interface: where the router's experience lives.

Three kinds of records, each merged by increments so several processes (chat, sync runs, queue
workers) can share one store without losing updates:

- action values ``Q(state, actor)`` with visit counts (``QValue``);
- outcome counts per (actor, feature) for the predictor (``FeatureStats``);
- failure streaks per (goal, actor), for abandoning actors stuck on a goal.

``SQLiteLearningStore`` and ``PostgresLearningStore`` implement it with the same portable SQL
(``jotty.learning.sql``: ``INSERT ... ON CONFLICT ... DO UPDATE SET x = table.x + excluded.x``).
"""

from __future__ import annotations

import abc
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping

from jotty.errors import StoreError
from jotty.learning.records import FeatureStats, Key, Observation, QValue

QUpdateFn = Callable[[Mapping[Key, QValue]], Mapping[Key, QValue]]
"""Given the current values of some pairs, return the new values of the pairs that change."""


class LearningStore(abc.ABC):
    """Load and merge the router's experience. Every method is one short transaction at most."""

    @abc.abstractmethod
    def q_values(self, states: Collection[str], actors: Collection[str]) -> dict[Key, QValue]:
        """The stored values of the (state, actor) pairs that exist among ``states`` x ``actors``."""

    @abc.abstractmethod
    def update_q(self, keys: Collection[Key], update: QUpdateFn) -> dict[Key, tuple[QValue, QValue]]:
        """Atomically read ``keys``, call ``update`` and add the differences it returns.

        Returns ``{pair: (before, after)}`` for the pairs that changed.
        """

    @abc.abstractmethod
    def feature_stats(self, actors: Collection[str], features: Collection[str]) -> dict[tuple[str, str], FeatureStats]:
        """The counts of the (actor, feature) pairs that exist among ``actors`` x ``features``."""

    @abc.abstractmethod
    def failure_streaks(self, goal_key: str, actors: Collection[str], since: float | None = None) -> dict[str, int]:
        """How many times in a row each actor failed the goal ``goal_key`` (absent: 0); with
        ``since`` (epoch seconds), only streaks whose last failure came at or after it."""

    @abc.abstractmethod
    def add_observation(self, observation: Observation, goal_key: str) -> None:
        """Add one step's outcome to the counts of each of its features and update the actor's
        failure streak on ``goal_key`` (one more failure, or cleared by a success)."""

    @abc.abstractmethod
    def all_q_values(self) -> dict[Key, QValue]:
        """Every stored action value (for reports)."""

    @abc.abstractmethod
    def all_feature_stats(self) -> dict[tuple[str, str], FeatureStats]:
        """Every stored (actor, feature) count (for reports)."""

    def close(self) -> None:
        """Release the store's resources (a no-op unless the store opened them itself)."""


StoreSpec = LearningStore | sqlite3.Connection | str | os.PathLike[str] | None
"""What ``open_store`` accepts: a store, an SQLite connection, a path or URL, or None (the default)."""


def open_store(store: StoreSpec = None) -> LearningStore:
    """The learning store for ``store``: as given, on an SQLite connection, or at a path or URL
    (``postgresql://...`` opens a ``PostgresLearningStore``; None: ``JOTTY_DATABASE_URL``, else
    ``$JOTTY_HOME/jotty.db``)."""
    if isinstance(store, LearningStore):
        return store
    from jotty.learning.sqlite_store import SQLiteLearningStore

    if isinstance(store, sqlite3.Connection):
        return SQLiteLearningStore(store)
    from jotty.db import resolve_store

    location = resolve_store(store)
    if location.kind == "sqlite":
        return SQLiteLearningStore.open(location.target)
    if location.kind == "postgresql":
        try:
            from jotty.learning.postgres_store import PostgresLearningStore
        except ImportError as exc:
            raise StoreError(
                f"learning in PostgreSQL needs psycopg ({exc}): pip install 'jotty[postgres]', or use an SQLite file"
            ) from exc
        return PostgresLearningStore(location.target)
    raise StoreError(
        f"the learning store does not support {location.kind} ({location.target}): use an SQLite file "
        "(a path or sqlite:///PATH) or a postgresql:// URL, or pass a LearningStore instance."
    )
