"""``ContextPolicy``: how a run builds each step's window at its level, through the guard.

A run's *pool* holds everything a window could get: the policy's ``parts`` (memory, facts,
documents, each with a category), its ``sources`` (loaded per step, by a query), the ``skills``,
and, as the run goes, each finished step's output (history) and tool results. A level picks from
the pool (see ``jotty.context.levels``); the pattern's own context data (the goal, a phase summary,
a member's inbox) always stays. The guard then fits the window to its budget. An agent finds the
picked parts in ``ctx.data["parts"]`` (name -> content) and, as text, in ``ctx.data["context"]``
(what an ``LLMAgent`` adds to its prompt); the tools of the chosen skills are in
``ctx.data["skill_tools"]`` (what an ``LLMAgent`` offers beside its own).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from jotty.agents.llm import answer_tokens
from jotty.agents.tools import as_tools
from jotty.context.classify import RouteClassifier, same_case
from jotty.context.guard import SmartContextGuard
from jotty.context.levels import Level
from jotty.context.parts import Part, PartKind, kind_of_key
from jotty.context.prefetch import PREFETCH, PrefetchModel, attempt_of
from jotty.context.skills import Skill, SkillRegistry
from jotty.context.text import as_text
from jotty.errors import JottyError, ValidationError
from jotty.events import EventType

log = logging.getLogger(__name__)

PARTS_KEY = "parts"
CONTEXT_KEY = "context"
TOOLS_KEY = "skill_tools"
"""Where a window holds the tools of its chosen skills (an ``LLMAgent`` offers them)."""
POOLED = "jotty.pooled"
"""The mark (in ``Part.meta``) of a part the level added from the policy's pool."""

Loader = Callable[[str], Any]
"""A source's loader: ``load(query)`` returns (or awaits to) the content for a step."""


class ContextSourceError(JottyError):
    """A source's loader failed while a window was built: the step fails (its strategy decides)."""


@dataclass(frozen=True)
class Source:
    """Content loaded per step (a memory recall, a file, a query): ``load(query)`` where the query
    is the step's category and name. ``category`` scopes it at L3/L4; ``kind`` ranks it."""

    name: str
    load: Loader
    kind: PartKind = PartKind.DATA
    category: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError(f"a Source needs a non-empty name, got {self.name!r}")
        if not callable(self.load):
            raise ValidationError(f"Source {self.name!r}: load must be a function query -> content")


def registry_source(
    registry: Any, name: str, *, category: str | None = None, limit: int = 20, kind: PartKind = PartKind.DATA
) -> Source:
    """A ``Source`` that reads the data registry's source ``name`` (``await registry.read(name,
    limit)``; only registered locations, capped as the registry caps them)."""

    async def load(query: str) -> Any:
        result = await registry.read(name, limit)
        return result.text if result.text is not None else {"columns": result.columns, "rows": result.rows}

    return Source(name, load, kind, category)


@dataclass(frozen=True)
class StepCall:
    """What the policy knows of the call whose window it builds."""

    path: str
    name: str
    role: str
    agent: Any
    category: str | None = None
    skills: tuple[str, ...] = ()
    level: Level | None = None


def _held(data: dict[str, Any]) -> _Held:
    """The finished steps' outputs the pattern's own data already gives the window: the ``output``
    of each item of its lists (a Sequential's ``history``)."""
    held = [
        e["output"] for v in data.values() if isinstance(v, list) for e in v if isinstance(e, dict) and "output" in e
    ]
    return _Held(frozenset(map(id, held)), frozenset(h for h in held if isinstance(h, str) and h))


@dataclass(frozen=True)
class _Held:
    """Outputs a window holds already, by identity or, for text, by value."""

    objects: frozenset[int]
    texts: frozenset[str]

    def holds(self, output: Any) -> bool:
        return id(output) in self.objects or (isinstance(output, str) and output in self.texts)


