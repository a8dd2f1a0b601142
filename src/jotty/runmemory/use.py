"""Everyone gets memory: what a Conductor run recalls before it starts and remembers after it ends.

One recall per run, from the conductor's scope, runs alongside the router's start and lands in
``ctx.data["memory"]`` within a token budget (``{"scope", "text", "items", "tokens"}``); a chat run
also finds it as a system message at the head of its history, so an ``LLMAgent`` sees it. A recall
is reused for the same goal while the scope's revision is the one read before it (no write to the
scope by anyone, in any process), for at most ``CACHE_SECONDS``. After the run, its outcome is handed
to a ``MemoryWriter`` (write-behind): the goal and output (a chat: what the user said) in the
conductor's scope, and what the accepted actor did in ``actor:<name>``. ``result.memory`` is a
``MemoryReport``: what was recalled (ids, scores) and what was stored, reinforced or skipped and why
(``await report.settled()`` waits for the write). Idle queue workers consolidate ("sleep").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from jotty import wording
from jotty.context import as_text, estimate_tokens
from jotty.errors import ValidationError
from jotty.runmemory.writer import MemoryWriter, Remembered

if TYPE_CHECKING:
    from jotty.memory import ConsolidationReport, Memory, MemoryHit
    from jotty.queue import TaskQueueManager

log = logging.getLogger(__name__)

CONDUCTOR_SCOPE = "conductor"
"""The scope of ``Conductor(memory=True)``: the whole conductor's memory."""
RECALL_K = 10
CACHE_SECONDS = 2.0
QUERY_CHARS = 500
"""A goal longer than this is recalled by its start."""
REMEMBER_CHARS = 1_000
"""What a run remembers is cut to this many characters."""
SLEEP_EPISODES = 1_000
"""Episodes one idle consolidation pass replays per scope (the pass is bounded)."""
HEADER = "What you remember (most relevant first):"


def resolve_memory(memory: object, store: object) -> Memory | None:
    """The ``Memory`` a Conductor uses: ``memory`` itself, a new one in ``store``'s conductor scope
    (True: ``store`` must then be a path, URL or None), or None (False). The default, None, is True
    where the store is a path, URL or None, and off (logged) for a store object."""
    if memory is False:
        return None
    if memory is None:
        if store is not None and not isinstance(store, str | os.PathLike):
            log.info("memory is off: the store is a %s; pass memory=Memory(path_or_url)", type(store).__name__)
            return None
        memory = True
    from jotty.memory import Memory

    if isinstance(memory, Memory):
        return memory
    if memory is not True:
        raise ValidationError(
            f"memory must be True (the store's conductor scope), False (off) or a jotty.memory.Memory, "
            f"got {type(memory).__name__}"
        )
    if store is not None and not isinstance(store, str | os.PathLike):
        raise ValidationError(
            "memory=True needs the store as a path or URL to find it; with a store object pass "
            "memory=Memory(path_or_url, scope='conductor'), or memory=False"
        )
    return Memory(store, CONDUCTOR_SCOPE)


def check_tokens(tokens: object) -> int:
    """``memory_tokens``: a whole number >= 50."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 50:
        raise ValidationError(f"memory_tokens must be a whole number >= 50 (tokens of recalled memory), got {tokens!r}")
    return tokens


def check_sleep(seconds: object) -> float | None:
    """``memory_sleep``: seconds of idleness before a queue worker consolidates, or None (never)."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ValidationError(f"memory_sleep must be a positive number of seconds or None, got {seconds!r}")
    return float(seconds)


