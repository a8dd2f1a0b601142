"""The outcome predictor: each actor's chance of success (and mean reward) on a goal.

Counts per (actor, feature) are combined hierarchically, each level a Beta-style average shrunk
towards the level above with ``strength`` pseudo-observations::

    actor overall (*)  ->  the goal's keywords (pooled)  ->  the goal's category

So an actor never seen on a category is predicted from how it did on goals sharing keywords with
this one, and failing that from how it does overall; as evidence on the category accumulates it
takes over. ``evidence`` is how many observations the prediction rests on: the category's count
plus up to ``strength`` for what the keywords contribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jotty.learning.features import ALL_GOALS, GoalFeatures, category_feature, keyword_feature
from jotty.learning.records import FeatureStats


@dataclass(frozen=True)
class Estimate:
    """The predictor's view of one actor on one goal."""

    p_success: float
    mean_reward: float
    evidence: float


def shrink(total: float, count: float, prior: float, strength: float) -> float:
    """``(total + strength * prior) / (count + strength)``: an average pulled towards ``prior``."""
    return (total + strength * prior) / (count + strength)


def estimate(stats: Mapping[str, FeatureStats], features: GoalFeatures, strength: float) -> Estimate:
    """Predict one actor on ``features`` from its counts ``stats`` (keyed by feature name)."""
    empty = FeatureStats()
    overall = stats.get(ALL_GOALS, empty)
    p_prior = shrink(overall.successes, overall.attempts, 0.5, 2.0)
    r_prior = shrink(overall.reward, overall.attempts, 0.0, 1.0)
    keyword_stats = [stats.get(keyword_feature(k), empty) for k in features.keywords]
    seen = 0.0
    if keyword_stats:
        size = len(keyword_stats)
        seen = sum(s.attempts for s in keyword_stats) / size
        p_prior = shrink(sum(s.successes for s in keyword_stats) / size, seen, p_prior, strength)
        r_prior = shrink(sum(s.reward for s in keyword_stats) / size, seen, r_prior, strength)
    category = stats.get(category_feature(features.category), empty)
    return Estimate(
        p_success=shrink(category.successes, category.attempts, p_prior, strength),
        mean_reward=shrink(category.reward, category.attempts, r_prior, strength),
        evidence=category.attempts + strength * seen / (seen + strength),
    )
