"""``SmartContextGuard``: assemble a context window from parts within a token budget.

Over budget, the guard first removes repeated tool output and repeated items, then compresses the
lowest priority parts first: a list loses its oldest items (a message's content parts have their
text trimmed, then lose their images whole), a text is summarized (extractive, or by an LLM when a
summarizer is configured) or trimmed in the middle, and a part that cannot keep anything useful is
dropped. Pinned parts are never touched. The result never counts more than the
budget: a budget below the pinned parts is a ``ContextBudgetError``.

The images of a message's content parts count by their pixels (``jotty.context.images``), not by
the characters of their URLs; an image of unknown size counts as the dearest one, and the window's
``counter`` then ends in ``IMAGE_ESTIMATE``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jotty.context.compress import (
    dedupe_items,
    drop_oldest,
    drop_oldest_messages,
    fit_content_parts,
    fit_text,
    is_content_parts,
    is_conversation,
    split_images,
    summarize_extractive,
)
from jotty.context.limits import MODEL_LIMITS, ModelLimits
from jotty.context.parts import KEEP, Part, PartKind, kind_of_key
from jotty.context.text import as_text
from jotty.context.tokens import TokenCounter, default_counter
from jotty.errors import ValidationError

logger = logging.getLogger(__name__)

MIN_PART_TOKENS = 12
"""A part compressed below this many tokens is dropped instead: a stub tells the model nothing."""

IMAGE_ESTIMATE = "+image-estimate"
"""Added to a window's ``counter`` when an image's size was not known and its count is an estimate."""

Summarizer = Callable[[str, int], Awaitable[str]]
"""An LLM summarizer: ``await summarize(text, max_tokens)`` returns a shorter text."""


class ContextBudgetError(ValidationError):
    """The pinned parts alone are over the budget: nothing the guard may change can make it fit."""


@dataclass(frozen=True, slots=True)
class Action:
    """What the guard did to one part: ``dedupe``, ``drop_oldest``, ``summarize``,
    ``llm_summarize``, ``trim``, ``drop_non_text`` (a message's images and other non-text parts
    dropped, its text trimmed) or ``drop``, with its tokens before and after."""

    part: str
    kind: str
    action: str
    before: int
    after: int

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "kind": self.kind, "action": self.action, "before": self.before, "after": self.after}


class Window:
    """An assembled window: its parts (in their original order), their tokens, what was done.

    ``tokens`` and ``before`` are exact counts. When the parts' cheap upper bounds (a counter's
    ``bound``) already fit the budget, the guard returns without tokenizing them, and ``tokens``
    counts them on first read; ``bound`` is the most the window can count either way."""

    __slots__ = ("_before", "_count", "_counts", "actions", "bound", "budget", "counter", "parts")

    def __init__(
        self,
        parts: list[Part],
        budget: int | None,
        tokens: int | list[int | None],
        before: int | None = None,
        actions: list[Action] | None = None,
        counter: str = "estimate",
        *,
        count: Callable[[Part], int] | None = None,
        bound: int | None = None,
    ) -> None:
        self.parts = parts
        self.budget = budget
        self.actions = actions if actions is not None else []
        self.counter = counter
        counts: list[int | None] = [tokens] if isinstance(tokens, int) else list(tokens)
        if None in counts and (count is None or len(counts) != len(parts)):
            raise ValidationError("a Window with uncounted parts needs one count per part and count=")
        self._counts = counts
        self._count = count
        self._before = before
        self.bound = bound if bound is not None else self.tokens

    def __repr__(self) -> str:
        return f"Window(parts={len(self.parts)}, budget={self.budget}, bound={self.bound}, actions={len(self.actions)})"

    @property
    def tokens(self) -> int:
        """The window's tokens (parts not yet counted are counted now, once)."""
        counts = self._counts
        if None in counts:
            count = self._count
            assert count is not None
            for i, found in enumerate(counts):
                if found is None:
                    counts[i] = count(self.parts[i])
        return sum(c for c in counts if c is not None)

    @property
    def before(self) -> int:
        """The tokens of the parts as given, before any compression."""
        return self._before if self._before is not None else self.tokens

    @property
    def compressed(self) -> bool:
        return bool(self.actions)

    def data(self) -> dict[str, Any]:
        """The window as a ``ctx.data`` dict: part name -> content."""
        return {p.name: p.content for p in self.parts}

    def text(self) -> str:
        """The window as one text (what a model reads)."""
        return "\n\n".join(p.text() for p in self.parts)

    def event(self) -> dict[str, Any]:
        """The payload of a ``context_compressed`` event."""
        return {
            "budget": self.budget,
            "before": self.before,
            "after": self.tokens,
            "counter": self.counter,
            "actions": [a.to_dict() for a in self.actions],
        }


