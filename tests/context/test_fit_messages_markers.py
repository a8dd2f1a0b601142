"""fit_messages finds the fit that exists: it raised "the last user message does not fit" when
four assemblies were not enough (each smaller window dropped more tool messages, whose markers cost
more than they saved); a review's finding, fixed by keeping cheap tool messages and, last, cutting
every tool message to its marker."""

from __future__ import annotations

import random
from typing import Any

import pytest

from jotty.context.guard import ContextBudgetError
from jotty.context.messages import CUT, fit_messages, tokens_of

WORDS = ["north", "sales", "grew", "report", "quarter", "the", "tool", "result", "Lisbon", "rows"]


def conversation(rng: random.Random) -> list[dict[str, Any]]:
    said = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))  # noqa: E731
    messages: list[dict[str, Any]] = [{"role": "system", "content": said(rng.randint(1, 20))}]
    for turn in range(rng.randint(1, 12)):
        messages.append({"role": "user", "content": said(rng.randint(1, 40))})
        for k in range(rng.randint(0, 4)):
            call, fn = f"c{turn}_{k}", {"name": "q", "arguments": "{}"}
            content = rng.choice([None, said(rng.randint(1, 10))])
            messages.append(
                {
                    "role": "assistant",
                    "content": content,
                    "tool_calls": [{"id": call, "type": "function", "function": fn}],
                }
            )
            messages.append({"role": "tool", "tool_call_id": call, "content": said(rng.randint(1, 120))})
        messages.append({"role": "assistant", "content": said(rng.randint(1, 60))})
    messages.append({"role": "user", "content": said(rng.randint(1, 10))})
    return messages


def everything_cut(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A fit fit_messages could return: the system prompt, the question, a marker per tool message."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    out = []
    for i, m in enumerate(messages):
        if m["role"] == "system" or i == last_user:
            out.append(m)
        elif m["role"] == "tool" or (m.get("tool_calls") and m.get("content")):
            out.append({**m, "content": CUT})
        elif m.get("tool_calls"):
            out.append(m)
    return out


@pytest.mark.parametrize(("seed", "budget"), [(97, 157), (50, 482), (76, 289)])
def test_fit_messages_finds_the_fit_that_exists(seed: int, budget: int) -> None:
    messages = conversation(random.Random(seed))
    assert tokens_of(everything_cut(messages)) <= budget  # a fit exists
    try:
        fitted, _ = fit_messages(messages, budget)
    except ContextBudgetError as exc:
        pytest.fail(f"raised although {tokens_of(everything_cut(messages))} <= {budget} tokens fit: {exc}")
    assert tokens_of(fitted) <= budget
