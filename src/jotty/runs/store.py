"""The run store interface, and how a store argument (path, URL or store) becomes a store.

A ``RunStore`` keeps runs, step checkpoints and events. Writes are short: one transaction per
checkpoint, holding the step's row and the events emitted since the last write. The SQLite store
and the PostgreSQL store (``jotty[postgres]``, imported when first asked for) are built in; another
backend plugs in with ``register_backend``.
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import TokenUsage
from jotty.db import resolve_store
from jotty.errors import StoreError
from jotty.events import Event
from jotty.runs.records import Checkpoint, RunRecord, RunStatus, RunSummary, StepRecord


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its id (ids increase: pass the last one as ``after`` to tail a run)."""

    id: int
    event: Event


@dataclass
class RunFinish:
    """How a run session ended: what ``RunStore.finish_run`` writes. ``steps`` are the records of
    steps without a checkpoint (failed, cancelled); the checkpointed ones are stored already."""

    status: RunStatus
    output: Any = None
    error: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    tokens: TokenUsage = field(default_factory=TokenUsage)


class RunStore(abc.ABC):
    """Where durable runs live. All methods are short; none holds a transaction across an ``await``."""

    location: str
    """The store's path or URL, for messages."""

    @abc.abstractmethod
    async def create_run(
        self, run_id: str, flow: str, shape: str, input: Any, owner: str, metadata: dict[str, Any] | None = None
    ) -> None:
        """Add a new run in status ``running``; ``CheckpointError`` when ``input`` (or ``metadata``)
        is not JSON, ``RunError`` when the run exists already (another process just started it)."""

    @abc.abstractmethod
    async def claim_run(self, run_id: str, owner: str) -> None:
        """Mark an existing run ``running`` again for a new session by ``owner``."""

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or ``None`` when the store has no such run."""

    @abc.abstractmethod
    async def list_runs(self, *, status: RunStatus | None = None, limit: int = 50) -> list[RunSummary]:
        """The newest runs first, optionally only those in ``status``."""

    @abc.abstractmethod
    async def load_checkpoints(self, run_id: str) -> list[Checkpoint]:
        """Every checkpointed step of the run, oldest first."""

    @abc.abstractmethod
    async def save_checkpoint(self, run_id: str, checkpoint: Checkpoint, events: Sequence[Event]) -> None:
        """Store one finished step (replacing an earlier one at its path) and ``events``, atomically."""

    @abc.abstractmethod
    async def save_events(self, run_id: str, events: Sequence[Event]) -> None:
        """Store ``events``."""

    @abc.abstractmethod
    async def finish_run(self, run_id: str, finish: RunFinish, events: Sequence[Event]) -> None:
        """Record the end of a session (status, output, step records, windows) and ``events``."""

    @abc.abstractmethod
    async def get_events(self, run_id: str, *, after: int = 0, limit: int = 10_000) -> list[StoredEvent]:
        """The run's events with id above ``after``, in order."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection."""


StoreArg = str | os.PathLike[str] | RunStore | None
"""What a ``store=`` argument accepts: a path, a database URL, an open ``RunStore``, or ``None``
for the default store (``JOTTY_DATABASE_URL`` or ``$JOTTY_HOME/jotty.db``)."""


def _postgres(url: str) -> RunStore:
    try:
        from jotty.runs.postgres import PostgresRunStore
    except ImportError as exc:
        raise StoreError(
            f"runs in PostgreSQL need psycopg ({exc}): pip install 'jotty[postgres]', or use an SQLite path"
        ) from exc
    return PostgresRunStore(url)


_BACKENDS: dict[str, Callable[[str], RunStore]] = {"postgresql": _postgres}


def register_backend(kind: str, factory: Callable[[str], RunStore]) -> None:
    """Serve stores of ``kind`` (``"postgresql"``) with ``factory(url)``."""
    _BACKENDS[kind] = factory


def open_run_store(store: StoreArg = None) -> RunStore:
    """Open the run store for ``store``; an open ``RunStore`` is returned as it is.

    Opening migrates the store. Keep a store open and pass it to many runs to avoid reconnecting.
    """
    if isinstance(store, RunStore):
        return store
    location = resolve_store(store)
    if location.kind == "sqlite":
        from jotty.runs.sqlite import SQLiteRunStore

        return SQLiteRunStore(location.target)
    factory = _BACKENDS.get(location.kind)
    if factory is None:
        raise StoreError(
            f"runs cannot be stored in a {location.kind} store ({location.target}) in this "
            "installation: use an SQLite path (store='runs.db'), or register a backend with "
            "jotty.runs.register_backend"
        )
    return factory(location.target)


@contextlib.asynccontextmanager
async def using_store(store: StoreArg) -> AsyncIterator[RunStore]:
    """The store for ``store``, closed on exit only if this call opened it."""
    opened = open_run_store(store)
    try:
        yield opened
    finally:
        if opened is not store:
            await opened.close()