class SmartContextGuard:
    """Assembles windows within ``budget`` tokens (or the context limit of ``model`` from
    ``limits``, less ``reserve`` tokens kept for the answer).

    ``counter`` counts tokens (default: cl100k_base offline, else the estimate); ``summarizer`` is an
    async LLM summarizer used by ``assemble_async`` (extractive summaries otherwise).
    """

    def __init__(
        self,
        budget: int | None = None,
        *,
        model: str | None = None,
        limits: ModelLimits | None = None,
        reserve: int = 0,
        counter: TokenCounter | None = None,
        summarizer: Summarizer | None = None,
    ) -> None:
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0):
            raise ValidationError(f"SmartContextGuard budget must be a positive number of tokens, got {budget!r}")
        if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
            raise ValidationError(f"SmartContextGuard reserve must be a number of tokens >= 0, got {reserve!r}")
        if summarizer is not None and not callable(summarizer):
            raise ValidationError("SmartContextGuard summarizer must be an async function (text, max_tokens) -> str")
        self.limits = MODEL_LIMITS if limits is None else limits
        self.model = model
        self.reserve = reserve
        self._budget = budget
        self.counter = counter if counter is not None else default_counter()
        self.summarizer = summarizer

    @property
    def budget(self) -> int | None:
        """The budget this guard was given, if any (else ``budget_for`` takes a model's limit)."""
        return self._budget

    def budget_for(self, model: str | None = None, answer: int = 0) -> int | None:
        """The budget: the guard's own, else the context limit of ``model`` (or the guard's model)
        less the reserve and ``answer`` (the tokens a call keeps for its answer, an ``LLMAgent``'s
        ``max_tokens``; at most half of what the reserve leaves, since the table may know less than
        the provider: ``mistral`` covers models of 32k and of 128k); ``None`` when neither is known.
        A reserve at or over the limit is a ``ContextBudgetError``."""
        if self._budget is not None:
            return self._budget
        name = model or self.model
        limit = self.limits.limit(name)
        if limit is None:
            return None
        if limit <= self.reserve:
            raise ContextBudgetError(
                f"the reserve of {self.reserve} tokens for the answer is at least the context limit of {name} "
                f"({limit} tokens), leaving nothing for the prompt: lower it"
            )
        room = limit - self.reserve
        return room - min(max(answer, 0), room // 2)

    def count(self, part: Part) -> int:
        """The tokens of ``part``: as reported, else counted (its images by their pixels)."""
        if part.tokens is not None:
            return part.tokens
        text, images, _ = _measured(part)
        return self.counter.count(text) + images

    def assemble(self, parts: Iterable[Part], budget: int | None = None, *, model: str | None = None) -> Window:
        """The window of ``parts`` within ``budget`` (default: ``budget_for(model)``)."""
        return _Assembly(self, self._parts(parts), self._resolve(budget, model)).run_sync()

    async def assemble_async(
        self, parts: Iterable[Part], budget: int | None = None, *, model: str | None = None
    ) -> Window:
        """Like ``assemble``, summarizing with the LLM summarizer when one is configured."""
        assembly = _Assembly(self, self._parts(parts), self._resolve(budget, model))
        return await assembly.run_async()

    def assemble_data(
        self, data: Mapping[str, Any], budget: int | None = None, *, pinned: Iterable[str] = ()
    ) -> Window:
        """A window over a ``ctx.data`` dict: each key a part of the kind ``KEY_KINDS`` gives it."""
        return self.assemble(parts_of(data, pinned=pinned), budget)

    @staticmethod
    def _parts(parts: Iterable[Part]) -> list[Part]:
        found = list(parts)
        for index, part in enumerate(found):
            if not isinstance(part, Part):
                raise ValidationError(
                    f"a window is assembled from Part objects; item {index} is a {type(part).__name__}: "
                    "wrap it as Part(name, content, kind)"
                )
        return found

    def _resolve(self, budget: int | None, model: str | None) -> int | None:
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0):
            raise ValidationError(f"a window budget must be a positive number of tokens, got {budget!r}")
        return budget if budget is not None else self.budget_for(model)