class ContextPolicy:
    """The pool and tools of a run's windows: ``parts`` (``Part``s with categories), ``sources``,
    ``skills`` (a ``SkillRegistry``), the ``guard`` (default: a ``SmartContextGuard`` whose
    budget is the step's ``TokenBudget.per_window``, else its model's context limit), the route
    ``classifier`` and the ``prefetch`` model L4 learns in (default: one per process)."""

    def __init__(
        self,
        *,
        parts: Iterable[Part] = (),
        sources: Iterable[Source] = (),
        skills: SkillRegistry | None = None,
        guard: SmartContextGuard | None = None,
        classifier: RouteClassifier | None = None,
        prefetch: PrefetchModel | None = None,
    ) -> None:
        self.parts = list(parts)
        for part in self.parts:
            if not isinstance(part, Part):
                raise ValidationError(f"ContextPolicy parts must be Part objects, got {type(part).__name__}")
        self.sources = {s.name: s for s in sources}
        self.skills = skills if skills is not None else SkillRegistry()
        self.guard = guard if guard is not None else SmartContextGuard()
        self.classifier = classifier if classifier is not None else RouteClassifier()
        self.prefetch = prefetch if prefetch is not None else PREFETCH
        classify = self.classifier.classify
        self._categories = {
            id(p): same_case(p.category) or classify(p.name, as_text(p.content)[:400]) for p in self.parts
        }

    def session(self, flow: str, level: Level | None, per_window: int | None) -> ContextSession:
        """The state of one run under this policy."""
        return ContextSession(self, flow, level, per_window)

    def category_of(self, part: Part) -> str | None:
        known = self._categories.get(id(part))
        return known if known is not None else same_case(part.category)


@dataclass
class _Sources:
    parts: list[Part]
    report: dict[str, Any] | None
    names: list[str]
    query: str
    order: int | None
    """Which step's first window this was in the run (0, 1, ...); ``None``: another attempt."""


@dataclass
class _Loaded:
    content: Any
    prefetched: bool


