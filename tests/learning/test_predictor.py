"""The outcome predictor: probabilities move with evidence and generalise through keywords."""

from __future__ import annotations

import pytest

from jotty.learning import FeatureStats, GoalFeatures, estimate

BACKEND_PY = GoalFeatures("backend", ("python",), "g1")
FRONTEND_PY = GoalFeatures("frontend", ("python",), "g2")
FRONTEND_PROSE = GoalFeatures("frontend", ("prose",), "g3")


def counts(successes: int, attempts: int, reward_each: float = 0.0) -> FeatureStats:
    return FeatureStats(attempts, successes, reward_each * attempts)


def observed(successes: int, attempts: int) -> dict[str, FeatureStats]:
    """``attempts`` steps on backend goals with keyword python, ``successes`` of them succeeded."""
    stats = counts(successes, attempts)
    return {"*": stats, "category:backend": stats, "keyword:python": stats}


def test_no_evidence_is_a_coin_flip() -> None:
    result = estimate({}, BACKEND_PY, strength=4.0)
    assert result.p_success == pytest.approx(0.5)
    assert result.evidence == 0.0


def test_successes_raise_and_failures_lower_the_probability() -> None:
    ps = [estimate(observed(k, k), BACKEND_PY, 4.0).p_success for k in (1, 3, 10, 30)]
    assert ps == sorted(ps) and ps[0] > 0.5 and ps[-1] > 0.95
    ps = [estimate(observed(0, k), BACKEND_PY, 4.0).p_success for k in (1, 3, 10, 30)]
    assert ps == sorted(ps, reverse=True) and ps[0] < 0.5 and ps[-1] < 0.05


def test_evidence_grows_with_observations() -> None:
    evidence = [estimate(observed(k, 2 * k), BACKEND_PY, 4.0).evidence for k in (1, 5, 20)]
    assert evidence == sorted(evidence) and evidence[0] > 0


def test_keywords_carry_experience_to_a_new_category() -> None:
    # Good on backend goals about python, never seen on frontend: a frontend goal about python looks
    # better than a frontend goal about prose.
    stats = observed(9, 10)
    assert estimate(stats, FRONTEND_PY, 4.0).p_success > estimate(stats, FRONTEND_PROSE, 4.0).p_success
    assert estimate(stats, FRONTEND_PY, 4.0).evidence > estimate(stats, FRONTEND_PROSE, 4.0).evidence


def test_category_evidence_takes_over_from_keywords() -> None:
    stats = observed(9, 10)
    stats["keyword:python"] = FeatureStats(40, 36)
    stats["category:frontend"] = FeatureStats(30, 3)  # python works elsewhere, but not on frontend
    assert estimate(stats, FRONTEND_PY, 4.0).p_success < 0.2


def test_mean_reward_follows_the_rewards_observed() -> None:
    good = {"*": counts(5, 10, 0.8), "category:backend": counts(5, 10, 0.8)}
    bad = {"*": counts(5, 10, -0.3), "category:backend": counts(5, 10, -0.3)}
    assert estimate(good, BACKEND_PY, 4.0).mean_reward > 0.5
    assert estimate(bad, BACKEND_PY, 4.0).mean_reward < -0.1
