"""``MemoryWriter``: remembering off the run's path (write-behind), flushed on close, nothing dropped.

A run hands its outcome to the writer in microseconds; a background thread with its own event loop
writes what piled up, one ``remember_many`` per scope per batch, and fills each ``Remembered``
entry with what happened (stored, reinforced, skipped, and why). ``flush()`` waits until every
submitted entry is written; it runs on close and at interpreter exit. A write that fails is retried
with backoff; an entry that still cannot be written is marked ``failed`` with the error, and logged.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jotty.memory import Memory

log = logging.getLogger(__name__)
ATTEMPTS = 3
"""Tries per batch before its entries are marked failed."""


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
    done: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)


class MemoryWriter:
    """Writes ``Remembered`` entries in a background thread; see the module docstring."""

    def __init__(self, on_written: Callable[[str], None] | None = None) -> None:
        """``on_written(scope)`` is called (on the writer thread) when a batch changed the scope."""
        self._lock = threading.Lock()
        self._pending: list[_Batch] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._draining = False
        self._on_written = on_written
        self.written = 0
        """Entries written so far (any status but pending)."""
        _WRITERS.add(self)

    def submit(self, memory: Memory, entries: list[Remembered]) -> concurrent.futures.Future[None]:
        """Queue ``entries`` for ``memory``; the future is done when they are written."""
        batch = _Batch(memory, entries)
        with self._lock:
            self._pending.append(batch)
            schedule = not self._draining
            self._draining = True
            loop = self._started()
        if schedule:
            asyncio.run_coroutine_threadsafe(self._drain(), loop)
        return batch.done

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coroutine`` on the writer's loop (after what is queued) and wait for its value."""
        with self._lock:
            loop = self._started()
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until everything submitted so far is written; False if ``timeout`` passed first."""
        with self._lock:
            waiting = [batch.done for batch in self._pending]
        _, not_done = concurrent.futures.wait(waiting, timeout)
        return not not_done

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush, then stop the thread."""
        self.flush(timeout)
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()

    def _started(self) -> asyncio.AbstractEventLoop:
        """The writer's loop, started on first use (call with ``_lock`` held)."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="jotty-memory-writer", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    async def _drain(self) -> None:
        while True:
            with self._lock:
                batches = list(self._pending)
                if not batches:
                    self._draining = False
                    return
            groups: dict[int, list[_Batch]] = {}
            for batch in batches:
                groups.setdefault(id(batch.memory), []).append(batch)
            for group in groups.values():
                await self._write(group)
            with self._lock:
                self._pending = self._pending[len(batches) :]
            for batch in batches:
                batch.done.set_result(None)

    async def _write(self, group: list[_Batch]) -> None:
        memory = group[0].memory
        entries = [entry for batch in group for entry in batch.entries]
        items = [{"text": e.text, "metadata": e.metadata} for e in entries]
        error: Exception | None = None
        for attempt in range(ATTEMPTS):
            try:
                outcomes = await memory.remember_many_detailed(items)
            except Exception as exc:  # a busy store: retry; bad input: it will fail again, and says why
                error = exc
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            for entry, outcome in zip(entries, outcomes, strict=True):
                entry.status, entry.id, entry.reason = outcome.action, outcome.id, outcome.reason
                entry.salience = outcome.salience
            break
        else:
            log.warning("could not remember %d items in scope %s: %s", len(entries), memory.scope, error)
            for entry in entries:
                entry.status, entry.reason = "failed", f"{type(error).__name__}: {error}"
        self.written += len(entries)
        changed = any(entry.status in ("stored", "reinforced") for entry in entries)
        if self._on_written is not None and changed:
            self._on_written(memory.scope)


_WRITERS: weakref.WeakSet[MemoryWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:  # pragma: no cover - runs at interpreter exit
    for writer in list(_WRITERS):
        writer.flush(30.0)
