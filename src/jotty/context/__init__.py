"""Context windows: assembling them from parts within a token budget, and counting their tokens."""

from jotty.context.budget import BudgetExceededError, TokenBudget
from jotty.context.classify import RouteClassifier
from jotty.context.guard import Action, ContextBudgetError, SmartContextGuard, Window, parts_of
from jotty.context.levels import Level
from jotty.context.limits import MODEL_LIMITS, ModelLimits
from jotty.context.parts import KEY_KINDS, Part, PartKind
from jotty.context.policy import ContextPolicy, ContextSourceError, Source, registry_source
from jotty.context.prefetch import PrefetchModel
from jotty.context.skills import Skill, SkillRegistry
from jotty.context.summarizer import agent_summarizer
from jotty.context.text import as_text, estimate_tokens, truncate
from jotty.context.tokens import (
    EstimateCounter,
    TiktokenCounter,
    TokenCounter,
    ToktokCounter,
    count_tokens,
    default_counter,
)
from jotty.context.windows import ContextWindow, TokenShape, WindowLedger

__all__ = [
    "KEY_KINDS",
    "MODEL_LIMITS",
    "Action",
    "BudgetExceededError",
    "ContextBudgetError",
    "ContextPolicy",
    "ContextSourceError",
    "ContextWindow",
    "EstimateCounter",
    "Level",
    "ModelLimits",
    "Part",
    "PartKind",
    "PrefetchModel",
    "RouteClassifier",
    "Skill",
    "SkillRegistry",
    "SmartContextGuard",
    "Source",
    "TiktokenCounter",
    "TokenBudget",
    "TokenCounter",
    "TokenShape",
    "ToktokCounter",
    "Window",
    "WindowLedger",
    "agent_summarizer",
    "as_text",
    "count_tokens",
    "default_counter",
    "estimate_tokens",
    "parts_of",
    "registry_source",
    "truncate",
]
