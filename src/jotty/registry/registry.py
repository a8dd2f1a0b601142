"""``DataRegistry``: data sources registered in the store, found by words and fields, read safely."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from jotty.agents.tools import Tool
from jotty.db.location import redact, resolve_store
from jotty.errors import NotFoundError, StoreError, ValidationError
from jotty.memory import Embedder, Memory, Weights, embedders_onnx
from jotty.memory.database import Cursor, Database, SQLiteDatabase
from jotty.memory.embedders import default_embedder
from jotty.memory.records import MemoryHit
from jotty.memory.text import term_set, terms
from jotty.registry import table as rows
from jotty.registry.describe import describe as describe_file
from jotty.registry.probe import MAX_BYTES, Probe, probe_file
from jotty.registry.reader import check_not_private, inside, read_source, store_files
from jotty.registry.records import Problem, ReadResult, ScanReport, Source, SourceHit
from jotty.registry.rescan import Leftovers, drop, leftovers
from jotty.registry.sweep import GRACE, SweepReport, Swept, entry, held, sweep_index
from jotty.registry.sweep import LIMIT as SWEEP_LIMIT
from jotty.registry.validation import (
    check_filters,
    check_identifier,
    check_k,
    check_kind,
    check_limit,
    check_name,
    check_owner,
    check_tags,
    check_text,
)
from jotty.registry.walk import MAX_FILES, files, folder_name, real_folder, shown, source_name, utf8_path
from jotty.wording import plural

log = logging.getLogger(__name__)

SCOPE = "registry"
"""The memory scope that indexes the registry's sources."""
WEIGHTS = Weights(
    names=0.0,
    vector=1.0,
    coverage=0.0,
    lexical=0.0,
    recency=0.0,
    recency_asked=0.0,
    date=0.0,
    strength=0.0,
    min_cosine=0.1,
    recency_order=0.0,
    answer=0.0,
)
"""How the index ranks sources: by meaning (the cosine with the question), not time or use (a
catalogue entry is not better for being newer or more often read), nor by naming a place ("where
are the invoices?" asks for a source, not a city); ``discover`` then adds the share
of the question's words the source's fields hold (``WORDS``). Full-text rank weighed in and a cosine
floor of 0.3 (memory's defaults) lost paraphrased questions on ``bench.registry`` (precision@5 0.30
against 0.68)."""
WORDS = 0.15
"""The weight of the share of the question's words a source's fields hold as whole words (after the
index's cosine, which weighs 1). It replaces the index's ``coverage``, which counts a word found
anywhere inside the text ("us" in "status", "air" in "repair") and so rewards chance spellings."""
POOL = 10
"""How many more candidates than ``k`` the index is asked for (re-scored, then the best ``k`` kept)."""
TERMS_CACHED = 20_000
"""How many sources' word sets a registry keeps in memory for re-scoring."""
MAX_VALUE = 1_000_000
"""The most characters of JSON a run output keeps."""


def index_embedder(export: bool = True) -> Embedder | None:
    """The index's default embedder: ``MiniLMInt8Embedder`` where ``jotty[memory-minilm]`` is
    installed (it matches paraphrases that static word vectors miss: README, Data registry; its
    model is exported here on a machine's first use, a few seconds: now, or with ``export=False``
    by its first embedding, on a worker thread), else the bundled wordllama model with its own
    "mean" pooling (better than memory's "unit" one on catalogue entries, dense with keywords), else
    None (lexical). An export that cannot write its file (a cache folder that cannot be written) is
    logged and the wordllama model used."""
    return embedders_onnx.usable(export) or default_embedder("mean")


