"""The reward helper: documented weights, costs capped, impossible outcomes refused."""

from __future__ import annotations

import math

import pytest

from jotty.errors import ValidationError
from jotty.learning import RewardWeights, reward


def test_default_weights() -> None:
    assert reward(True) == 1.0
    assert reward(True, validated=True) == 1.25
    assert reward(False, validated=False) == -0.25
    assert reward(False, failed=True) == -0.5
    assert reward(False) == 0.0


def test_cost_of_tokens_and_seconds() -> None:
    # 20k tokens cost 0.2, 60 s cost 0.1
    assert reward(True, validated=True, tokens=20_000, seconds=60) == pytest.approx(0.95)


def test_cost_is_capped() -> None:
    assert reward(True, tokens=10_000_000, seconds=1e6) == pytest.approx(0.0)
    weights = RewardWeights(max_cost=0.5)
    assert reward(False, failed=True, tokens=10_000_000, weights=weights) == pytest.approx(-1.0)


def test_custom_weights() -> None:
    weights = RewardWeights(success=2.0, failure=-1.0, per_token=0.0, per_second=0.0)
    assert reward(True, tokens=5_000, weights=weights) == 2.0
    assert reward(False, failed=True, weights=weights) == -1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"success": True, "failed": True},
        {"success": True, "validated": False},
        {"success": True, "tokens": -1},
        {"success": True, "tokens": 1.5},
        {"success": True, "seconds": -0.1},
        {"success": True, "seconds": math.nan},
        {"success": "yes"},
        {"success": True, "validated": "ok"},
    ],
)
def test_impossible_or_malformed_outcomes_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        reward(**kwargs)  # type: ignore[arg-type]


def test_weights_are_checked() -> None:
    with pytest.raises(ValidationError):
        RewardWeights(per_token=-1.0)
    with pytest.raises(ValidationError):
        RewardWeights(success=math.inf)
