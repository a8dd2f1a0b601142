"""``MemoryWriter``: remembering off the run's path (write-behind), flushed on close, nothing dropped.

A run hands its outcome to the writer in microseconds; a background thread writes what piled up,
with the store's synchronous API on that thread (no event loop, no further thread hop): every scope
of a store in ONE transaction per batch (``Memory.remember_scopes_now``; a text remembered in two
scopes is embedded once), and fills each ``Remembered`` entry with what happened (stored,
reinforced, skipped, and why). ``flush()`` waits until every submitted entry is written; it runs on
close and at interpreter exit. A write that fails is retried with backoff, then each submission
alone (so one bad scope or run does not sink the others); an entry that still cannot be written is
marked ``failed`` with the error, and logged. Unless its input was bad, it is held and tried again
with the next submission and on ``flush`` (a store that refused writes for a while: a full disk, a
locked file, an embedder down) for up to ``HOLD_SECONDS``; ``close`` drops what is still held, logged
as an error.
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

from jotty.errors import ValidationError

if TYPE_CHECKING:
    from jotty.memory import Memory

log = logging.getLogger(__name__)
ATTEMPTS = 3
"""Tries per batch before its entries are marked failed."""
LINGER = 0.05
"""Seconds a drain waits for more runs' outcomes before it writes (all of them in one transaction)."""
MAX_WAITING = 256
"""Submissions that end the wait at once."""
HOLD_SECONDS = 600.0
"""How long a submission the writer gave up on is held to be tried again."""
MAX_HELD = 1_000
"""Submissions held at most; the oldest beyond are dropped (logged)."""


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
    failed_at: float | None = None
    """When the writer first gave up on it (it is held to be tried again), else None."""
    error: str = ""
    """Why the last write of it failed."""


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
        self._held: list[_Batch] = []
        """Submissions the writer gave up on, to be tried again (oldest first)."""
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
        """Wait until everything submitted so far is written (what the writer gave up on is tried
        again); False if ``timeout`` passed first."""
        return self._wait(lambda queued: queued, timeout, retry=True)

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

        return self._wait(ahead, timeout, retry=True)

    def _wait(self, take: Callable[[list[_Work]], list[_Work]], timeout: float | None, retry: bool = False) -> bool:
        """Wait for the works that ``take`` picks from the queue (being written, then pending), after
        queueing what the writer gave up on again (``retry``)."""
        with self._wake:
            if retry:
                self._retry_held()
            waiting = [work.done for work in take([*self._writing, *self._pending])]
            self._hurry = self._hurry or bool(self._pending)
            self._wake.notify_all()
        _, not_done = concurrent.futures.wait(waiting, timeout)
        return not not_done

    def close(self, timeout: float | None = 60.0) -> None:
        """Write what is queued (not again what the writer gave up on: ``flush`` does, and the store
        may be closed by now), drop what is still held (logged), then stop the thread."""
        self._wait(lambda queued: queued, timeout)
        with self._wake:
            thread, self._thread = self._thread, None
            self._wake.notify_all()
        self.drop_held("the writer closed")
        if thread is not None:
            thread.join(timeout)

    def drop_held(self, why: str) -> None:
        """Give up for good on what is held (its store is closed: trying it again would open it
        again), each entry and the log saying ``why``."""
        with self._wake:
            dropped, self._held = self._held, []
        for batch in dropped:
            _lost(batch, why)

    def _queue(self, work: _Work) -> _Work:
        with self._wake:
            idle = not self._pending
            if isinstance(work, _Batch):  # the store may take writes again: what it refused goes first
                self._retry_held()
            self._pending.append(work)
            self._start()
            if isinstance(work, _Call):
                self._hurry = True
            if idle or len(self._pending) >= MAX_WAITING or self._hurry:  # else the writer is lingering: let it
                self._wake.notify()
        return work

    def holds(self, scope: str, run_id: str, outcome: str) -> bool:
        """Whether an entry of ``scope`` for run ``run_id`` of that ``outcome`` is still to be written
        (queued, being written, or held after the store refused it): a caller that checks the store
        for it must not submit it again."""
        with self._wake:
            works = [*self._writing, *self._pending, *self._held]
            return any(
                entry.scope == scope
                and entry.metadata.get("run_id") == run_id
                and entry.metadata.get("outcome") == outcome
                for work in works
                if isinstance(work, _Batch)
                for entry in work.entries
            )

    def _start(self) -> None:
        """Start the thread if none serves (under ``_wake``)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="jotty-memory-writer", daemon=True)
            self._thread.start()

    def _retry_held(self) -> None:
        """Queue what the writer gave up on again, oldest first (under ``_wake``)."""
        held, self._held = self._held, []
        self._pending.extend(_Batch(b.memory, b.entries, failed_at=b.failed_at, error=b.error) for b in held)
        if held:
            self._start()

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
        """Each store's batches in one transaction (retried); if that keeps failing, each batch alone,
        except that once a batch tried before fails again, the other such are held untried."""
        groups: dict[tuple[Any, ...], list[_Batch]] = {}
        for batch in batches:
            groups.setdefault(_store_key(batch.memory), []).append(batch)
        for group in groups.values():
            error = self._try(group, attempts=ATTEMPTS)
            if error is None:
                continue
            if len(group) == 1:
                self._give_up(group[0], error)
                continue
            refused: list[tuple[_Batch, Exception]] = []  # a held batch refused again: the store still fails
            for batch in group:
                if refused and batch.failed_at is not None:
                    self._give_up(batch, error)
                    continue
                alone = self._try([batch], attempts=1)
                if alone is not None and batch.failed_at is None:
                    self._give_up(batch, alone)
                elif alone is not None:
                    refused.append((batch, alone))
            for batch, alone in refused:  # held last: the next retry starts with another batch
                self._give_up(batch, alone)

    def _try(self, group: list[_Batch], attempts: int) -> Exception | None:
        """Write ``group`` (batches of one store) in one transaction, up to ``attempts`` times; the
        last attempt's error, or None when written."""
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
            for batch in group:
                if batch.failed_at is not None:
                    log.info("remembered %d items in scope %s%s after an earlier failure", *_named(batch))
            self._written(group, by_scope)
            return None
        return error

    def _give_up(self, batch: _Batch, error: Exception) -> None:
        """Mark ``batch``'s entries failed, saying why; hold it to be tried again, unless its input
        was bad or it was held ``HOLD_SECONDS`` already (then it is dropped, logged as an error)."""
        now, first = time.monotonic(), batch.failed_at is None
        batch.error = f"{type(error).__name__}: {error}"
        hold = not isinstance(error, ValidationError) and now - (batch.failed_at or now) < HOLD_SECONDS
        held = " (held: tried again with the next write)" if hold else ""
        for entry in batch.entries:
            entry.status, entry.reason = "failed", batch.error + held
        if first:
            log.warning("could not remember %d items in scope %s%s: %s" + held, *_named(batch), batch.error)
            self._written([batch], {batch.memory.scope: batch.entries})
        if not hold:
            if not first:
                _lost(batch, f"held {HOLD_SECONDS:g} s")
            return
        batch.failed_at = batch.failed_at or now
        with self._wake:
            self._held.append(batch)
            dropped, self._held = self._held[:-MAX_HELD], self._held[-MAX_HELD:]
        for old in dropped:
            _lost(old, f"more than {MAX_HELD} held")

    def _written(self, group: list[_Batch], by_scope: dict[str, list[Remembered]]) -> None:
        self.written += sum(len(batch.entries) for batch in group if batch.failed_at is None)  # each entry once
        for scope, entries in by_scope.items():
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


def _named(batch: _Batch) -> tuple[int, str, str]:
    """How many entries, the scope, and the runs they are of (for the log)."""
    runs = sorted({str(e.metadata["run_id"]) for e in batch.entries if e.metadata.get("run_id")})
    return len(batch.entries), batch.memory.scope, f" (run {', '.join(runs)})" if runs else ""


def _lost(batch: _Batch, why: str) -> None:
    """``batch`` will not be tried again: its entries and the log say so."""
    for entry in batch.entries:
        entry.reason = f"{batch.error} (not remembered: {why})"
    log.error("gave up remembering %d items in scope %s%s (%s): %s", *_named(batch), why, batch.error)


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
        writer.drop_held("the interpreter exits")
