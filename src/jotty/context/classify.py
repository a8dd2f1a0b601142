"""The route classifier of level L3: which category a step (or a context part) belongs to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jotty.errors import ValidationError

DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "research": ("research", "search", "find", "look up", "gather", "collect", "source", "fetch", "browse"),
    "analysis": ("analy", "compare", "compute", "calculat", "evaluat", "trend", "statistic", "measure", "metric"),
    "writing": ("write", "writing", "draft", "report", "compose", "edit", "style", "tone", "prose"),
    "coding": ("code", "implement", "function", "bug", "refactor", "compile", "program"),
    "planning": ("plan", "schedule", "break down", "roadmap", "milestone"),
    "review": ("review", "check", "verify", "validat", "approve", "critique"),
}
"""Category -> the word stems that point to it (matched in lower case, anywhere in the text)."""


def same_case(category: str | None) -> str | None:
    """A category as it is compared: ``Billing``, ``billing`` and `` BILLING`` are one category."""
    return (category.strip().lower() or None) if category is not None else None


class RouteClassifier:
    """Classifies texts (a step's name, its agent's description, a part's name and content) into
    categories by keyword stems. ``categories`` replaces the default table; ``extra`` adds to it.
    Category names are kept in lower case (a part's or step's category matches whatever its case)."""

    def __init__(
        self,
        categories: Mapping[str, Sequence[str]] | None = None,
        *,
        extra: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        table = dict(DEFAULT_CATEGORIES if categories is None else categories)
        for name, words in (extra or {}).items():
            table[name] = (*table.get(name, ()), *words)
        for name, words in table.items():
            if not isinstance(name, str) or not name or isinstance(words, str) or not words:
                raise ValidationError(f"route category {name!r} needs a name and a list of keywords, got {words!r}")
        self.table: dict[str, tuple[str, ...]] = {}
        for name, words in table.items():
            key = name.strip().lower()
            self.table[key] = (*self.table.get(key, ()), *(w.lower() for w in words))

    def classify(self, *texts: str) -> str | None:
        """The category of the first text that names one (most keyword hits wins; ties go to the
        table's order), or ``None``."""
        for text in texts:
            if not text:
                continue
            lowered = text.lower()
            best, hits = None, 0
            for name, words in self.table.items():
                score = sum(lowered.count(w) for w in words)
                if score > hits:
                    best, hits = name, score
            if best is not None:
                return best
        return None

    @property
    def categories(self) -> list[str]:
        return list(self.table)
