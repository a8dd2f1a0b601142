"""Context windows and token accounting: every step's window is explicit and its tokens counted."""

from jotty.context.budget import BudgetExceededError, TokenBudget
from jotty.context.text import as_text, estimate_tokens, truncate
from jotty.context.windows import ContextWindow, TokenShape, WindowLedger

__all__ = [
    "BudgetExceededError",
    "ContextWindow",
    "TokenBudget",
    "TokenShape",
    "WindowLedger",
    "as_text",
    "estimate_tokens",
    "truncate",
]
