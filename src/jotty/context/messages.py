"""Fitting a chat conversation (a list of messages) into a token budget with the guard.

The system prompt counts as instructions, the last user message as the goal, tool messages as
tool results, the rest as history. A dropped plain message leaves the conversation; a dropped tool
message (or an assistant message with tool calls) keeps its place with a short marker, so tool
calls and their results still pair up.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from jotty.context.guard import ContextBudgetError, SmartContextGuard, Window
from jotty.context.parts import Part, PartKind
from jotty.context.text import as_text

CUT = "[cut to fit the context window]"


def message_parts(messages: list[dict[str, Any]]) -> list[Part]:
    """One part per message, named ``<index>:<role>``, except a tool result: ``tool result <call
    id>`` (while its call id is unique), the name a deduplicated copy points at ("same output as
    tool result call_1"), which the model can follow. Content that is not text (an image message's
    list) is counted as its JSON."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    parts = []
    for i, (message, name) in enumerate(zip(messages, _names(messages), strict=True)):
        role = str(message.get("role"))
        if role in ("system", "developer"):
            kind = PartKind.INSTRUCTIONS
        elif i == last_user:
            kind = PartKind.GOAL
        elif role == "tool":
            kind = PartKind.TOOL
        else:
            kind = PartKind.HISTORY
        text = _text(message)
        # nothing to cut in an empty message (an assistant's tool calls): dropped, it would cost a marker
        parts.append(Part(name, text, kind, pinned=not text))
    return parts


def _names(messages: list[dict[str, Any]]) -> list[str]:
    calls = Counter(m.get("tool_call_id") for m in messages if m.get("role") == "tool")
    return [
        f"tool result {m['tool_call_id']}"
        if m.get("role") == "tool" and m.get("tool_call_id") and calls[m.get("tool_call_id")] == 1
        else f"{i}:{m.get('role')}"
        for i, m in enumerate(messages)
    ]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else "" if content is None else as_text(content)


def fit_messages(
    messages: list[dict[str, Any]], budget: int, guard: SmartContextGuard | None = None
) -> tuple[list[dict[str, Any]], Window]:
    """``messages`` within ``budget`` tokens, and the guard's window (what it did). The markers that
    keep dropped tool calls and results in place count too: the window is fitted again to what they
    leave, a few times at most. ``ContextBudgetError`` when not even the last user message fits (a
    reply needs the question)."""
    guard = guard if guard is not None else SmartContextGuard()
    parts = message_parts(messages)
    goals = [p.name for p in parts if p.kind is PartKind.GOAL]
    target = budget
    for _ in range(4):
        window = guard.assemble(parts, target)
        kept = {p.name: p.content for p in window.parts}
        if goals and goals[0] not in kept:
            break
        out = _rebuilt(messages, kept)
        over = tokens_of(out, guard) - budget
        if over <= 0:
            return out, window
        target = min(target, window.tokens) - over  # the markers' cost comes out of the window next time
        if target < 1:
            break
    raise ContextBudgetError(
        f"the last user message does not fit a context of {budget} tokens even when everything "
        "else is cut: shorten it or use a model with a larger context"
    )


def _rebuilt(messages: list[dict[str, Any]], kept: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation with the window's contents: a dropped tool call or result as a marker (so
    calls and results still pair up), a dropped plain message left out."""
    out: list[dict[str, Any]] = []
    for message, name in zip(messages, _names(messages), strict=True):
        if name in kept:
            content = kept[name]
            # untouched: the message as it was (an image message stays a list, not its JSON text)
            out.append(message if content == _text(message) else {**message, "content": content})
        elif message.get("role") == "tool" or message.get("tool_calls"):
            out.append({**message, "content": CUT})
    return out


def tokens_of(messages: list[dict[str, Any]], guard: SmartContextGuard | None = None) -> int:
    """The tokens of ``messages`` as the guard counts them."""
    guard = guard if guard is not None else SmartContextGuard()
    return sum(guard.count(p) for p in message_parts(messages))