class ContextSession:
    """One run's pool, windows and prefetches."""

    def __init__(self, policy: ContextPolicy, flow: str, level: Level | None, per_window: int | None) -> None:
        self.policy = policy
        self.flow = flow
        self.level = level
        self.per_window = per_window
        self.history: list[tuple[str, str | None, Any]] = []
        """(step path, category, output) of each finished step, in order."""
        self.tools: list[tuple[str, str | None, str]] = []
        self._previous = ""
        self._ahead: dict[str, asyncio.Task[Any]] = {}
        self._started: set[str] = set()
        """The step paths whose first window was built (a path again is another attempt)."""
        self._loaded: dict[str, dict[str, Any]] = {}
        """What each unfinished step loaded, by source: its retries and fallbacks get the same."""
        self.hits = 0
        self.misses = 0
        self.prefetched = 0
        self.wasted = 0
        self.prefetching = level is Level.L4
        """Whether the run prefetches (it is at L4, or a step of it is): its stats are recorded."""
        self.run_id: str | None = None
        """Set by the runner; a run learned live is not learned again from the store."""
        self.learn: Callable[[], Awaitable[Any]] | None = None
        """Set by a durable run: teaches the prefetch model from the flow's earlier runs in the store
        (``learn_from_store``), awaited before the run's first L4 window, whether the run or a step
        is at L4."""
        self._learning: asyncio.Future[Any] | None = None

    # ---------------------------------------------------------------- the window

    def category(self, call: StepCall, value: Any) -> str | None:
        classify = self.policy.classifier.classify
        agent = call.agent
        return (
            same_case(call.category)
            or classify(call.name)
            or classify(f"{getattr(agent, 'name', '')} {getattr(agent, 'description', '')}", as_text(value)[:400])
        )

    async def window(self, call: StepCall, value: Any, data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """The call's ``ctx.data`` and the events to emit (``(type, payload)``)."""
        level = call.level or self.level
        budget = self._budget(call)
        if level is None and budget is None:
            return data, []  # no level and no budget known: the pattern's window as it is
        if level is Level.L4 and self.learn is not None:
            await self._learned(self.learn)
        category = self.category(call, value) if level is not None else None
        tools = self._tools(level, category, call) if level is not None else []
        budget = self._less_tools(call, tools, budget)
        parts = [Part(str(k), v, kind_of_key(str(k))) for k, v in data.items()]
        if level is not None and level.scoped:
            parts = [self._scoped(p, category) for p in parts]
        pooled: list[Part] = []
        events: list[Any] = []
        loaded: _Sources | None = None
        if level is not None:
            pooled = self._pick(level, category, call, _held(data))
            loaded = await self._sources(level, category, call)
            pooled += loaded.parts
            if loaded.report is not None:
                events.append((EventType.CONTEXT_PREFETCH, loaded.report))
        # the pool's parts are told from the pattern's own by a mark, not by name: a fact named
        # "history" must not take the place of the pattern's history
        pooled = [replace(p, meta={**p.meta, POOLED: True}) for p in pooled]
        window = await self.policy.guard.assemble_async(parts + pooled, budget)
        out = {p.name: p.content for p in window.parts if not p.meta.get(POOLED)}
        picked = [p for p in window.parts if p.meta.get(POOLED)]
        if level is not None and loaded is not None:
            out[PARTS_KEY] = {p.name: p.content for p in picked}
            out[CONTEXT_KEY] = "\n\n".join(p.text() for p in picked)
            if tools:
                out[TOOLS_KEY] = tools
            shown = {
                "level": str(level),
                "category": category,
                "tokens": window.tokens,
                "parts": len(window.parts),
                "sources": loaded.names,
                "query": loaded.query,
            }
            if loaded.order is None:
                shown["repeat"] = True  # a retry's or fallback's window: not learned again
            else:
                shown["order"] = loaded.order  # concurrent windows are stored as they finish
            events.append((EventType.CONTEXT_WINDOW, shown))
        if window.compressed:
            events.append((EventType.CONTEXT_COMPRESSED, window.event()))
        return out, events

    async def _learned(self, learn: Callable[[], Awaitable[Any]]) -> None:
        """Learn from the store once, however many windows start at once; a store that cannot be
        read leaves the model as it is (prefetch is help, not a precondition), logged once. A window
        cancelled while it waits does not cancel the learning the others wait for."""
        if self._learning is None:
            self._learning = asyncio.ensure_future(self._learn(learn))
        await asyncio.shield(self._learning)

    async def _learn(self, learn: Callable[[], Awaitable[Any]]) -> None:
        try:
            await learn()
        except Exception as exc:
            log.warning("L4 could not learn from the earlier runs of %s: %s", self.flow, exc)

    def _scoped(self, part: Part, category: str | None) -> Part:
        """A pattern's own memory or tool results (a list, or the Conductor's recalled
        ``{"items", "text", ...}``) without the items that belong to another category than the
        step's; items of no category stay."""
        content = part.content
        if part.kind not in (PartKind.MEMORY, PartKind.TOOL):
            return part
        recalled = isinstance(content, dict) and isinstance(content.get("items"), list)
        items = content["items"] if recalled else content
        if not isinstance(items, list):
            return part
        classify = self.policy.classifier.classify
        texts = [as_text(i.get("text", i) if isinstance(i, dict) else i) for i in items]
        keep = [classify(t[:400]) in (None, category) for t in texts]
        if all(keep):
            return part
        kept = [item for item, k in zip(items, keep, strict=True) if k]
        if not recalled:
            return Part(part.name, kept, part.kind)
        gone = [t for t, k in zip(texts, keep, strict=True) if not k and t]
        text = content.get("text")
        if isinstance(text, str):
            text = "\n".join(line for line in text.splitlines() if not any(g in line for g in gone)) if kept else ""
        return Part(part.name, {**content, "items": kept, "text": text}, part.kind)

    def _pick(self, level: Level, category: str | None, call: StepCall, held: _Held) -> list[Part]:
        """The pool's parts for the window; a finished step's output that the pattern's own data
        already holds (a Sequential's history) is not added again."""
        policy = self.policy
        picked: list[Part] = []
        for part in policy.parts:
            if not level.scoped or part.pinned or policy.category_of(part) == category:  # pinned: every window
                picked.append(part)
        for path, cat, output in self.history:
            if (not level.scoped or cat == category) and not held.holds(output):
                picked.append(Part(f"step:{path}", output, PartKind.HISTORY, category=cat))
        for index, (path, cat, result) in enumerate(self.tools):
            if not level.scoped or cat == category:
                picked.append(Part(f"tool:{path}#{index}", result, PartKind.TOOL, category=cat))
        picked += self._skills(level, category, call)
        return picked

    def _skills(self, level: Level, category: str | None, call: StepCall) -> list[Part]:
        chosen, others = self._chosen(level, category, call)
        parts = [Part(f"skill:{s.name}", s.instructions, PartKind.SKILL) for s in chosen]
        if others:  # L2: the others as descriptions, until one is chosen
            described = [{"name": s.name, "description": s.description} for s in others]
            parts.append(Part("skills", described, PartKind.SKILL))
        return parts

    def _chosen(self, level: Level, category: str | None, call: StepCall) -> tuple[list[Skill], list[Skill]]:
        """The skills a window holds (L1: every one; else the step's and its category's) and, at
        L2, the others (held as descriptions)."""
        registry = self.policy.skills
        if not len(registry):
            return [], []
        if level is Level.L1:
            return list(registry), []
        chosen = [registry.get(n) for n in call.skills]
        chosen += [
            s for s in registry if s.name not in call.skills and category and self._skill_category(s) == category
        ]
        if level is not Level.L2:
            return chosen, []
        return chosen, [s for s in registry if s not in chosen]

    def _tools(self, level: Level, category: str | None, call: StepCall) -> list[Callable[..., Any]]:
        """The tools of the window's skills; at L2 with skills unchosen, ``load_skill(name)`` too,
        which adds a skill's tools to the window's (an ``LLMAgent`` offers them from its next round)."""
        chosen, others = self._chosen(level, category, call)
        tools: list[Callable[..., Any]] = []
        for skill in chosen:
            tools += [t for t in skill.tools if t not in tools]
        if not others:
            return tools
        registry = self.policy.skills

        def load_skill(name: str) -> str:
            """Load a skill by its name (one of the skills described in the context): its
            instructions now, and its tools from the next request on."""
            skill = registry.get(name)
            tools.extend(t for t in skill.tools if t not in tools)
            return skill.instructions

        tools.append(load_skill)
        return tools

    def _skill_category(self, skill: Any) -> str | None:
        return same_case(skill.category) or self.policy.classifier.classify(skill.name, skill.description)

    def _less_tools(self, call: StepCall, tools: list[Callable[..., Any]], budget: int | None) -> int | None:
        """``budget`` less what the tools' schemas cost (the agent's own and the window's skills'),
        when it is the model's context limit: a request sends them beside the window. A budget the
        user gave (``per_window``, the guard's own) is the window's alone."""
        own = getattr(call.agent, "tools", None)
        model = getattr(getattr(call.agent, "config", None), "model", None)
        given = self.per_window is not None or self.policy.guard.budget is not None
        if budget is None or given or model is None or not (tools or own):
            return budget
        schemas = [t.schema() for t in {**as_tools(tools), **(own if isinstance(own, dict) else {})}.values()]
        return max(budget - self.policy.guard.counter.count(json.dumps(schemas)), 1)

    def _budget(self, call: StepCall) -> int | None:
        """The window's budget: ``TokenBudget.per_window``, else the guard's own or the context
        limit of the agent's model (an ``LLMAgent``'s ``config.model``) less what the agent keeps
        for its answer (its ``max_tokens``)."""
        if self.per_window is not None:
            return self.per_window
        config = getattr(call.agent, "config", None)
        answer = answer_tokens(getattr(call.agent, "params", None))
        return self.policy.guard.budget_for(getattr(config, "model", None), answer)

    # ---------------------------------------------------------------- sources and L4

    def _needed(self, level: Level, category: str | None) -> list[str]:
        sources = self.policy.sources.values()
        return [s.name for s in sources if not level.scoped or same_case(s.category) == category]

    async def _sources(self, level: Level, category: str | None, call: StepCall) -> _Sources:
        names = self._needed(level, category)
        query = f"{category or ''} {call.name}".strip()
        step = attempt_of(call.path, self._started)
        first, order = step is None, None
        if step is None:  # a step's first window: learned, and (L4) the next step's data loaded ahead
            # before any await: windows that start at once (Parallel branches, Team members) are
            # learned in the order they started, not in the order their loads happened to finish
            step, order = call.path, len(self._started)
            self._started.add(step)
            model = self.policy.prefetch
            model.record(self.flow, self._previous, step, names, query)
            if self.run_id is not None:
                model.learned(self.run_id)
            self._previous = step
            if level is Level.L4 or self.level is Level.L4:
                self._prefetch_after(step)
        kept = self._loaded.setdefault(step, {})
        parts = []
        hits = misses = reused = 0  # a step's first window counts; its other attempts reuse
        for name in names:
            if name in kept:  # a retry or fallback of the step: what the step loaded (ahead or not)
                content, reused = kept[name], reused + 1
            else:
                try:
                    loaded = await self._load(step, call.path, name, query)
                except (ContextSourceError, asyncio.CancelledError):  # failed, or the step timed out
                    self._count(level, hits, misses + first)
                    raise
                content = kept[name] = loaded.content
                if first and loaded.prefetched:
                    hits += 1
                elif first:
                    misses += 1
            source = self.policy.sources[name]
            parts.append(Part(f"source:{name}", content, source.kind, category=source.category))
        report = None
        if level is Level.L4:
            self._count(level, hits, misses)
            report = {"step": call.path, "needed": names, "hits": hits, "misses": misses}
            if reused:
                report["reused"] = reused
        return _Sources(parts, report, names, query, order)

    def _count(self, level: Level, hits: int, misses: int) -> None:
        """Add a window's hits and misses to the run's (L4 windows only)."""
        if level is Level.L4:
            self.prefetching = True
            self.hits += hits
            self.misses += misses

    async def _load(self, step: str, path: str, name: str, query: str) -> _Loaded:
        task = self._ahead.pop(f"{step}\0{name}", None)
        if task is not None:
            try:
                return _Loaded(await task, True)
            except Exception:  # a failed prefetch is a miss: load again below
                pass
        try:
            return _Loaded(await _call(self.policy.sources[name].load, query), False)
        except Exception as exc:
            raise ContextSourceError(
                f"context source {name!r} could not be loaded for step {path!r}: {type(exc).__name__}: {exc}"
            ) from exc

    def _prefetch_after(self, path: str) -> None:
        model = self.policy.prefetch
        successor, needs = model.predict(self.flow, path)
        if successor is None or successor in self._started:  # its window is built already
            return
        query = model.query(self.flow, successor)
        for name in needs:
            source = self.policy.sources.get(name)
            key = f"{successor}\0{name}"
            if source is None or key in self._ahead:
                continue
            self._ahead[key] = asyncio.ensure_future(_call(source.load, query, ahead=True))
            self.prefetched += 1

    # ---------------------------------------------------------------- after a call

    def finished(self, call: StepCall, value: Any, output: Any, tool_results: list[str]) -> None:
        """Add a finished call's output and tool results to the pool."""
        if self.level is None and call.level is None:
            return
        category = self.category(call, value)
        self.history.append((call.path, category, output))
        self.tools.extend((call.path, category, r) for r in tool_results)
        self._loaded.pop(attempt_of(call.path, self._started) or call.path, None)

    def restored(self, path: str) -> None:
        """A step restored from an earlier session of the run: the steps after it follow it (a
        resumed session learned that the flow begins where it resumed)."""
        if path not in self._started:
            self._started.add(path)
            self._previous = path

    async def start(self) -> None:
        """At the start of a run: at L4, learn from the store and begin loading what the first step
        needed before."""
        if self.level is Level.L4:
            if self.learn is not None:
                await self._learned(self.learn)
            self._prefetch_after("")

    def close(self) -> None:
        """At the end of a run: the prefetches nobody took are wasted."""
        self.wasted += len(self._ahead)
        self._discard()
        self._loaded.clear()

    def _discard(self) -> None:
        """Drop the prefetches nobody took: running ones are cancelled, a failed one's error is
        read (so asyncio does not log it as never retrieved). A prediction is kept until the run
        ends: the step it was for may still come (after a sibling, a skipped step, a retry)."""
        for task in self._ahead.values():
            if task.done():
                if not task.cancelled():
                    task.exception()
            else:
                task.cancel()
        self._ahead.clear()

    def stats(self) -> dict[str, Any]:
        needed = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "prefetched": self.prefetched,
            "wasted": self.wasted,
            "hit_rate": self.hits / needed if needed else None,
        }


