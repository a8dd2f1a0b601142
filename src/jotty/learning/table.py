"""What has been learned, as tables for ``jotty learning show`` and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from jotty.learning.features import ALL_GOALS, GoalFeatures
from jotty.learning.predictor import estimate
from jotty.learning.records import FeatureStats, QValue
from jotty.learning.store import LearningStore
from jotty.learning.trajectory import state_key

ALL_CATEGORIES = "(all)"


@dataclass(frozen=True)
class LearningRow:
    """One actor on one category (or on every goal: ``category == "(all)"``).

    ``success_rate`` is observed; ``p_success`` is the predictor's estimate for a goal of the
    category; ``q_start`` is the learned value of choosing the actor first on such a goal.
    """

    actor: str
    category: str
    attempts: int
    successes: int
    success_rate: float | None
    p_success: float
    mean_reward: float | None
    mean_tokens: float | None
    mean_seconds: float | None
    q_start: float | None
    visits: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class KeywordRow:
    """One actor's record on goals carrying one keyword."""

    actor: str
    keyword: str
    attempts: int
    successes: int
    success_rate: float | None


@dataclass(frozen=True)
class LearningTable:
    """Per-actor, per-category rows (``rows``) and per-keyword records (``keywords``, most tried first)."""

    rows: tuple[LearningRow, ...]
    keywords: tuple[KeywordRow, ...]

    columns = tuple(LearningRow.__dataclass_fields__)

    def to_dicts(self) -> list[dict[str, Any]]:
        """``rows`` as dicts (keys in ``columns`` order)."""
        return [row.to_dict() for row in self.rows]


def _mean(total: float, stats: FeatureStats) -> float | None:
    return total / stats.attempts if stats.attempts else None


def _row(actor: str, category: str, s: FeatureStats, p_success: float, start: QValue | None) -> LearningRow:
    return LearningRow(
        actor=actor,
        category=category,
        attempts=s.attempts,
        successes=s.successes,
        success_rate=s.success_rate,
        p_success=p_success,
        mean_reward=_mean(s.reward, s),
        mean_tokens=_mean(s.tokens, s),
        mean_seconds=_mean(s.seconds, s),
        q_start=start.q if start else None,
        visits=start.visits if start else 0,
    )


def learning_table(
    store: LearningStore, actors: Sequence[str] | None = None, prior_strength: float = 4.0
) -> LearningTable:
    """Everything the store has learned (about ``actors``, default all), actor by actor.

    ``prior_strength`` should be the router's, so ``p_success`` matches what the router predicts.
    """
    stats = store.all_feature_stats()
    q = store.all_q_values()
    known = sorted({a for a, _ in stats} | {a for _, a in q}) if actors is None else list(actors)
    rows, keywords = [], []
    for actor in known:
        mine = {feature: s for (a, feature), s in stats.items() if a == actor}
        if ALL_GOALS in mine:
            overall = estimate({ALL_GOALS: mine[ALL_GOALS]}, _goal(""), prior_strength)
            rows.append(_row(actor, ALL_CATEGORIES, mine[ALL_GOALS], overall.p_success, None))
        for feature, s in sorted(mine.items()):
            kind, _, value = feature.partition(":")
            if kind == "category":
                p_success = estimate(mine, _goal(value), prior_strength).p_success
                rows.append(_row(actor, value, s, p_success, q.get((state_key(value, 0, "start"), actor))))
            elif kind == "keyword":
                keywords.append(KeywordRow(actor, value, s.attempts, s.successes, s.success_rate))
    keywords.sort(key=lambda k: (-k.attempts, k.actor, k.keyword))
    return LearningTable(tuple(rows), tuple(keywords))


def _goal(category: str) -> GoalFeatures:
    """A goal of ``category`` with no keywords (what the table predicts for)."""
    return GoalFeatures(category, (), "")
