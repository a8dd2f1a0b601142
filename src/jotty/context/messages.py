"""Fitting a chat conversation (a list of messages) into a token budget with the guard.

The system prompt counts as instructions, the last user message as the goal, tool messages as
tool results, the rest as history. A dropped plain message leaves the conversation; a dropped tool
message (or an assistant message with tool calls) keeps its place with a short marker, so tool
calls and their results still pair up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from jotty.context.compress import is_content_parts
from jotty.context.guard import ContextBudgetError, SmartContextGuard, Window
from jotty.context.parts import Part, PartKind
from jotty.context.text import as_text

CUT = "[cut to fit the context window]"


def message_parts(messages: list[dict[str, Any]]) -> list[Part]:
    """One part per message, named ``<index>:<role>``, except a tool result: ``tool result <call
    id>`` (while its call id is unique), the name a deduplicated copy points at ("same output as
    tool result call_1"), which the model can follow. Content that is not text is counted as its
    JSON; a list of content parts (text and images) stays a list, which the guard trims by its
    text and then by whole parts, and whose images count by their pixels."""
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
        parts.append(Part(name, _content(message), kind))
    return parts


def _names(messages: list[dict[str, Any]]) -> list[str]:
    calls = Counter(m.get("tool_call_id") for m in messages if m.get("role") == "tool")
    return [
        f"tool result {m['tool_call_id']}"
        if m.get("role") == "tool" and m.get("tool_call_id") and calls[m.get("tool_call_id")] == 1
        else f"{i}:{m.get('role')}"
        for i, m in enumerate(messages)
    ]


def _content(message: dict[str, Any]) -> Any:
    """The message's content for the guard: text, a list of content parts, else its JSON."""
    content = message.get("content")
    if isinstance(content, str) or (isinstance(content, list) and is_content_parts(content)):
        return content
    return "" if content is None else as_text(content)


def fit_messages(
    messages: list[dict[str, Any]], budget: int, guard: SmartContextGuard | None = None
) -> tuple[list[dict[str, Any]], Window]:
    """``messages`` within ``budget`` tokens, and the guard's window (what it did). A dropped tool
    call or result leaves a marker, which counts too: a tool message no dearer than its marker stays
    as it is, and the window is fitted again to what the markers leave, a few times; then, failing
    that, every tool message is cut to its marker. ``ContextBudgetError`` when not even the last user
    message fits beside the markers (a reply needs the question)."""
    guard = guard if guard is not None else SmartContextGuard()
    try:  # the question whole first (a long system prompt is trimmed, not the question dropped)
        return _fit(messages, budget, guard, pin_question=True)
    except ContextBudgetError:
        return _fit(messages, budget, guard, pin_question=False)


def _fit(
    messages: list[dict[str, Any]], budget: int, guard: SmartContextGuard, *, pin_question: bool
) -> tuple[list[dict[str, Any]], Window]:
    tools = [_tool_message(m) for m in messages]
    parts = [
        replace(p, pinned=True)
        if (tool and guard.count(p) <= guard.count(replace(p, content=CUT)))
        or (pin_question and p.kind is PartKind.GOAL)
        else p
        for p, tool in zip(message_parts(messages), tools, strict=True)
    ]
    cut = [
        replace(p, content=CUT, pinned=True) if tool and not p.pinned else p
        for p, tool in zip(parts, tools, strict=True)
    ]
    target = budget
    for attempt in range(ROUNDS + 1):
        last = attempt == ROUNDS
        if not last and target < 1:
            continue
        try:
            window = guard.assemble(cut if last else parts, budget if last else target)
        except ContextBudgetError:
            if last:
                break
            target = 0  # what is pinned is over the target already: go to the last resort
            continue
        kept = {p.name: p.content for p in window.parts}
        if not all(p.name in kept for p in parts if p.kind is PartKind.GOAL):
            if last:
                break
            target = 0  # the question was cut: the markers leave too little, go to the last resort
            continue
        out = _rebuilt(messages, kept)
        over = tokens_of(out, guard) - budget
        if over <= 0:
            return out, window
        target = min(target, window.tokens) - over  # the markers' cost comes out of the window next time
    raise ContextBudgetError(
        f"the last user message does not fit a context of {budget} tokens even when everything "
        "else is cut: shorten it or use a model with a larger context"
    )


ROUNDS = 6
"""How many times ``fit_messages`` fits the window again before it cuts every tool message."""


def _tool_message(message: dict[str, Any]) -> bool:
    """A tool result, or an assistant message with tool calls: dropped, it stays as a marker."""
    return message.get("role") == "tool" or bool(message.get("tool_calls"))


def _rebuilt(messages: list[dict[str, Any]], kept: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation with the window's contents: a dropped tool call or result as a marker (so
    calls and results still pair up), a dropped plain message left out."""
    out: list[dict[str, Any]] = []
    for message, name in zip(messages, _names(messages), strict=True):
        if name in kept:
            content = kept[name]
            # untouched: the message as it was (content that is not text stays itself, not its JSON)
            out.append(message if content == _content(message) else {**message, "content": content})
        elif _tool_message(message):
            out.append({**message, "content": CUT})
    return out


def tokens_of(messages: list[dict[str, Any]], guard: SmartContextGuard | None = None) -> int:
    """The tokens of ``messages`` as the guard counts them."""
    guard = guard if guard is not None else SmartContextGuard()
    return sum(guard.count(p) for p in message_parts(messages))