def _measured(part: Part) -> tuple[str, int, bool]:
    """``part``'s text with its images' URLs emptied, the images' tokens, and whether every image's
    size was known (``split_images``)."""
    text = part.text()
    if "image_url" not in text:
        return text, 0, True
    content, images, known = split_images(part.content)
    return replace(part, content=content).text(), images, known


def parts_of(data: Mapping[str, Any], *, pinned: Iterable[str] = ()) -> list[Part]:
    """``data`` (a ``ctx.data`` dict) as parts, keyed and kinded by name; ``pinned`` names stay as they are."""
    keep = set(pinned)
    return [Part(str(k), v, kind_of_key(str(k)), pinned=k in keep) for k, v in data.items()]


class _Assembly:
    """One assembly: counts, then compresses lowest priority first until the window fits."""

    def __init__(self, guard: SmartContextGuard, parts: list[Part], budget: int | None) -> None:
        self.guard = guard
        self.count = guard.counter.count
        self.parts = parts
        self.budget = budget
        self.estimated = False
        """Whether an image's size was unknown (its count the ``UNKNOWN_TOKENS`` estimate)."""
        self.tokens, self.exact = self._first_counts()
        self.before = self.total = sum(self.tokens)
        """``total``: the tokens of the parts still in (a dropped part's count is -1); an upper
        bound while some parts are not counted exactly (``exact[i]`` False)."""
        self.actions: list[Action] = []

    def _first_counts(self) -> tuple[list[int], list[bool]]:
        """Each part's tokens: as reported, as cached, or else (when the counter offers it) a
        cheap upper bound. Bounds are replaced by exact counts, largest first, only while the
        window does not fit by them; a window over budget ends up counted exactly."""
        counter = self.guard.counter
        cached = getattr(counter, "cached", None)
        bound = getattr(counter, "bound", None)
        if cached is None or bound is None:  # a counter without them counts every part
            cached = bound = self.count
        tokens: list[int] = []
        exact: list[bool] = []
        for part in self.parts:
            if part.tokens is not None:
                tokens.append(part.tokens)
                exact.append(True)
                continue
            text, images, known = _measured(part)
            self.estimated = self.estimated or not known
            found = cached(text)
            if found is None:
                tokens.append(bound(text) + images)
                exact.append(False)
            else:
                tokens.append(found + images)
                exact.append(True)
        if self.budget is None:
            return tokens, exact
        total = sum(tokens)
        if total > self.budget:
            for i in sorted((i for i, e in enumerate(exact) if not e), key=lambda i: -tokens[i]):
                counted = self.guard.count(self.parts[i])
                total += counted - tokens[i]
                tokens[i], exact[i] = counted, True
                if total <= self.budget:
                    break
        return tokens, exact

    def window(self) -> Window:
        kept = [i for i, t in enumerate(self.tokens) if t >= 0]
        parts = [self.parts[i] for i in kept]
        bound = sum(self.tokens[i] for i in kept)
        if self.budget is not None:
            assert bound <= self.budget, (bound, self.budget)  # the guard's one promise
        counts: list[int | None] = [self.tokens[i] if self.exact[i] else None for i in kept]
        before = self.before if all(self.exact) else None
        return Window(
            parts,
            self.budget,
            counts,
            before,
            self.actions,
            self.guard.counter.source + (IMAGE_ESTIMATE if self.estimated else ""),
            count=self.guard.count,
            bound=bound,
        )

    def over(self) -> int:
        return self.total - (self.budget or 0)

    def check_pinned(self) -> None:
        pinned = sum(t for p, t in zip(self.parts, self.tokens, strict=True) if p.pinned)
        if self.budget is not None and pinned > self.budget:
            names = ", ".join(p.name for p in self.parts if p.pinned)
            raise ContextBudgetError(
                f"the pinned context parts ({names}) need {pinned} tokens, over the window budget of "
                f"{self.budget}: raise the budget, or unpin or shorten them"
            )

    def order(self) -> list[int]:
        """Indexes of the changeable parts, lowest priority first (earlier parts first among equals:
        the oldest tool output goes before the newest)."""
        idx = [i for i, p in enumerate(self.parts) if not p.pinned]
        return sorted(idx, key=lambda i: (self.parts[i].rank, i))

    def run_sync(self) -> Window:
        if self.budget is None or self.over() <= 0:
            return self.window()
        self.check_pinned()
        self.dedupe()
        for i, allowance in self.targets():
            self.shrink(i, self.compress(i, allowance))
        self.last_resort()
        return self.window()

    async def run_async(self) -> Window:
        summarize = self.guard.summarizer
        if summarize is None or self.budget is None or self.over() <= 0:
            return self.run_sync()
        self.check_pinned()
        self.dedupe()
        for i, allowance in self.targets():
            part = self.parts[i]
            if allowance >= MIN_PART_TOKENS and isinstance(part.content, str):
                try:
                    text = await summarize(part.content, allowance - self._overhead(part))
                except Exception as exc:  # the LLM is a help, not a dependency: fall back
                    logger.warning("LLM summarizer failed (%s); summarizing extractively", exc)
                else:
                    if isinstance(text, str) and self._fits(part, text, allowance):
                        self.replace(i, text, "llm_summarize")
                        continue
            self.shrink(i, self.compress(i, allowance))
        self.last_resort()
        return self.window()

    def targets(self) -> Iterator[tuple[int, int]]:
        """The parts to compress, lowest priority first, each with the tokens it may keep, while
        the window is over budget. Instructions and the goal come last, each allowed at least its
        share of what the other parts leave, so the goal is trimmed rather than dropped."""
        order = self.order()
        for i in order:
            if self.parts[i].kind not in KEEP:
                if self.over() <= 0:
                    return
                yield i, self.allowance(i)
        keep = [i for i in order if self.parts[i].kind in KEEP and self.tokens[i] >= 0]
        kept = set(keep)
        others = sum(t for j, t in enumerate(self.tokens) if t >= 0 and j not in kept)
        free = (self.budget or 0) - others
        total = sum(self.tokens[i] for i in keep) or 1
        for i in keep:
            if self.over() <= 0:
                return
            yield i, max(self.allowance(i), free * self.tokens[i] // total)

    # --- steps

    def dedupe(self) -> None:
        """Repeated tool output and repeated list items go first: they tell the model nothing new.
        Of the copies of one tool output, the one compressed last (highest priority, then newest)
        stays whole and the others point at it: a copy is only ever compressed or dropped after
        every part that points at it."""
        copies: dict[str, list[int]] = {}
        for i, part in enumerate(self.parts):
            if part.pinned:
                continue
            if isinstance(part.content, list):
                if not is_content_parts(part.content):  # a message's parts are its own (an image twice)
                    items, removed = dedupe_items(part.content)
                    if removed:
                        self.replace(i, items, "dedupe")
                continue
            key = as_text(part.content)
            if part.kind is PartKind.TOOL and len(key) > 40:
                copies.setdefault(key, []).append(i)
        for same in copies.values():
            kept = max(same, key=lambda i: (self.parts[i].rank, i))
            for i in same:
                if i != kept:
                    self.replace(i, f"(same output as {self.parts[kept].name})", "dedupe")

    def allowance(self, i: int) -> int:
        """How many tokens part ``i`` may keep so that the window fits."""
        return self.tokens[i] - self.over()

    def compress(self, i: int, allowance: int) -> tuple[Any, str] | None:
        """The part's content compressed to ``allowance`` tokens, and how; ``None``: drop it."""
        part = self.parts[i]
        floor = 1 if part.kind in KEEP else MIN_PART_TOKENS
        if allowance < floor:
            return None
        room = allowance - self._overhead(part)
        if room <= 0:
            return None
        content = part.content
        if isinstance(content, list) and is_content_parts(content):
            # a message's content parts stay a list of whole parts (a provider reads no JSON text):
            # its text is trimmed, then its images (and other parts) go whole
            fitted = fit_content_parts(content, room, self.count)
            if fitted is None or not self._fits(part, fitted[0], allowance):
                return None
            return fitted[0], "drop_non_text" if fitted[1] else "trim"
        if isinstance(content, list) and is_conversation(content):
            # a chat history stays a list of messages (an agent refuses anything else): its oldest
            # messages go, tool results with their calls, or the whole part
            messages = drop_oldest_messages(content, room, self.count)
            return (messages, "drop_oldest") if messages is not None and self._fits(part, messages, allowance) else None
        if isinstance(content, list) and content:
            items = drop_oldest(content, room, self.count)
            if items is not None and self._fits(part, items, allowance):
                return items, "drop_oldest"
        text = as_text(content)
        if part.kind not in KEEP:
            summary = summarize_extractive(text, room, self.count)
            if summary is not None and self._fits(part, summary, allowance):
                return summary, "summarize"
        trimmed = fit_text(text, room, self.count)
        if trimmed is not None and self._fits(part, trimmed, allowance):
            return trimmed, "trim"
        return None

    def shrink(self, i: int, outcome: tuple[Any, str] | None) -> None:
        if outcome is None:
            self.drop(i)
        else:
            self.replace(i, *outcome)

    def last_resort(self) -> None:
        """Drop whole parts, lowest priority first (instructions and goal last), until it fits.
        Terminates: every round drops one part, and the pinned parts alone fit (checked first)."""
        while self.over() > 0:
            alive = [i for i in self.order() if self.tokens[i] >= 0]
            if not alive:
                raise ContextBudgetError(f"the window cannot fit its budget of {self.budget} tokens")
            self.drop(min(alive, key=lambda i: (self.parts[i].kind in KEEP, self.parts[i].rank, i)))

    def replace(self, i: int, content: Any, action: str) -> None:
        part = self.parts[i]
        new = replace(part, content=content, tokens=None)
        after = self.guard.count(new)
        self.actions.append(Action(part.name, part.kind.value, action, self.tokens[i], after))
        self.total += after - self.tokens[i]
        self.parts[i], self.tokens[i], self.exact[i] = new, after, True

    def drop(self, i: int) -> None:
        part = self.parts[i]
        self.actions.append(Action(part.name, part.kind.value, "drop", self.tokens[i], 0))
        self.total -= self.tokens[i]
        self.tokens[i] = -1

    def _overhead(self, part: Part) -> int:
        return self.count(replace(part, content="").text())

    def _fits(self, part: Part, content: Any, allowance: int) -> bool:
        return self.guard.count(replace(part, content=content, tokens=None)) <= allowance