@dataclass
class MemoryReport:
    """A run's memory: ``recalled`` (id, score, level, text) and ``remembered`` (``Remembered``:
    scope, status stored/reinforced/skipped/failed, id and reason; ``pending`` until written)."""

    scope: str
    recalled: list[dict[str, Any]] = field(default_factory=list)
    remembered: list[Remembered] = field(default_factory=list)
    tokens: int = 0
    cached: bool = False
    seconds: float = 0.0
    error: str | None = None
    skipped: str | None = None
    """Why the run recalled nothing without trying (a resumed run that had completed), or None."""
    _written: concurrent.futures.Future[None] | None = field(default=None, repr=False)
    _hurry: Callable[[], None] | None = field(default=None, repr=False)

    async def settled(self, timeout: float | None = 30.0) -> MemoryReport:
        """This report once its ``remembered`` entries are written."""
        if self._written is not None:
            if self._hurry is not None:  # someone waits: the writer need not linger for more
                self._hurry()
            # shielded: a waiter that gives up must not cancel the writer's future (the write goes on)
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._written)), timeout)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "scope": self.scope,
            "recalled": [dict(hit) for hit in self.recalled],
            "remembered": [entry.to_dict() for entry in self.remembered],
            "tokens": self.tokens,
            "cached": self.cached,
            "seconds": round(self.seconds, 6),
            "error": self.error,
            "skipped": self.skipped,
        }


class Outcome(NamedTuple):
    """How a run ended, as memory keeps it."""

    run_id: str
    ok: bool
    output: Any
    error: str | None
    actor: str | None

    @property
    def kind(self) -> str:
        """``success`` or ``failure``: the metadata's ``outcome``."""
        return "success" if self.ok else "failure"


@dataclass(frozen=True)
class Recall:
    """What a run recalled: the ``ctx.data["memory"]`` value and the report it starts."""

    value: dict[str, Any]
    report: MemoryReport


def _copied(value: Any) -> Any:
    """A deep copy of JSON-shaped ``value`` (a memory's metadata: dicts, lists and scalars), several
    times cheaper than ``copy.deepcopy``, which a recall paid for every hit it shows."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _only_questions(text: str) -> bool:
    """Whether every sentence of ``text`` is a question ("Where do I live?"): a chat turn that
    tells nothing (one that also states something, "I moved to Porto. Any gyms?", tells)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    return bool(sentences) and all(s.rstrip().endswith("?") for s in sentences)