class DataRegistry:
    """Data sources (files, folders, SQLite/PostgreSQL tables, run outputs) in the store.

    ``store`` is a path, a ``postgresql://`` URL or None (``JOTTY_DATABASE_URL``, else
    ``$JOTTY_HOME/jotty.db``). Sources are indexed for ``discover`` in the memory tables (scope
    ``scope``) with ``embedder`` (as ``Memory`` takes it; the default is ``index_embedder()``, and an
    index written by an earlier default keeps its embedder). ``describer`` (an agent such as
    ``LLMAgent``, or a callable from prompt to text) writes the descriptions of scanned files;
    offline heuristics otherwise. Each ``scope`` is a registry of its own: its sources (a name is
    unique within the scope) and their index; every process on the store sees the same registry
    of a scope, and none of another's.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        embedder: Embedder | bool | None = None,
        describer: Any = None,
        scope: str = SCOPE,
        max_bytes: int = MAX_BYTES,
        weights: Weights | None = None,
    ) -> None:
        kind = resolve_store(store).kind
        if kind not in ("sqlite", "postgresql"):  # Memory's own message speaks of memory, not of the registry
            raise ValidationError(
                f"the data registry cannot live in {kind}: give an SQLite path or a postgresql:// URL "
                "(--db, or JOTTY_DATABASE_URL)"
            )
        self.index = Memory(
            store,
            scope=scope,
            embedder=embedder,
            min_salience=0.0,
            dedupe=False,
            weights=weights or WEIGHTS,
            # a machine's first registry exports MiniLM on its first embedding, off the event loop
            default=index_embedder(export=False) if embedder is None or embedder is True else None,
        )
        self.describer = describer
        self.max_bytes = max_bytes
        self._terms: OrderedDict[tuple[str, float], frozenset[str]] = OrderedDict()

    def __repr__(self) -> str:
        return f"DataRegistry(index={self.index!r})"

    def _db(self) -> Database:
        return self.index.database()

    def _private(self) -> frozenset[str]:
        """The files of the store this registry lives in (SQLite), which it never registers or reads.
        Blocking (opens the store)."""
        database = self._db()
        return store_files(database.where) if isinstance(database, SQLiteDatabase) else frozenset()

    def _probe(self, real: str) -> Probe:
        """``probe_file`` of ``real``, unless it is the registry's own store. Blocking."""
        check_not_private(real, self._private())
        return probe_file(real, self.max_bytes)

    async def close(self) -> None:
        """Release the store."""
        await self.index.close()

    async def __aenter__(self) -> DataRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- registering ---------------------------------------------------------------------------

    async def add_file(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        description: str | None = None,
        tags: Sequence[str] | str | None = None,
        owner: str = "",
        run_id: str | None = None,
        step: str | None = None,
    ) -> Source:
        """Register the file at ``path`` (inspected: format, schema, size, statistics). ``name``
        defaults to the file name; a description is written when none is given."""
        where = os.fspath(path)
        name = check_name(name if name is not None else folder_name(where))
        source = await self._file_source(where, name, description, check_tags(tags), owner, run_id, step)
        await self._register([source])
        return source

    async def _file_source(
        self,
        where: str,
        name: str,
        description: str | None,
        tags: list[str],
        owner: str,
        run_id: str | None = None,
        step: str | None = None,
    ) -> Source:
        real = utf8_path(os.path.realpath(where))
        probe = await asyncio.to_thread(self._probe, real)
        text = check_text(description, "description")
        by = "user"
        if not text:
            text, by = await describe_file(self.describer, where, probe)
        return Source(
            name=name,
            kind="file",
            format=probe.format,
            location=real,
            description=text,
            described_by=by,
            schema=probe.schema,
            tags=tags,
            owner=check_owner(owner),
            size=probe.size,
            stats=probe.stats,
            run_id=run_id,
            step=step,
        )

    async def add_folder(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        description: str | None = None,
        tags: Sequence[str] | str | None = None,
        owner: str = "",
    ) -> Source:
        """Register a folder as one source (``read(name, path=...)`` reads files inside it). ``scan``
        registers its files one by one as well."""
        real = real_folder(path)
        count, size = await asyncio.to_thread(_folder_size, real)
        files = plural(count, "file") if isinstance(count, int) else f"{count} files"
        source = Source(
            name=check_name(name if name is not None else folder_name(real)),
            kind="folder",
            format="folder",
            location=real,
            description=check_text(description, "description") or f"Folder {os.path.basename(real)} of {files}.",
            described_by="user" if description else "heuristic",
            tags=check_tags(tags),
            owner=check_owner(owner),
            size=size,
            stats={"files": count},
        )
        await self._register([source])
        return source

    async def add_table(
        self,
        table: str,
        database: str | os.PathLike[str],
        name: str | None = None,
        *,
        description: str | None = None,
        tags: Sequence[str] | str | None = None,
        owner: str = "",
    ) -> Source:
        """Register one table of an SQLite file or (``database`` a ``postgresql://`` URL) of PostgreSQL
        (``table`` may be ``schema.table`` there). Only this table, by this name, is ever read."""
        where = os.fspath(database)
        if where.startswith(("postgresql://", "postgres://")):
            from jotty.registry.postgres import table_columns

            for part in table.split("."):
                check_identifier(part)
            columns, count = await asyncio.to_thread(table_columns, where, table)
            kind, location, place = "postgres_table", where, redact(where)
        else:
            check_identifier(table)
            real = utf8_path(os.path.realpath(where))
            probe = await asyncio.to_thread(self._probe, real)
            found = [t for t in probe.schema if t.get("table") == table] if probe.format == "sqlite" else []
            skipped = probe.stats.get("skipped_tables", {}).get(table)
            if skipped:
                raise ValidationError(f"table {table!r} of {where} cannot be read: {skipped}")
            if not found:
                raise NotFoundError(f"no table {table!r} in the SQLite file {where}: check the name")
            columns, count, kind, location, place = found[0]["columns"], found[0]["rows"], "sqlite_table", real, real
        text = check_text(description, "description")
        source = Source(
            name=check_name(name if name is not None else table),
            kind=kind,
            format="postgres" if kind == "postgres_table" else "sqlite",
            location=location,
            table=table,
            description=text or f"Table {table} in {place}: {plural(count, 'row')}, columns {_names(columns)}.",
            described_by="user" if text else "heuristic",
            schema=columns,
            tags=check_tags(tags),
            owner=check_owner(owner),
            stats={"rows": count},
        )
        await self._register([source])
        return source

    async def add_artifact(
        self,
        name: str,
        value: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        step: str | None = None,
        ctx: Any = None,
        description: str | None = None,
        tags: Sequence[str] | str | None = None,
        owner: str = "",
    ) -> Source:
        """Register what a run made: a JSON ``value`` (a ``run_output``) or a file at ``path``, with
        the run and step that made it (from ``ctx``, a ``RunContext``, unless given)."""
        if ctx is not None:
            run_id = run_id or getattr(ctx, "run_id", None)
            step = step or getattr(ctx, "step_path", None) or None
        if path is not None:
            return await self.add_file(
                path, name, description=description, tags=tags, owner=owner, run_id=run_id, step=step
            )
        import json

        try:
            encoded = json.dumps(value, default=_plain_json, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValidationError(f"artifact {name!r}: the value cannot be stored as JSON ({exc})") from exc
        if len(encoded) > MAX_VALUE:
            raise ValidationError(
                f"artifact {name!r} is {len(encoded):,} characters of JSON, over {MAX_VALUE:,}: write it to a file "
                "and register it with path="
            )
        stored = json.loads(encoded)
        text = check_text(description, "description")
        shape = f"{len(stored)} items" if isinstance(stored, list | dict) else type(stored).__name__
        made = f" by step {step} of run {run_id}" if step or run_id else ""
        source = Source(
            name=check_name(name),
            kind="run_output",
            format="json",
            description=text or f"Output{made}: {shape}. {encoded[:300]}",
            described_by="user" if text else "heuristic",
            tags=check_tags(tags),
            owner=check_owner(owner),
            size=len(encoded),
            run_id=run_id,
            step=step,
            value=stored,
        )
        await self._register([source])
        return source

    async def add(self, target: str | os.PathLike[str], name: str | None = None, **options: Any) -> Source:
        """Register ``target``: a folder, a file, or (with ``table=``) a table of an SQLite file or a
        ``postgresql://`` URL. ``options`` as the specific ``add_*`` takes them."""
        table = options.pop("table", None)
        if table is not None:
            return await self.add_table(table, target, name, **options)
        if str(target).startswith(("postgresql://", "postgres://")):
            raise ValidationError(f"{redact(str(target))} is a database: say which table to register (table=, --table)")
        if os.path.isdir(os.fspath(target)):
            return await self.add_folder(target, name, **options)
        return await self.add_file(target, name, **options)

    async def scan(
        self,
        folder: str | os.PathLike[str],
        *,
        name: str | None = None,
        register: bool = True,
        tags: Sequence[str] | str | None = None,
        owner: str = "",
        strict: bool = False,
        max_files: int = MAX_FILES,
    ) -> ScanReport:
        """Inspect every file in ``folder`` (recursively; hidden files and links leading out are
        skipped) and register the folder and each file as ``NAME/relative/path``, in one step.

        A file that cannot be inspected (unreadable, too large, not UTF-8, malformed) is listed in
        ``problems`` and left out; with ``strict=True`` any problem raises and nothing is registered.
        A rescan makes the registry match the folder: the files an earlier scan of this folder
        registered under ``NAME/`` that are gone (or whose link inside the folder is gone or leads
        elsewhere) are unregistered in the same step (``removed``);
        one that is still there but could not be inspected this time keeps its earlier
        registration (``kept``; see ``jotty.registry.rescan``). ``register=False`` only reports what
        would be registered and removed."""
        real = real_folder(folder)
        prefix = check_name(name if name is not None else folder_name(real))
        checked_tags, checked_owner = check_tags(tags), check_owner(owner)
        problems: list[Problem] = []
        found = await asyncio.to_thread(lambda: list(files(real, problems, max_files)))
        sources: list[Source] = []
        taken: dict[str, str] = {}
        for path, relative in found:
            named = source_name(prefix, relative)
            try:
                check_name(named, "its source name (made from its path; register it with add_file and a name)")
                if named in taken:
                    raise ValidationError(
                        f"its source name {named} is taken by {shown(taken[named])} (names keep letters, digits and "
                        "_ . : @ - only): register it with add_file and a name of its own"
                    )
                source = await self._file_source(path, named, None, checked_tags, checked_owner)
            except ValidationError as exc:
                problems.append(Problem(shown(relative), str(exc)))
                continue
            taken[named] = relative
            found_at = os.path.join(real, relative)
            sources.append(source if found_at == path else replace(source, link=found_at))  # through a link
        if strict and problems:
            listed = "; ".join(f"{p.path}: {p.error}" for p in problems[:5])
            raise ValidationError(f"scan of {real} found {len(problems)} problem(s), nothing registered: {listed}")
        total = sum(s.size or 0 for s in sources)
        folder_source = Source(
            name=prefix,
            kind="folder",
            format="folder",
            location=real,
            description=f"Folder {os.path.basename(real)} of {plural(len(sources), 'data file')}: "
            + ", ".join(os.path.basename(s.location) for s in sources[:20]),
            described_by="heuristic",
            tags=checked_tags,
            owner=checked_owner,
            size=total,
            stats={"files": len(sources), "formats": _formats(sources)},
        )
        everything = [folder_source, *sources]
        found_names = {s.name for s in everything}
        left = functools.partial(
            leftovers, scope=self.index.scope, real=real, prefix=prefix, found=found_names, problems=problems
        )
        if register:
            gone = await self._register(everything, left)
            try:
                await self.sweep()
            except Exception:  # the scan is registered; the next one sweeps again
                log.warning("the registry sweep after a scan failed", exc_info=True)
        else:
            gone = await asyncio.to_thread(self._db().read, left)
        return ScanReport(real, everything, problems, register, removed=gone.removed, kept=gone.kept)

    async def _register(self, sources: list[Source], rescan: Callable[[Cursor], Leftovers] | None = None) -> Leftovers:
        """Index and store ``sources``: the new index entries first, then the rows (one transaction,
        each pointing at its entry), then the old entries go. A crash in between leaves entries no
        row points at, which ``discover`` ignores and ``sweep`` forgets. ``rescan`` (a scan's) finds,
        inside the same transaction, the rows of the folder's files that are gone, which are deleted
        with it. Entries a sweep took before the rows committed are written again (``jotty.registry.sweep``)."""
        texts = [{"text": s.document(), "metadata": entry(s.name)} for s in sources]
        postgres = self._db().dialect == "postgres"
        for _attempt in range(3):
            now = time.time()
            ids = await self.index.remember_many(texts)
            write = functools.partial(
                _write, scope=self.index.scope, sources=sources, ids=ids, now=now, postgres=postgres, rescan=rescan
            )
            try:
                old, gone = await asyncio.to_thread(self._db().write, write)
            except Swept:
                log.warning("a registry sweep took the index entries of %d source(s) being registered: again", len(ids))
                await self.index.forget([i for i in ids if i])
                continue
            if old:
                await self.index.forget(old)
            return gone
        raise StoreError(
            "a registry sweep took this registration's index entries three times before its rows were written: "
            "is another process sweeping with grace=0?"
        )

    async def sweep(self, grace: float = GRACE, limit: int = SWEEP_LIMIT) -> SweepReport:
        """Forget up to ``limit`` index entries no source points at that were stored over ``grace``
        seconds ago (left by a registration that crashed), then index again up to ``limit`` sources
        whose entry is gone. ``scan`` sweeps after registering; safe while other processes register
        (``jotty.registry.sweep``)."""
        return await sweep_index(self, grace, limit)

    async def remove(self, name: str) -> bool:
        """Unregister ``name`` (its data is not touched); False if it was not registered."""
        check_name(name)
        found, memory_id = await asyncio.to_thread(
            self._db().write, lambda cur: rows.delete(cur, self.index.scope, name)
        )
        if memory_id:
            await self.index.forget(memory_id)
        return found

    # -- finding and reading -------------------------------------------------------------------

    async def get(self, name: str) -> Source:
        """The source registered as ``name`` (``NotFoundError`` if none)."""
        check_name(name)
        found = await asyncio.to_thread(self._db().read, lambda cur: rows.get(cur, self.index.scope, [name]))
        if name not in found:
            raise NotFoundError(
                f"no data source is registered as {name!r}: find one with discover() or `jotty data search`"
            )
        return found[name][0]

    async def sources(self, kind: str | None = None, limit: int = 10_000) -> list[Source]:
        """Registered sources in name order (of one ``kind`` if given)."""
        wanted = None if kind is None else check_kind(kind)
        return await asyncio.to_thread(self._db().read, lambda cur: rows.listing(cur, self.index.scope, wanted, limit))

    async def discover(self, query: str = "", k: int = 5, **filters: Any) -> list[SourceHit]:
        """The ``k`` sources that best answer ``query`` (words), best first, among those matching
        ``filters``: ``kind``, ``format``, ``tags`` (all of them), ``owner``, ``run_id``, ``step``,
        ``column`` (a column name). An empty query lists the matching sources by name."""
        k = check_k(k)
        wanted = check_filters(filters)
        text = check_text(query, "query", 2_000)
        if not text.strip():
            listed = await self.sources(wanted.get("kind"))
            return [SourceHit(s, 0.0, {"filters": sorted(wanted)}) for s in listed if _matches(s, wanted)][:k]
        pool = max(4 * k, 40) if wanted else k + POOL
        asked = _content_words(text)
        asked_terms = term_set(asked)
        while True:
            memories, known = await asyncio.to_thread(self._find, asked, min(pool, 1_000))
            hits: list[SourceHit] = []
            seen: set[str] = set()
            for memory in memories:
                entry = known.get(str(memory.metadata.get("source")))
                if entry is None or entry[1] != memory.id or entry[0].name in seen or not _matches(entry[0], wanted):
                    continue  # a stale index entry, or filtered out
                seen.add(entry[0].name)
                held = self._terms_of(entry[0]) if asked_terms else None
                hits.append(_scored(entry[0], memory.score, memory.why, asked_terms, held))
            if len(hits) >= k or len(memories) < pool or pool >= 1_000:
                hits.sort(key=lambda hit: -hit.score)
                return hits[:k]
            pool *= 4

    def _terms_of(self, source: Source) -> frozenset[str]:
        """The stemmed words of ``source``'s fields, cached by name and update time (every update
        of a source gives it a new time, so a stale set is never used)."""
        key = (source.name, source.updated_at)
        found = self._terms.get(key)
        if found is None:
            found = self._terms[key] = term_set(source.words())
            if len(self._terms) > TERMS_CACHED:
                self._terms.popitem(last=False)
        return found

    def _find(self, asked: str, pool: int) -> tuple[list[MemoryHit], dict[str, tuple[Source, str | None]]]:
        """The index's ``pool`` best entries for ``asked`` and the rows they name, in one trip to a
        worker thread (a second trip cost as much as the rows' read on a busy machine)."""
        memories = self.index.recall_query(self.index.query(asked, pool))
        names = [str(h.metadata.get("source")) for h in memories]
        return memories, self._db().read(lambda cur: rows.get(cur, self.index.scope, names))

    async def read(
        self, name: str, limit: int = 20, *, path: str | None = None, table: str | None = None
    ) -> ReadResult:
        """Up to ``limit`` rows (or capped text) of the registered source ``name``: only registered
        locations are read (``path``: a file inside a registered folder; ``table``: a registered
        table of an SQLite file)."""
        limit = check_limit(limit)
        if table is not None:
            check_identifier(table)
        source = await self.get(name)
        if source.kind == "folder" and path is not None and table is not None:
            source, path = await self._file_in(source, path), None
        return await asyncio.to_thread(lambda: read_source(source, limit, path, table, self._private()))

    async def _file_in(self, folder: Source, path: str) -> Source:
        """The file ``path`` of ``folder`` as registered on its own (as a scan registers it): an
        SQLite file's tables are read through that registration, whose tables are the ones it had
        when registered."""
        real_folder = os.path.realpath(folder.location)
        real, private = await asyncio.to_thread(lambda: (inside(real_folder, path, folder.name), self._private()))
        check_not_private(real, private)
        try:
            found: Source | None = await self.get(source_name(folder.name, os.path.relpath(real, real_folder)))
        except NotFoundError:
            found = None
        if found is None or found.location != real:
            raise ValidationError(
                f"{path!r} in {folder.name} is not registered on its own, so none of its tables is: scan the folder "
                f"again or add_file it, then read its tables by that name"
            )
        return found

    def tools(self) -> list[Tool]:
        """Agent tools over this registry (``search_data``, ``describe_data``, ``read_data``) for
        ``LLMAgent(tools=...)``."""
        from jotty.registry.tools import registry_tools

        return registry_tools(self)


def _write(
    cur: Cursor,
    scope: str,
    sources: list[Source],
    ids: list[str | None],
    now: float,
    postgres: bool,
    rescan: Callable[[Cursor], Leftovers] | None,
) -> tuple[list[str], Leftovers]:
    """``_register``'s rows transaction: the rows of ``sources`` pointing at their entries ``ids``
    (``Swept`` if a sweep took any), the rescan's leftovers dropped; the ids of the entries replaced."""
    if postgres:
        rows.lock(cur)
    held(cur, ids, postgres)
    old = []
    known = rows.get(cur, scope, [s.name for s in sources])
    for source, memory_id in zip(sources, ids, strict=True):
        first = known.get(source.name)
        created = first[0].created_at if first else now
        previous = rows.upsert(cur, scope, replace(source, created_at=created, updated_at=now), memory_id)
        if previous and previous != memory_id:
            old.append(previous)
    gone = rescan(cur) if rescan is not None else Leftovers()
    old.extend(drop(cur, scope, gone.gone))
    return old, gone


def _scored(
    source: Source, score: float, why: dict[str, Any], asked: frozenset[str], held: frozenset[str] | None = None
) -> SourceHit:
    """The index's hit re-scored with the share of the question's content words (stemmed) that the
    source's fields (name, description, columns, tags) hold as whole words (``held``, computed if
    not given): ``why["words"]``."""
    if not asked:
        return SourceHit(source, score, why)
    if held is None:
        held = term_set(source.words())
    share = len(asked & held) / len(asked)
    return SourceHit(source, round(score + WORDS * share, 6), {**why, "words": round(share, 4)})


def _content_words(query: str) -> str:
    """The query as the index is asked it: its content words, lower-cased ("which subscribers left
    us and why" -> "subscribers left us"). The full-text search and the word coverage drop the
    stopwords anyway; the vector is an average of word vectors, so words that every question has
    ("what", "how", "and") only pull it toward every other question. A query of stopwords alone is
    asked as it is."""
    words = terms(query)
    return " ".join(words) if words else query.lower()


def _plain_json(value: Any) -> Any:
    """Dates, paths, decimals, UUIDs and enums as text; anything else is not JSON."""
    import datetime
    import decimal
    import enum
    import pathlib
    import uuid

    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.date | datetime.time | pathlib.PurePath | decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON: return dicts, lists, text, numbers or dates")


def _matches(source: Source, wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "tags":
            if not set(value) <= set(source.tags):
                return False
        elif key == "column":
            if value.lower() not in {c.lower() for c in source.columns}:
                return False
        elif getattr(source, key) != value:
            return False
    return True


def _names(columns: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['name']} ({c['type']})" for c in columns[:30])


def _formats(sources: list[Source]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for source in sources:
        counts[source.format] = counts.get(source.format, 0) + 1
    return counts


def _folder_size(real: str) -> tuple[int | str, int]:
    """How many files ``real`` holds (counted up to ``MAX_FILES``: past it, ``"N+"``) and their bytes."""
    count = size = 0
    for root, _dirs, names in os.walk(real):
        for name in names:
            if count >= MAX_FILES:
                return f"{MAX_FILES}+", size
            count += 1
            try:
                size += os.path.getsize(os.path.join(root, name))
            except OSError:
                continue
    return count, size
