"""The reward of one step: what it achieved minus what it cost.

``reward = success + validation + failure - cost`` with the weights of ``RewardWeights``:

============  ========  ============================================================
term          default   meaning
============  ========  ============================================================
success       +1.0      the step's output was accepted (the run's goal moved forward)
validated     +0.25     a validator accepted the output (``validated=True``);
                        the same amount is subtracted when a validator rejected it
failure       -0.5      the step failed hard (exception, crash, timeout)
per_token     1e-5      cost of one token (100k tokens cost 1.0)
per_second    1/600     cost of one second of wall time (10 minutes cost 1.0)
max_cost      1.0       the cost term is capped so one huge run cannot dominate
============  ========  ============================================================

So an accepted, validated step of 20k tokens and 60 s is worth 1.25 - 0.3 = 0.95, an output the
validator rejected is worth -0.25 - cost and a crash -0.5 - cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jotty.errors import ValidationError


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward terms (see the module docstring for their meaning)."""

    success: float = 1.0
    validated: float = 0.25
    failure: float = -0.5
    per_token: float = 1e-5
    per_second: float = 1 / 600
    max_cost: float = 1.0

    def __post_init__(self) -> None:
        for name in ("success", "validated", "failure", "per_token", "per_second", "max_cost"):
            if not math.isfinite(getattr(self, name)):
                raise ValidationError(f"RewardWeights.{name} must be a finite number")
        if min(self.per_token, self.per_second, self.max_cost) < 0:
            raise ValidationError("RewardWeights costs (per_token, per_second, max_cost) must be >= 0")

    def cost(self, tokens: int, seconds: float) -> float:
        """The (capped) cost of a step that used ``tokens`` and took ``seconds``."""
        return min(self.max_cost, tokens * self.per_token + seconds * self.per_second)


DEFAULT_WEIGHTS = RewardWeights()


def check_step(success: bool, validated: bool | None, tokens: int, seconds: float, failed: bool) -> None:
    """Raise ``ValidationError`` for an impossible or malformed step outcome."""
    if not isinstance(success, bool) or not isinstance(failed, bool):
        raise ValidationError("success and failed must be booleans")
    if validated is not None and not isinstance(validated, bool):
        raise ValidationError("validated must be True, False or None (no validator ran)")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ValidationError(f"tokens must be a non-negative integer, got {tokens!r}")
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise ValidationError(f"seconds must be a non-negative finite number, got {seconds!r}")
    if success and failed:
        raise ValidationError("a step cannot both succeed and fail: pass success=True or failed=True")
    if success and validated is False:
        raise ValidationError(
            "a step whose output the validator rejected is not a success: pass success=False, validated=False"
        )


def reward(
    success: bool,
    validated: bool | None = None,
    tokens: int = 0,
    seconds: float = 0.0,
    failed: bool = False,
    weights: RewardWeights = DEFAULT_WEIGHTS,
) -> float:
    """The reward of one step (see the module docstring for the terms and default weights)."""
    check_step(success, validated, tokens, seconds, failed)
    value = weights.success if success else 0.0
    if validated is not None:
        value += weights.validated if validated else -weights.validated
    if failed:
        value += weights.failure
    return value - weights.cost(tokens, seconds)