class RunMemory:
    """A Conductor's memory use: recall before each run, remember after it, sleep when idle."""

    def __init__(
        self, memory: Memory, tokens: int = 600, sleep_after: float | None = 30.0, *, owned: bool = False
    ) -> None:
        self.memory = memory
        self.owned = owned
        """True when the Conductor made ``memory`` (and closes it)."""
        self.tokens = check_tokens(tokens)
        self.sleep_after = check_sleep(sleep_after)
        self.writer = MemoryWriter(on_written=self._changed)
        writer = weakref.ref(self.writer)  # the memory must not keep this RunMemory (its cache) alive

        def closing() -> None:  # what the store still refuses is not tried again: it would open it again
            w = writer()
            if w is not None:
                w.flush_batches()
                w.drop_held("its memory was closed")

        self._unhook = memory.before_close(closing)
        """A memory closed by its owner first gets the runs' outcomes (``close`` takes this back)."""
        self.sleeps: list[ConsolidationReport] = []
        """The idle consolidation passes of this process, latest last."""
        self._scopes: dict[str, Memory] = {memory.scope: memory}
        self._cache: dict[str, tuple[float, tuple[int, int], list[MemoryHit]]] = {}
        """Recent recalls by query: when, the scope's revision read before, the hits."""
        self._dirty: set[str] = {memory.scope}
        self._dirty_lock = threading.Lock()  # the writer thread adds to it
        self._resting: asyncio.Future[bool] | None = None

    def scope(self, name: str) -> Memory:
        """The memory of scope ``name`` on the same store (``actor:coder``, ``team:research``)."""
        found = self._scopes.get(name)
        if found is None:
            found = self._scopes[name] = self.memory.scoped(name)
        return found

    def _changed(self, scope: str) -> None:
        with self._dirty_lock:
            self._dirty.add(scope)

    # ------------------------------------------------------------------ before the run

    async def recall(self, goal: str, data: Mapping[str, Any]) -> Recall:
        """Recall for ``goal``; never raises (a failing store leaves the run without memory)."""
        return await asyncio.to_thread(self.recall_now, goal, data)

    def recall_now(self, goal: str, data: Mapping[str, Any]) -> Recall:
        """``recall`` on the calling thread (the Conductor's, beside the router's start)."""
        began = time.perf_counter()
        report = MemoryReport(self.memory.scope)
        query = goal[:QUERY_CHARS]
        # A cached recall serves only while the scope's revision is the one read before it: any
        # write to the scope (a remember, a forget, a consolidation, in any process) changes it.
        try:
            revision: tuple[int, int] | None = self.memory.revision()
        except Exception:  # the recall below says what is wrong with the store
            revision = None
        cached = self._cache.get(query)
        hits: list[MemoryHit] = []
        if cached is not None and cached[1] == revision and began - cached[0] < CACHE_SECONDS:
            hits, report.cached = cached[2], True
        else:
            try:
                hits = self.memory.recall_query(self.memory.query(query, k=RECALL_K))
            except Exception as exc:  # memory is help, not a precondition: the run goes on without it
                log.warning("memory recall failed for scope %s: %s", self.memory.scope, exc)
                report.error = f"recall failed: {type(exc).__name__}: {exc}"
            else:
                if len(self._cache) > 256:
                    self._cache.clear()
                counted = self.memory.counted  # this recall's own counts, written now, change no hit
                if revision is not None and counted is not None and counted[0] == revision[0]:
                    revision = (counted[1], revision[1])
                if revision is not None:  # another write during the recall changes the revision: not served
                    self._cache[query] = (began, revision, hits)
        value = self._context(hits, report)
        report.seconds = time.perf_counter() - began
        return Recall(value, report)

    def not_recalled(self, why: str) -> Recall:
        """The recall of a run that needs none (a resumed run the store already holds complete):
        nothing recalled, ``report.skipped`` says why."""
        report = MemoryReport(self.memory.scope, skipped=why)
        return Recall(self._context([], report), report)

    def _context(self, hits: list[MemoryHit], report: MemoryReport) -> dict[str, Any]:
        """The hits that fit in the budget, as ``ctx.data["memory"]``."""
        lines, items, used = [HEADER], [], estimate_tokens(HEADER)
        for hit in hits:
            line = f"- {hit.text} ({hit.level}, {hit.created_at:%Y-%m-%d})"
            cost = estimate_tokens(line) + 1
            if used + cost > self.tokens:
                continue
            used += cost
            lines.append(line)
            items.append(
                {
                    "id": hit.id,
                    "text": hit.text,
                    "score": round(hit.score, 4),
                    "level": hit.level,
                    "at": hit.created_at.isoformat(),
                    "metadata": _copied(hit.metadata),  # an agent's edits stay its own (hits are cached)
                }
            )
        report.recalled = [{k: item[k] for k in ("id", "score", "level", "text")} for item in items]
        report.tokens = used if items else 0
        return {
            "scope": self.memory.scope,
            "text": "\n".join(lines) if items else "",
            "items": items,
            "tokens": report.tokens,
        }

    @staticmethod
    def apply(data: dict[str, Any], recall: Recall) -> None:
        """Put the recall into the run's ``data``; a chat's history also gets it as a system message."""
        data["memory"] = recall.value
        history = data.get("history")
        if recall.value["items"] and data.get("style") == "chat" and (history is None or isinstance(history, list)):
            # a chat's first turn of a session has no history yet: the recall starts one
            data["history"] = [{"role": "system", "content": recall.value["text"]}, *(history or [])]

    # ------------------------------------------------------------------ after the run

    def remember(
        self,
        report: MemoryReport,
        goal: str,
        data: Mapping[str, Any],
        *,
        run_id: str,
        ok: bool,
        output: Any,
        error: str | None,
        actor: str | None,
    ) -> None:
        """Hand the run's outcome to the writer (it returns at once; ``report`` fills in later)."""
        self.note(report, self._entries(goal, data, Outcome(run_id, ok, output, error, actor)))

    def _entries(self, goal: str, data: Mapping[str, Any], outcome: Outcome) -> list[Remembered]:
        """What a run remembers: in the conductor's scope, and in its actor's."""
        run_id, ok, output, error, actor = outcome
        result = cut(as_text(output) if ok else f"failed: {error}")
        meta: dict[str, Any] = {"run_id": run_id, "actor": actor, "outcome": outcome.kind, "goal": cut(goal, 200)}
        if data.get("style") == "chat":
            said = Remembered(self.memory.scope, cut(goal), {**meta, "kind": "chat", "role": "user"}, "chat")
            if _only_questions(goal):  # kept, it would come back first for the next such question
                said.status, said.reason = "skipped", "only a question: the user told nothing to remember"
            entries = [said]
        else:
            entries = [Remembered(self.memory.scope, cut(f"{goal} -> {result}"), {**meta, "kind": "run"}, "run")]
        if actor is not None:
            entries.append(Remembered(f"actor:{actor}", cut(f"{goal} -> {result}"), {**meta, "kind": "actor"}, "actor"))
        return entries

    async def remember_lost(
        self, report: MemoryReport, goal: str, data: Mapping[str, Any], *, run_id: str, **outcome: Any
    ) -> None:
        """``remember`` for a queued task's run the store holds complete (or failed, before a retry
        runs it again), of each entry that its scope lacks (this run's, of this outcome): a worker
        killed after its run was recorded but before its writer wrote the outcome lost it (the task
        then completes on another worker without running again). Another process's writer that is
        merely slow is not seen: that outcome would be counted twice."""
        ran = Outcome(run_id=run_id, **outcome)
        entries = self._entries(goal, data, ran)

        def missing() -> list[Remembered]:  # this process's writer may still hold them: written first
            self.writer.flush()
            return [  # what the writer still holds (the store refused it) is not lost: it is tried again
                e
                for e in entries
                if not self.writer.holds(e.scope, run_id, ran.kind)
                and not self.scope(e.scope).holds_run(run_id, ran.kind)
            ]

        try:
            lost = await asyncio.to_thread(missing)
        except Exception as exc:  # memory is help, not a precondition
            log.warning("could not check memory for run %s: %s", run_id, exc)
            return
        if lost:
            self.note(report, lost)

    def recall_report(self) -> MemoryReport:
        """An empty report on this memory's scope, for ``note``."""
        return MemoryReport(self.memory.scope)

    def note(self, report: MemoryReport, entries: list[Remembered]) -> None:
        """Hand ``entries`` (any scopes of this store) to the writer; ``report`` lists them."""
        report.remembered.extend(entries)
        entries = [entry for entry in entries if entry.status != "skipped"]  # said why already
        futures = []
        for scope in dict.fromkeys(entry.scope for entry in entries):
            mine = [entry for entry in entries if entry.scope == scope]
            try:
                futures.append(self.writer.submit(self.scope(scope), mine))
            except ValidationError as exc:  # an actor name that is not a valid scope
                for entry in mine:
                    entry.status, entry.reason = "skipped", str(exc)
        report._written = None if not futures else futures[0] if len(futures) == 1 else _all(futures)
        report._hurry = self.writer.hurry

    # ------------------------------------------------------------------ sleep

    @contextlib.asynccontextmanager
    async def sleeping(self, manager: TaskQueueManager) -> AsyncIterator[None]:
        """While the block runs ``manager``, consolidate after ``sleep_after`` idle seconds."""
        if self.sleep_after is None:
            yield
            return
        task = asyncio.create_task(self._sleep_loop(manager, self.sleep_after))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if self._resting is not None:  # let a pass under way finish (it is bounded)
                with contextlib.suppress(Exception):
                    await self._resting

    async def _sleep_loop(self, manager: TaskQueueManager, after: float) -> None:
        seen, idle_since, rested = -1, time.monotonic(), False
        while True:
            await asyncio.sleep(max(0.05, min(after / 4, 5.0)))
            if manager.running or manager.stats.claimed != seen:
                seen, idle_since, rested = manager.stats.claimed, time.monotonic(), False
                continue
            if rested or time.monotonic() - idle_since < after:
                continue
            self._resting = asyncio.ensure_future(self.sleep())
            rested = await asyncio.shield(self._resting)
            self._resting = None
            idle_since = time.monotonic()

    async def sleep(self, max_episodes: int = SLEEP_EPISODES) -> bool:
        """One bounded consolidation pass over every scope this process wrote to (and the conductor's);
        True when no scope has work left."""
        await asyncio.to_thread(self.writer.flush)
        with self._dirty_lock:
            scopes, self._dirty = sorted(self._dirty), set()
        rested = True
        for name in scopes:
            try:
                report = await self.scope(name).consolidate(max_episodes=max_episodes)
            except Exception as exc:  # sleep is housekeeping: log it and let the worker go on
                log.warning("idle consolidation of scope %s failed: %s", name, exc)
                continue
            self.sleeps.append(report)
            del self.sleeps[:-50]
            log.info("idle consolidation of %s: %s", name, report)
            with self._dirty_lock:
                if report.more or not report.lease or report.skipped_clusters:  # work left: sleep on it again
                    self._dirty.add(name)
                    rested = False
        return rested

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Write everything pending, then release the store."""
        self._unhook()
        self.writer.flush()
        if self.owned:
            with contextlib.suppress(Exception):
                self.writer.run(self.memory.close(), timeout=30.0)
        self.writer.close()


def _all(futures: list[concurrent.futures.Future[None]]) -> concurrent.futures.Future[None]:
    """A future done when every one of ``futures`` is."""
    combined: concurrent.futures.Future[None] = concurrent.futures.Future()
    remaining = [len(futures)]

    def one_done(_: concurrent.futures.Future[None]) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            combined.set_result(None)

    for future in futures:
        future.add_done_callback(one_done)
    return combined


def run_memory(memory: object, store: object, tokens: object, sleep_after: object) -> RunMemory | None:
    """A Conductor's ``RunMemory`` for its ``memory=`` option, or None when memory is off."""
    checked_tokens, checked_sleep = check_tokens(tokens), check_sleep(sleep_after)
    found = resolve_memory(memory, store)
    if found is None:
        return None
    return RunMemory(found, checked_tokens, checked_sleep, owned=memory is True or memory is None)


def team_memory(memory: object, team: str, tokens: object = 600) -> RunMemory | None:
    """A Team's ``RunMemory`` for its ``memory=`` option: a ``Memory`` whose scope starts with
    ``team:`` as it is, another ``Memory``'s store at scope ``team:<team>``, True for the default
    store's ``team:<team>``, False or None for none."""
    if memory is False or memory is None:
        return None
    from jotty.memory import Memory

    if memory is True:
        return RunMemory(Memory(None, f"team:{team}"), check_tokens(tokens), None, owned=True)
    if not isinstance(memory, Memory):
        raise ValidationError(
            f"Team memory must be a jotty.memory.Memory, True (the default store) or None, got {type(memory).__name__}"
        )
    found = memory if memory.scope.startswith("team:") else memory.scoped(f"team:{team}")
    return RunMemory(found, check_tokens(tokens), None)


def cut(text: str, limit: int = REMEMBER_CHARS) -> str:
    """``text`` cut to ``limit`` characters (marked with an ellipsis)."""
    return wording.cut(text, limit)
