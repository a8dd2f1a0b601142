"""The token budget guard: limits on one window and on the whole run."""

from __future__ import annotations

from dataclasses import dataclass

from jotty.errors import JottyError, ValidationError


class BudgetExceededError(JottyError):
    """A run used more tokens than its ``TokenBudget.total`` allows; the run stops."""


@dataclass(frozen=True)
class TokenBudget:
    """Token limits for a run.

    ``per_window``: a call that leaves its window above this many tokens is a failed step, handled
    by the step's error strategy (a ``Fallback`` to a cheaper agent, say). ``total``: a run that goes
    above this many tokens stops with ``BudgetExceededError`` recorded as its error.
    """

    total: int | None = None
    per_window: int | None = None

    def __post_init__(self) -> None:
        for label, value in (("total", self.total), ("per_window", self.per_window)):
            if value is not None and value <= 0:
                raise ValidationError(f"TokenBudget({label}={value}): a token limit must be a positive integer")

    def window_error(self, path: str, used: int) -> str | None:
        """Why window ``path``, having used ``used`` tokens, is over budget, or ``None``."""
        if self.per_window is not None and used > self.per_window:
            return (
                f"context window {path!r} used {used} tokens, over its budget of "
                f"{self.per_window} (TokenBudget.per_window)"
            )
        return None

    def check_total(self, used: int) -> None:
        """Raise ``BudgetExceededError`` when ``used`` is above ``total``."""
        if self.total is not None and used > self.total:
            raise BudgetExceededError(
                f"the run used {used} tokens, over its budget of {self.total} (TokenBudget.total): "
                "raise the budget or make the steps leaner"
            )
