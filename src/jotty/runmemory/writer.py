"""``MemoryWriter``: remembering off the run's path (write-behind), flushed on close, nothing dropped.

A run hands its outcome to the writer in microseconds; a background thread writes what piled up,
with the store's synchronous API on that thread (no event loop, no further thread hop): every scope
of a store in ONE transaction per batch (``Memory.remember_scopes_now``; a text remembered in two
scopes is embedded once), and fills each ``Remembered`` entry with what happened (stored,
reinforced, skipped, and why). ``flush()`` waits until every submitted entry is written; it runs on
close and at interpreter exit. A write that fails is retried with backoff, then each submission
alone (so one bad scope or run does not sink the others); an entry that still cannot be written is
marked ``failed`` with the error, and logged.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jotty.memory import Memory

log = logging.getLogger(__name__)
ATTEMPTS = 3
"""Tries per batch before its entries are marked failed."""
LINGER = 0.05
"""Seconds a drain waits for more runs' outcomes before it writes (all of them in one transaction)."""
MAX_WAITING = 256
"""Submissions that end the wait at once."""


@dataclass
class Remembered:
    """One item a run remembers: where, what, and (once written) what happened to it."""

    scope: str
    text: str
    metadata: dict[str, Any]
    kind: str
    status: str = "pending"
    """pending, then stored, reinforced, skipped or failed."""
    id: str | None = None
    reason: str = ""
    salience: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the text cut to 200 characters)."""
        text = self.text if len(self.text) <= 200 else self.text[:199] + "…"
        return {
            "scope": self.scope,
            "kind": self.kind,
            "status": self.status,
            "id": self.id,
            "reason": self.reason,
            "salience": self.salience,
            "text": text,
        }


@dataclass
class _Batch:
    memory: Memory
    entries: list[Remembered]
    done: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


@dataclass
class _Call:
    coroutine: Coroutine[Any, Any, Any]
    done: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


_Work = _Batch | _Call


class MemoryWriter:
    """Writes ``Remembered`` entries in a background thread; see the module docstring."""

    def __init__(self, on_written: Callable[[str], None] | None = None, linger: float = LINGER) -> None:
        """``on_written(scope)`` is called (on the writer thread) when a batch changed the scope.
        ``linger``: seconds the writer waits after a submission for more (back-to-back runs then share
        one transaction); ``flush``, ``close``, ``run`` and ``hurry`` end the wait at once."""
        self.linger = linger
        self._hurry = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[_Work] = []
        self._writing: list[_Work] = []
        self._thread: threading.Thread | None = None
        self._on_written = on_written
        self.written = 0
        """Entries written so far (any status but pending)."""
        self.transactions = 0
        """Write transactions tried so far (a drain writes each store's pending entries in one)."""
        _WRITERS.add(self)

    def submit(self, memory: Memory, entries: list[Remembered]) -> concurrent.futures.Future[None]:
        """Queue ``entries`` for ``memory``; the future is done when they are written."""
        return self._queue(_Batch(memory, entries)).done

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coroutine`` on the writer's thread (after what is queued) and wait for its value."""
        return self._queue(_Call(coroutine)).done.result(timeout)

    def hurry(self) -> None:
        """Write what is pending now, without waiting ``linger`` for more."""
        with self._wake:
            if self._pending:
                self._hurry = True
                self._wake.notify_all()

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until everything submitted so far is written; False if ``timeout`` passed first."""
        return self._wait(lambda queued: queued, timeout)

    def flush_batches(self, timeout: float | None = 60.0) -> bool:
        """``flush`` of the entries submitted before the first coroutine still queued by ``run``
        (that coroutine may be what waits: ``RunMemory.close`` closes the memory through ``run``)."""

        def ahead(queued: list[_Work]) -> list[_Work]:
            batches: list[_Work] = []
            for work in queued:
                if isinstance(work, _Call) and not work.done.done():
                    break
                batches.append(work)
            return batches

        return self._wait(ahead, timeout)

    def _wait(self, take: Callable[[list[_Work]], list[_Work]], timeout: float | None) -> bool:
        """Wait for the works that ``take`` picks from the queue (being written, then pending)."""
        with self._wake:
            waiting = [work.done for work in take([*self._writing, *self._pending])]
            self._hurry = self._hurry or bool(self._pending)
            self._wake.notify_all()
        _, not_done = concurrent.futures.wait(waiting, timeout)
        return not not_done

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush, then stop the thread."""
        self.flush(timeout)
        with self._wake:
            thread, self._thread = self._thread, None
            self._wake.notify_all()
        if thread is not None:
            thread.join(timeout)

    def _queue(self, work: _Work) -> _Work:
        with self._wake:
            self._pending.append(work)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="jotty-memory-writer", daemon=True)
                self._thread.start()
            if isinstance(work, _Call):
                self._hurry = True
            if len(self._pending) in (1, MAX_WAITING) or self._hurry:  # else the writer is lingering: let it
                self._wake.notify()
        return work

    def _serve(self) -> None:
        """The thread's loop: take everything pending, write it, until ``close`` retires the thread."""
        me = threading.current_thread()
        while True:
            with self._wake:
                while not self._pending and self._thread is me:
                    self._wake.wait()
                if self._thread is not me and (self._thread is not None or not self._pending):
                    return  # closed: what is submitted from now on starts a new thread
                until = time.monotonic() + self.linger
                while self._thread is me and not self._hurry and len(self._pending) < MAX_WAITING:
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                taken, self._pending, self._hurry = self._pending, [], False
                self._writing.extend(taken)
            self._drain(taken)
            with self._wake:
                self._writing = [work for work in self._writing if not work.done.done()]

    def _drain(self, taken: list[_Work]) -> None:
        """Write ``taken`` in order: the batches between two calls together, then each call."""
        batches: list[_Batch] = []
        for work in [*taken, None]:
            if isinstance(work, _Batch):
                batches.append(work)
                continue
            if batches:
                try:
                    self._write(batches)
                except Exception:  # never lose the thread; _write marks what failed
                    log.exception("the memory writer failed")
                for batch in batches:
                    _settle(batch.done, None)
                batches = []
            if isinstance(work, _Call):
                try:
                    _settle(work.done, asyncio.run(work.coroutine))
                except BaseException as exc:  # a cancelled coroutine too: the caller gets it, the thread lives
                    _settle(work.done, error=exc)

    def _write(self, batches: list[_Batch]) -> None:
        """Each store's batches in one transaction (retried); if that keeps failing, each batch alone."""
        groups: dict[tuple[Any, ...], list[_Batch]] = {}
        for batch in batches:
            groups.setdefault(_store_key(batch.memory), []).append(batch)
        for group in groups.values():
            if not self._try(group, attempts=ATTEMPTS) and len(group) > 1:
                for batch in group:
                    self._try([batch], attempts=1)

    def _try(self, group: list[_Batch], attempts: int) -> bool:
        """Write ``group`` (batches of one store) in one transaction, up to ``attempts`` times; True when
        written. After the last failed attempt of a single batch, its entries are marked failed."""
        memory = group[0].memory
        by_scope: dict[str, list[Remembered]] = {}
        for batch in group:
            by_scope.setdefault(batch.memory.scope, []).extend(batch.entries)
        items = {scope: [{"text": e.text, "metadata": e.metadata} for e in mine] for scope, mine in by_scope.items()}
        error: Exception | None = None
        for attempt in range(attempts):
            self.transactions += 1
            try:
                outcomes = memory.remember_scopes_now(items)
            except Exception as exc:  # a busy store: retry; bad input: it will fail again, and says why
                error = exc
                if attempt + 1 < attempts:
                    time.sleep(0.05 * 2**attempt)
                continue
            for scope, entries in by_scope.items():
                for entry, outcome in zip(entries, outcomes[scope], strict=True):
                    entry.status, entry.id, entry.reason = outcome.action, outcome.id, outcome.reason
                    entry.salience = outcome.salience
            self._written(by_scope)
            return True
        if len(group) > 1:
            return False
        log.warning("could not remember %d items in scope %s: %s", len(group[0].entries), memory.scope, error)
        for entry in group[0].entries:
            entry.status, entry.reason = "failed", f"{type(error).__name__}: {error}"
        self._written({memory.scope: group[0].entries})
        return False

    def _written(self, by_scope: dict[str, list[Remembered]]) -> None:
        for scope, entries in by_scope.items():
            self.written += len(entries)
            changed = any(entry.status in ("stored", "reinforced") for entry in entries)
            if self._on_written is not None and changed:
                try:
                    self._on_written(scope)
                except Exception:  # a listener's failure must not stop the other stores' writes
                    log.exception("the memory writer's on_written failed for scope %s", scope)


def _settle(future: concurrent.futures.Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Set ``future``'s result (or ``error``) unless its waiter cancelled it (a timed-out
    ``settled()``): the write happened all the same, and the writer's thread must outlive it."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def _store_key(memory: Memory) -> tuple[Any, ...]:
    """Memories with the same key are written together: the same store and the same ingest settings."""
    try:
        database: object = memory.database()
    except Exception:  # the write will fail on its own and say why
        database = memory
    return id(database), id(memory.embedder), memory.min_salience, memory.dedupe


_WRITERS: weakref.WeakSet[MemoryWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:  # pragma: no cover - runs at interpreter exit
    for writer in list(_WRITERS):
        writer.flush(30.0)
