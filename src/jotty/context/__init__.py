"""Context windows: assembling them from parts within a token budget, and counting their tokens."""

from jotty.context.budget import BudgetExceededError, TokenBudget
from jotty.context.guard import Action, ContextBudgetError, SmartContextGuard, Window, parts_of
from jotty.context.limits import MODEL_LIMITS, ModelLimits
from jotty.context.parts import KEY_KINDS, Part, PartKind
from jotty.context.text import as_text, estimate_tokens, truncate
from jotty.context.tokens import EstimateCounter, TiktokenCounter, TokenCounter, count_tokens, default_counter
from jotty.context.windows import ContextWindow, TokenShape, WindowLedger

__all__ = [
    "KEY_KINDS",
    "MODEL_LIMITS",
    "Action",
    "BudgetExceededError",
    "ContextBudgetError",
    "ContextWindow",
    "EstimateCounter",
    "ModelLimits",
    "Part",
    "PartKind",
    "SmartContextGuard",
    "TiktokenCounter",
    "TokenBudget",
    "TokenCounter",
    "TokenShape",
    "Window",
    "WindowLedger",
    "as_text",
    "count_tokens",
    "default_counter",
    "estimate_tokens",
    "parts_of",
    "truncate",
]
