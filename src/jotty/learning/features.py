"""Goal features: what the router knows about a goal before any actor runs.

A goal is reduced to a ``category`` (given by the caller, e.g. a task's category, or ``general``),
a few ``keywords`` (from the caller's ``keywords``/``tags`` and the goal text) and a ``goal_key``
that identifies the goal across runs (a task id, else a hash of the normalised text).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jotty.errors import ValidationError

DEFAULT_CATEGORY = "general"
MAX_KEYWORDS = 6

_WORD = re.compile(r"[a-z][a-z0-9_+#-]{2,}")
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_STOPWORD_TEXT = """
about above after again against all also and any are because been before being below between both
but can could did does doing down during each few for from further had has have having her here
hers him his how into its itself just like make more most must not now off once only other our ours
out over own please same she should some such than that the their theirs them then there these they
this those through too under until use using very was were what when where which while who whom why
will with would you your yours
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def normalise_name(text: str) -> str:
    """Lower-case ``text`` and keep only ``[a-z0-9_-]`` (other runs become ``-``)."""
    return _NOT_NAME.sub("-", text.strip().lower()).strip("-")


def extract_keywords(text: str) -> list[str]:
    """The distinct non-stopword words of three or more letters in ``text``, in order of appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        word = word.strip("-")
        if len(word) >= 3 and word not in _STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def _listed(value: Any, name: str) -> list[str]:
    """A context entry given as a comma-separated string or an iterable of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValidationError(f"context[{name!r}] must be a list of strings or a comma-separated string")


@dataclass(frozen=True)
class GoalFeatures:
    """The features of one goal: ``category``, ``keywords`` and the ``goal_key`` naming the goal."""

    category: str
    keywords: tuple[str, ...]
    goal_key: str

    @classmethod
    def from_goal(
        cls, goal: str, context: Mapping[str, Any] | None = None, max_keywords: int = MAX_KEYWORDS
    ) -> GoalFeatures:
        """Features of ``goal``; ``context`` may give ``category``, ``keywords``/``tags`` and ``task_id``."""
        if not isinstance(goal, str) or not goal.strip():
            raise ValidationError("the goal must be a non-empty string describing what to do")
        if context is not None and not isinstance(context, Mapping):
            raise ValidationError("context must be a mapping (dict) or None")
        if max_keywords < 0:
            raise ValidationError(f"max_keywords must be >= 0, got {max_keywords}")
        ctx: Mapping[str, Any] = context or {}
        category = ctx.get("category") or ""
        if not isinstance(category, str):
            raise ValidationError("context['category'] must be a string")
        given = _listed(ctx.get("keywords"), "keywords") + _listed(ctx.get("tags"), "tags")
        words = extract_keywords(" ".join(given)) + extract_keywords(goal)
        keywords = tuple(dict.fromkeys(words))[:max_keywords]
        task_id = ctx.get("task_id")
        key = str(task_id) if task_id else _text_key(goal)
        return cls(normalise_name(category) or DEFAULT_CATEGORY, keywords, key)

    def feature_names(self) -> tuple[str, ...]:
        """The predictor's feature names: ``*`` (every goal), the category, then each keyword."""
        return (ALL_GOALS, category_feature(self.category), *map(keyword_feature, self.keywords))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {"category": self.category, "keywords": list(self.keywords), "goal_key": self.goal_key}


ALL_GOALS = "*"


def category_feature(category: str) -> str:
    """The predictor feature name of a category."""
    return f"category:{category}"


def keyword_feature(keyword: str) -> str:
    """The predictor feature name of a keyword."""
    return f"keyword:{keyword}"


def _text_key(goal: str) -> str:
    normalised = " ".join(goal.lower().split())
    return "text:" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]
