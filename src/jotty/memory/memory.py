"""``Memory``: the async API over the store. Database and embedding work runs in threads, off the
event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from jotty.db import resolve_store
from jotty.errors import ValidationError
from jotty.memory import store
from jotty.memory.database import Cursor, Database, open_database, release_database
from jotty.memory.embedders import MINILM_NAMES, Embedder, bundled_embedder, default_embedder, embed_texts
from jotty.memory.ingest import Batch, Embedding, Item, ingest_batches
from jotty.memory.ranking import Weights
from jotty.memory.records import STORED_LEVELS, ConsolidationReport, MemoryHit, MemoryStats, RememberOutcome
from jotty.memory.retrieve import Query, hits_of, search, what_of
from jotty.memory.salience import Signals, salience
from jotty.memory.validation import (
    check_k,
    check_levels,
    check_metadata,
    check_number,
    check_scope,
    check_store_level,
    check_text,
    check_time,
    check_timezone,
    check_unit,
)

log = logging.getLogger(__name__)
USE_FLUSH_SECONDS = 2.0
"""How long recall counts may wait in this process before they are written."""
MAX_BATCH = 50_000


class Memory:
    """Hierarchical memory of one scope in the store.

    ``store`` is a path, ``sqlite:///PATH``, a ``postgresql://`` URL or None (``JOTTY_DATABASE_URL``,
    else ``$JOTTY_HOME/jotty.db``). ``embedder`` is None (the offline default when ``jotty[memory]``
    is installed, else lexical only), False (lexical only) or an ``Embedder``. ``min_salience``: items
    below it are skipped. With the default embedder, a scope whose vectors an earlier default wrote
    (the bundled model with its former pooling) keeps that embedder. ``summarizer``: an async
    callable (or an agent with ``run``) that turns a prompt into a summary, for consolidation;
    extractive summaries otherwise. ``dedupe=False`` keeps
    every item as its own memory (an index of distinct records, such as the data registry's).
    ``default``: the embedder that ``embedder=None`` stands for, instead of the offline default (the
    data registry's index); it too gives way to the bundled embedder that wrote the scope.
    ``timezone``: the zone whose days a question's time words name ("yesterday", "last weekend",
    "this morning", "on 2024-03-01"), a ``zoneinfo`` key ("Europe/Lisbon") or a ``tzinfo``; None
    (the default) is the process's local zone, what a person at a terminal means by "yesterday".
    A recall whose ``now`` is an aware datetime (or an ISO time with an offset) reads its days in
    that zone instead. Stored times, and hits' ``created_at``, stay UTC.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        scope: str = "default",
        embedder: Embedder | bool | None = None,
        *,
        min_salience: float = 0.2,
        summarizer: Any = None,
        weights: Weights | None = None,
        dedupe: bool = True,
        default: Embedder | None = None,
        timezone: str | tzinfo | None = None,
    ) -> None:
        self.scope = check_scope(scope)
        self.timezone = check_timezone(timezone)
        self._location = resolve_store(store)
        if self._location.kind not in ("sqlite", "postgresql"):
            raise ValidationError(
                f"memory cannot live in {self._location.kind}: give an SQLite path or a postgresql:// URL"
            )
        self._store = store
        self._default_embedder = embedder is None or embedder is True
        self.embedder = _resolve_embedder(default if self._default_embedder and default is not None else embedder)
        self._base_embedder = self.embedder
        self._scope_embedders: dict[str, Embedder | None] = {}
        self.min_salience = check_unit(min_salience, "min_salience") or 0.0
        self.summarizer = summarizer
        self.weights = weights or Weights()
        self.dedupe = bool(dedupe)
        self._database: Database | None = None
        self._open_lock = threading.RLock()
        self._pending: dict[tuple[int, str], int] = {}
        """Recall counts not yet written, by memory (seq, id)."""
        self._uses_lock = threading.Lock()
        self._uses_since = time.monotonic()
        self._children: list[Memory] = []
        self._before_close: list[Callable[[], object]] = []
        self.counted: tuple[int, int] | None = None
        """The scope's revision before and after this memory last wrote its recall counts: a change
        of counts, not of what a recall finds (the Conductor's recall cache looks through it)."""

    def __repr__(self) -> str:
        return f"Memory(scope={self.scope!r}, store={self._location.kind}, embedder={self.embedder_name!r})"

    @property
    def embedder_name(self) -> str | None:
        """The embedder's name, or None for lexical-only memory."""
        return self.embedder.name if self.embedder is not None else None

    def scoped(self, scope: str) -> Memory:
        """The same store and settings, another scope (``"actor:coder"``, ``"team:research"``, ...)."""
        other = Memory(
            self._store,
            scope,
            self._base_embedder if self._base_embedder is not None else False,
            min_salience=self.min_salience,
            summarizer=self.summarizer,
            weights=self.weights,
            dedupe=self.dedupe,
            timezone=self.timezone,
        )
        other._default_embedder = self._default_embedder  # the same object, and it checks its own scope
        self._children.append(other)
        return other

    def _scope_embedder(self) -> None:
        """``embedder`` for this memory's scope (see ``_embedder_for``)."""
        self._embedder_for(self.scope)

    def _embedder_for(self, scope: str) -> Embedder | None:
        """The embedder that writes and searches ``scope``: this memory's, except that a default one
        gives way to the bundled model's other pooling in a scope whose vectors that wrote (a scope
        written before the default changed); an embedder given explicitly is never swapped. The
        store is asked once per scope. Blocking."""
        default = self._base_embedder
        if not self._default_embedder or default is None:
            return self.embedder
        if scope in self._scope_embedders:
            return self._scope_embedders[scope]
        with self._open_lock:
            if scope in self._scope_embedders:
                return self._scope_embedders[scope]
            chosen: Embedder | None = default
            state = self.database().read(lambda cur: store.scope_state(cur, scope))
            if state is not None and state.embedder not in (None, default.name):
                earlier = bundled_embedder(state.embedder)
                if earlier is not None and earlier.dimension == state.dimension:
                    log.info("scope %r holds vectors of %s: using it, not the default", scope, earlier.name)
                    chosen = earlier
                elif state.embedder in MINILM_NAMES:  # written where jotty[memory-minilm] is installed
                    log.warning(
                        "scope %r holds vectors of %s, which cannot run here (pip install 'jotty[memory-minilm]'):"
                        " it is searched by its words only",
                        scope,
                        state.embedder,
                    )
                    chosen = None
            self._scope_embedders[scope] = chosen
            if scope == self.scope:
                self.embedder = chosen
            return chosen

    def database(self) -> Database:
        """The store's database (opened, and migrated, on first use). Blocking."""
        with self._open_lock:
            if self._database is None:
                self._database = open_database(self._store)
            return self._database

    def holds_run(self, run_id: str, outcome: str | None = None) -> bool:
        """Whether this scope holds an item remembered for run ``run_id`` (its metadata's ``run_id``),
        of that ``outcome`` ("success", "failure") if given. Blocking."""
        return self.database().read(lambda cur: store.holds_run(cur, self.scope, run_id, outcome))

    def revision(self) -> tuple[int, int]:
        """The scope's revision and purge count, which every write to the scope changes, from any
        process ((0, 0) before its first write). Blocking."""
        state = self.database().read(lambda cur: store.scope_state(cur, self.scope))
        return (0, 0) if state is None else (state.rev, state.purges)

    async def close(self) -> None:
        """Write pending recall counts and release the store."""
        await asyncio.to_thread(self._close)

    def before_close(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` (blocking) when this memory closes, before its store is released: a user
        that writes behind (the Conductor's writer) writes what it still holds. Returns the function
        that takes the callback back (when that user closes first)."""
        self._before_close.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._before_close.remove(callback)

        return remove

    def _close(self) -> None:
        for callback in list(self._before_close):
            try:
                callback()
            except Exception as exc:  # the store is closed all the same
                log.warning("a before-close callback of memory scope %s failed: %s", self.scope, exc)
        for child in self._children:
            child._close()
        with self._open_lock:
            if self._database is not None:
                try:
                    self._flush_uses(force=True)
                except Exception as exc:  # recall counts only: the store is closed all the same
                    log.warning("could not write the recall counts of scope %s on close: %s", self.scope, exc)
                finally:
                    release_database(self._database)
                    self._database = None

    async def __aenter__(self) -> Memory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- remembering ---------------------------------------------------------------------------

    def _item(self, raw: object, index: int | None = None, level: str = "episodic", **signals: Any) -> Item:
        where = "text" if index is None else f"item {index}"
        at: Any = None
        importance = signals.pop("importance", None)
        if isinstance(raw, Mapping):
            unknown = set(raw) - {"text", "metadata", "at", "importance", "level"}
            if unknown:
                raise ValidationError(
                    f"{where} has unknown keys {sorted(unknown)}: use text, metadata, at, importance, level"
                )
            text = check_text(raw.get("text"), f"{where} text")
            metadata = check_metadata(raw.get("metadata"), f"{where} metadata")
            at, importance = raw.get("at"), raw.get("importance", importance)
            level = check_store_level(raw.get("level", level))
        else:
            text = check_text(raw, where)
            metadata = check_metadata(signals.pop("metadata", None), "metadata")
            at = signals.pop("at", None)
        moment = check_time(at, f"{where} at")
        found = Signals.of(
            metadata,
            importance=check_unit(importance, "importance"),
            outcome=signals.get("outcome"),
            reward=check_number(signals.get("reward"), "reward"),
            predicted=check_unit(signals.get("predicted"), "predicted"),
            surprise=check_unit(signals.get("surprise"), "surprise"),
        )
        value, reason = salience(text, found)
        return Item(text, metadata, time.time() if moment is None else moment, level, value, reason)

    async def remember(
        self,
        text: str,
        metadata: Mapping[str, Any] | None = None,
        at: datetime | str | float | None = None,
        importance: float | None = None,
        **signals: Any,
    ) -> str | None:
        """Remember ``text``; the id of the memory that holds it (a near-duplicate's when it reinforced
        one), or None when it was skipped. ``signals``: ``outcome``, ``reward``, ``predicted``,
        ``surprise``, ``level`` (see ``remember_detailed``)."""
        return (await self.remember_detailed(text, metadata, at, importance, **signals)).id

    async def remember_detailed(
        self,
        text: str,
        metadata: Mapping[str, Any] | None = None,
        at: datetime | str | float | None = None,
        importance: float | None = None,
        *,
        outcome: str | None = None,
        reward: float | None = None,
        predicted: float | None = None,
        surprise: float | None = None,
        level: str = "episodic",
    ) -> RememberOutcome:
        """Remember ``text`` and say what happened: stored, reinforced or skipped, and why.

        Salience comes from ``importance`` (0..1), ``outcome`` ("success"/"failure"), ``reward``,
        the surprise against the router's ``predicted`` success probability (or ``surprise`` itself),
        each also read from the metadata keys of the same names. ``level``: episodic (default),
        working (this run's context) or semantic (a fact stated directly).
        """
        item = self._item(
            text,
            None,
            check_store_level(level),
            metadata=metadata,
            at=at,
            importance=importance,
            outcome=outcome,
            reward=reward,
            predicted=predicted,
            surprise=surprise,
        )
        return (await asyncio.to_thread(self._ingest, [item]))[0]

    async def remember_many(self, items: Sequence[Mapping[str, Any] | str]) -> list[str | None]:
        """Remember every item (a str, or a dict with ``text`` and optional ``metadata``, ``at``,
        ``importance``, ``level``) in one transaction; ids as ``remember`` returns them, in order."""
        return [outcome.id for outcome in await self.remember_many_detailed(items)]

    async def remember_many_detailed(self, items: Sequence[Mapping[str, Any] | str]) -> list[RememberOutcome]:
        """``remember_many``, saying what happened to each item."""
        prepared = self._items(items)
        if not prepared:
            return []
        return await asyncio.to_thread(self._ingest, prepared)

    async def remember_scopes(
        self, batches: Mapping[str, Sequence[Mapping[str, Any] | str]]
    ) -> dict[str, list[RememberOutcome]]:
        """``remember_many_detailed`` into several scopes of this store at once: ``{scope: items}`` ->
        ``{scope: outcomes}``, in ONE transaction (every scope's items are written, or none). Each scope
        is remembered as ``self.scoped(scope)`` would (this memory's embedder, ``min_salience`` and
        ``dedupe``; near-duplicates within the scope only); a text given to several scopes is embedded once."""
        return await asyncio.to_thread(self.remember_scopes_now, batches)

    def remember_scopes_now(
        self, batches: Mapping[str, Sequence[Mapping[str, Any] | str]]
    ) -> dict[str, list[RememberOutcome]]:
        """``remember_scopes`` on the calling thread (blocking), for callers already on a worker thread,
        such as the run memory's write-behind ``MemoryWriter``."""
        if not isinstance(batches, Mapping):
            raise ValidationError("remember_scopes takes a dict of {scope: [items]}")
        prepared = {check_scope(scope): self._items(items) for scope, items in batches.items()}
        if sum(len(items) for items in prepared.values()) > MAX_BATCH:
            raise ValidationError(f"remember_scopes takes at most {MAX_BATCH} items at once: split the batch")
        return self._ingest_scopes(prepared)

    def _items(self, items: Sequence[Mapping[str, Any] | str]) -> list[Item]:
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise ValidationError("remember_many takes a list of items (str or dict): wrap a single item in a list")
        if len(items) > MAX_BATCH:
            raise ValidationError(f"remember_many takes at most {MAX_BATCH} items at once: split the batch")
        return [self._item(raw, index) for index, raw in enumerate(items)]

    def _ingest(self, items: list[Item]) -> list[RememberOutcome]:
        return self._ingest_scopes({self.scope: items})[self.scope]

    def _ingest_scopes(self, batches: Mapping[str, list[Item]]) -> dict[str, list[RememberOutcome]]:
        """Every scope's items in one transaction; each distinct text embedded once."""
        database = self.database()
        by_embedder: dict[str, tuple[Embedder, list[str]]] = {}
        for scope, items in batches.items():
            embedder = self._embedder_for(scope) if items else None
            if embedder is not None:
                by_embedder.setdefault(embedder.name, (embedder, []))[1].append(scope)
        embeddings: dict[str, Embedding] = {}
        for embedder, scopes in by_embedder.values():
            texts = list(dict.fromkeys(item.text for scope in scopes for item in batches[scope]))
            rows = {text: row for row, text in enumerate(texts)}
            vectors = embed_texts(embedder, texts)
            for scope in scopes:
                mine = vectors  # the rows of this scope's items, unless they are all the texts in order
                if len(scopes) > 1 or len(texts) < len(batches[scope]):
                    mine = vectors[[rows[item.text] for item in batches[scope]]]
                embeddings[scope] = Embedding(embedder.name, embedder.dimension, mine)
        order = [
            Batch(scope, items, embeddings.get(scope, Embedding()), self.min_salience, self.dedupe)
            for scope, items in batches.items()
            if items
        ]
        outcomes = dict(zip((batch.scope for batch in order), ingest_batches(database, order), strict=True))
        self._flush_uses_quietly()  # the items are committed: a failure here must not make a caller write them again
        return {scope: outcomes.get(scope, []) for scope in batches}

    # -- recalling -----------------------------------------------------------------------------

    async def recall(
        self,
        query: str,
        k: int = 10,
        level: str | Sequence[str] | None = None,
        *,
        since: datetime | str | float | None = None,
        until: datetime | str | float | None = None,
        now: datetime | str | float | None = None,
        counted: bool = True,
    ) -> list[MemoryHit]:
        """The ``k`` memories that best answer ``query``, best first (episodic and semantic unless
        ``level`` says otherwise: a level, a list, or "all"). ``since``/``until`` bound the memories'
        times; ``now`` is the moment relative dates ("last week") count from (default: now), and
        its zone, if it has one, the zone of the question's days (else ``timezone``'s).
        ``counted=False``: a look that is not a use (the hits' recall counts stay as they are)."""
        wanted = self.query(query, k, level, since=since, until=until, now=now, counted=counted)
        return await asyncio.to_thread(self.recall_query, wanted)

    def query(
        self,
        query: str,
        k: int = 10,
        level: str | Sequence[str] | None = None,
        *,
        since: datetime | str | float | None = None,
        until: datetime | str | float | None = None,
        now: datetime | str | float | None = None,
        counted: bool = True,
    ) -> Query:
        """The checked ``Query`` that ``recall`` answers (``ValidationError`` naming the fix), for
        ``recall_query`` on a thread of the caller's choosing."""
        moment = check_time(now, "now")
        return Query(
            check_text(query, "query"),
            check_k(k),
            check_levels(level),
            check_time(since, "since"),
            check_time(until, "until"),
            time.time() if moment is None else moment,  # 0 is 1970, not "now"
            self.weights,
            bool(counted),
            _zone_of(now) or self.timezone,
        )

    def recall_query(self, query: Query) -> list[MemoryHit]:
        """``recall`` of a checked ``Query``, on the calling thread (for callers already on a worker
        thread, such as the data registry's search, which reads its rows in the same trip)."""
        stored = tuple(name for name in query.levels if name in STORED_LEVELS)
        hits: list[MemoryHit] = []
        self._scope_embedder()
        if stored:
            vectors = None
            if self.embedder is not None:
                what = what_of(query.text)
                if what == query.text:  # the query is its own "what" (no names, plain words): embedded once
                    vectors = embed_texts(self.embedder, [what]).repeat(2, axis=0)
                else:
                    vectors = embed_texts(self.embedder, [query.text, what])
            dimension = self.embedder.dimension if self.embedder is not None else None
            mine = replace(query, levels=stored)
            found = search(self.database(), self.scope, mine, vectors, self.embedder_name, dimension)
            seq_of = {hit.id: seq for seq, hit in found}
            hits = [hit for _, hit in found]
        if "procedural" in query.levels:
            from jotty.memory.procedural import procedural_hits

            hits = sorted([*hits, *procedural_hits(self._store, query.text, query.k)], key=lambda h: -h.score)
            hits = hits[: query.k]
        if stored and query.counted:
            self._count_uses([(seq_of[hit.id], hit.id) for hit in hits if hit.id in seq_of])
        return hits

    def _count_uses(self, recalled: Sequence[tuple[int, str]]) -> None:
        """Count a recall of the memories ``(seq, id)`` (written with the next flush)."""
        if not recalled:
            return
        with self._uses_lock:
            for key in recalled:
                self._pending[key] = self._pending.get(key, 0) + 1
        self._flush_uses_quietly()

    def _flush_uses(self, force: bool = False, wait: bool = True) -> None:
        """Write the recall counts (when ``USE_FLUSH_SECONDS`` have passed, or ``force``); without
        ``wait``, only if the store can be written at once (else they are kept for later)."""
        with self._uses_lock:
            if not self._pending or (not force and time.monotonic() - self._uses_since < USE_FLUSH_SECONDS):
                return
            pending, self._pending = self._pending, {}
            self._uses_since = time.monotonic()
        database = self.database()
        now = time.time()
        scope = self.scope

        revs: list[int] = []

        def write(cur: Cursor) -> None:
            # A new revision stamps the counts, so every process's cache of the scope reads them again.
            bumped = cur.rows("UPDATE jotty_memory_scopes SET rev = rev + 1 WHERE scope = ? RETURNING rev", (scope,))
            rev = int(bumped[0][0]) if bumped else 0
            counts = sorted(pending.items())
            cur.many(store.COUNT_USES, [(count, now, rev, seq, memory_id, scope) for (seq, memory_id), count in counts])
            revs[:] = [rev]

        written = False
        try:
            if wait:
                database.write(write)
                written = True
            else:
                written = database.try_write(write)
            if written and revs:
                self.counted = (revs[0] - 1, revs[0])
        finally:
            if not written:  # nothing was counted: keep the counts for the next write
                with self._uses_lock:
                    for key, count in pending.items():
                        self._pending[key] = self._pending.get(key, 0) + count

    def _flush_uses_quietly(self) -> None:
        """``_flush_uses`` after another write or a recall, whose result must not hang on it: it
        does not wait for another writer (the counts wait for the next recall instead)."""
        try:
            self._flush_uses(wait=False)
        except Exception as exc:
            log.warning("could not write the recall counts of scope %s (kept for later): %s", self.scope, exc)

    # -- reading and forgetting ----------------------------------------------------------------

    async def get(self, memory_id: str) -> MemoryHit | None:
        """The memory ``memory_id`` of this scope, or None."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"a memory id is a non-empty str such as 'mem-...', got {memory_id!r}")
        rows = await asyncio.to_thread(
            lambda: self.database().read(lambda cur: store.fetch_ids(cur, self.scope, [memory_id]))
        )
        hits = hits_of(rows)
        return hits[0] if hits else None

    async def forget(
        self,
        target: str | Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        level: str | Sequence[str] | None = None,
        before: datetime | str | float | None = None,
        everything: bool = False,
    ) -> int:
        """Delete memories of this scope: by id (or ids), by metadata (``where``: every key equal), by
        ``level`` (a level, a list, or "all"), by time (``before``), or ``everything``; criteria
        combine. Returns how many memories went or (with ``where``) were changed. Provenance entries
        of forgotten items are also removed from the memories that absorbed them, and their words
        from the summaries of those (summarised again from the items left). ``where`` matches items:
        an item that reinforced a memory of other metadata leaves it, and the memory's other items
        stay; only the memories the other criteria select lose items (a summary loses its episodes'
        items with those episodes)."""
        from jotty.memory.forget import Criteria, forget

        ids: list[str] | None = None
        if target is not None:
            ids = [target] if isinstance(target, str) else list(target) if isinstance(target, list | tuple) else None
            if ids is None or not all(isinstance(i, str) and i for i in ids):
                raise ValidationError(f"forget takes a memory id or a list of ids, got {target!r}")
        if where is not None and not where:
            raise ValidationError("forget(where={}) names no metadata: give where={'key': value}, or everything=True")
        criteria = Criteria(
            ids=ids,
            where=check_metadata(where, "where") if where is not None else None,
            levels=_forgettable(level),
            before=check_time(before, "before"),
        )
        if criteria.empty and not everything:
            raise ValidationError(
                "forget needs an id, ids, where=, level= or before= (or everything=True to empty the scope)"
            )

        return await asyncio.to_thread(
            lambda: forget(self.database(), self.scope, criteria, self._embedder_for(self.scope))
        )

    async def stats(self) -> MemoryStats:
        """Counts of this scope's memories per level, and its embedder."""
        return await asyncio.to_thread(self._stats)

    def _stats(self) -> MemoryStats:
        from jotty.memory.forget import scope_stats

        self._flush_uses(force=True)
        return self.database().read(lambda cur: scope_stats(cur, self.scope))

    async def consolidate(self, *, max_episodes: int = 5_000, lease_seconds: float = 60.0) -> ConsolidationReport:
        """The "sleep" pass over this scope (``jotty.memory.consolidate``): at most ``max_episodes``
        replayed; the scope's lease is held for ``lease_seconds`` and renewed with each group written.
        Returns what it did (``lease=False`` when another process is consolidating the scope)."""
        from jotty.memory.consolidate import run_consolidation

        if isinstance(max_episodes, bool) or not isinstance(max_episodes, int) or not 1 <= max_episodes <= MAX_BATCH:
            raise ValidationError(f"max_episodes must be a whole number from 1 to {MAX_BATCH}, got {max_episodes!r}")
        if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float) or not lease_seconds > 0:
            raise ValidationError(f"lease_seconds must be a positive number of seconds, got {lease_seconds!r}")
        await asyncio.to_thread(self._flush_uses, True)
        await asyncio.to_thread(self._scope_embedder)
        return await run_consolidation(self, max_episodes=max_episodes, lease_seconds=float(lease_seconds))


def _zone_of(now: object) -> tzinfo | None:
    """The zone of an aware ``now`` (a datetime, or an ISO time with an offset), else None. Called
    after ``check_time`` has accepted ``now``."""
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    return now.tzinfo if isinstance(now, datetime) else None


def _resolve_embedder(embedder: Embedder | bool | None) -> Embedder | None:
    if embedder is None or embedder is True:
        return default_embedder()
    if embedder is False:
        return None
    name, dimension = getattr(embedder, "name", None), getattr(embedder, "dimension", None)
    if not callable(getattr(embedder, "embed", None)) or not isinstance(name, str) or not name:
        raise ValidationError(
            "embedder must have a name (str), a dimension (int) and embed(texts) -> vectors; or pass False "
            "for lexical-only memory"
        )
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ValidationError(f"the embedder's dimension must be a whole number >= 1, got {dimension!r}")
    return embedder


def _forgettable(level: object) -> tuple[str, ...] | None:
    """The stored levels ``forget(level=...)`` names: a level, a list, or "all"."""
    if level is None:
        return None
    levels = check_levels(level)
    if level != "all" and "procedural" in levels:
        raise ValidationError(
            "forget cannot delete procedural memory: it is the router's learning (reset it there, "
            "or name the stored levels: working, episodic, semantic, archive)"
        )
    return tuple(name for name in levels if name in STORED_LEVELS)