LOADER_THREADS = 32
"""Threads that run sync source loaders, apart from ``asyncio.to_thread``'s pool: a loader that hangs
past its step's timeout keeps its thread, and must not take the threads memory and routing use."""
_loaders = ThreadPoolExecutor(LOADER_THREADS, thread_name_prefix="jotty-source")
_THREAD_BOUND = re.compile(r"(same|different|another|other) thread|created in a thread", re.IGNORECASE)
"""What an object bound to the thread that made it says when used from another (sqlite3's words)."""


async def _call(load: Callable[[str], Any], query: str, *, ahead: bool = False) -> Any:
    """A source's ``load(query)``, awaited if async. A sync loader runs on a worker thread: on the
    event loop it would stall every step meanwhile (a Parallel's loads one after another). One bound
    to the loop's thread (an ``sqlite3`` connection made there) fails there saying so and loads in
    place, unless it loads ``ahead`` (L4's prefetch, which then counts a miss)."""
    if inspect.iscoroutinefunction(load):
        return await load(query)
    call = functools.partial(contextvars.copy_context().run, load, query)
    try:
        result = await asyncio.get_running_loop().run_in_executor(_loaders, call)
    except (sqlite3.ProgrammingError, RuntimeError) as exc:
        if ahead or not _THREAD_BOUND.search(str(exc)):
            raise
        result = load(query)
    if inspect.isawaitable(result):
        result = await result
    return result
