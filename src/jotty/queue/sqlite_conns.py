"""The connections of one ``SQLiteTaskQueue``: the database thread's, and one per event-loop thread
for short operations that can run at once.

Every operation can run on the queue's database thread (``run``): the event loop never waits on a
lock there. A single-task operation (``quick``) first runs on the calling thread, on a connection
of its own with no busy timeout: when the database is free (the common case) it costs tens of
microseconds and no thread hop; when another writer holds the lock it fails at once, changes
nothing, and goes to the database thread to wait there. The inline connections do not checkpoint
the WAL themselves (a checkpoint syncs the disk); the database thread does that every
``CHECKPOINT_EVERY`` inline operations.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from jotty.db import connect, migrate_sqlite, translate_errors
from jotty.errors import ValidationError

T = TypeVar("T")
log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 256
"""Inline operations between two passive WAL checkpoints on the database thread."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class QueueConnections:
    """The database thread (with its connection) and the per-thread inline connections of a store."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        main = connect(db_path)
        try:
            with translate_errors(db_path):
                migrate_sqlite(main, str(db_path))
        except BaseException:
            main.close()
            raise
        self._main = main
        self._local = threading.local()
        self._inline: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._since_checkpoint = 0
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="jotty-sqlite", initializer=self._bind, initargs=(main,)
        )
        self.closed = False

    def _bind(self, conn: sqlite3.Connection) -> None:
        self._local.conn = conn

    @property
    def current(self) -> sqlite3.Connection:
        """This thread's connection: the database thread's own, or this thread's inline one."""
        conn: sqlite3.Connection | None = self._local.__dict__.get("conn")
        return conn if conn is not None else self._open_inline()

    def _open_inline(self) -> sqlite3.Connection:
        with translate_errors(self.db_path):
            conn = connect(self.db_path)
            conn.execute("PRAGMA busy_timeout=0")  # never wait here: a busy store goes to the thread
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the database thread checkpoints
        with self._lock:
            self._inline.append(conn)
        self._local.conn = conn
        return conn

    def _check_open(self) -> None:
        if self.closed:
            raise ValidationError("this queue was closed: create a new SQLiteTaskQueue")

    async def run(self, fn: Callable[..., T], *args: Any, orphaned: Callable[[T], Any] | None = None) -> T:
        """Run ``fn(*args)`` on the database thread. ``orphaned(result)`` runs there too when the
        caller was cancelled while ``fn`` ran (what ``fn`` did would otherwise go unseen: a claim's
        tasks would stay leased to nobody until their leases ran out)."""
        self._check_open()
        job = self._executor.submit(self._guarded, fn, args)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            if orphaned is not None and not job.cancelled():  # it had started: it ends all the same
                job.add_done_callback(lambda done: self._adopt(done, orphaned))
            raise

    def _adopt(self, job: Future[Any], orphaned: Callable[[Any], Any]) -> None:
        """After a job whose caller was cancelled: ``orphaned(result)`` on the database thread."""
        if job.cancelled() or job.exception() is not None:
            return
        try:
            self._executor.submit(self._logged, orphaned, job.result())
        except RuntimeError:  # the queue is closing: the leases run out instead
            log.warning("could not undo the work of a cancelled call: the queue is closing")

    def _logged(self, orphaned: Callable[[Any], Any], result: Any) -> None:
        try:
            self._guarded(orphaned, (result,))
        except Exception:  # nobody waits for this: say it, and let the leases run out
            log.exception("could not undo the work of a cancelled call")

    def _guarded(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with translate_errors(self.db_path):
            return fn(*args)

    async def quick(self, fn: Callable[..., T], *args: Any, orphaned: Callable[[T], Any] | None = None) -> T:
        """Run a short ``fn(*args)`` here if the store is free at once, else on the database thread.

        ``fn`` must start its writes with ``BEGIN IMMEDIATE`` (``write_transaction``), so that a
        busy store stops it before it changed anything.
        """
        self._check_open()
        self.current  # noqa: B018 (opens this thread's inline connection when it has none)
        try:
            with translate_errors(self.db_path):
                try:
                    result = fn(*args)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                    busy = True
                else:
                    busy = False
        finally:
            self._count_inline()
        if busy:
            return await self.run(fn, *args, orphaned=orphaned)
        return result

    def _count_inline(self) -> None:
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and not self.closed:
            self._since_checkpoint = 0
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._main.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # a checkpoint is an optimisation: the next one catches up
            log.debug("passive checkpoint of %s failed: %s", self.db_path, exc)

    def close(self) -> None:
        """Close every connection (waits for the database thread's running operation)."""
        if self.closed:
            return
        self.closed = True
        self._executor.submit(self._main.close).result()
        self._executor.shutdown(wait=True)
        with self._lock:
            inline, self._inline = self._inline, []
        for conn in inline:
            conn.close()
