"""fit_messages trims a message whose content is a list of parts (text and an image) by its text
parts, and drops non-text parts whole when that is not enough: it cut the list's JSON, and sent
the fragment as the message's content (a string an OpenAI-compatible provider misreads or refuses)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from jotty.agents import LLMAgent, RunContext
from jotty.context import Part, PartKind, SmartContextGuard
from jotty.context.guard import ContextBudgetError
from jotty.context.messages import CUT, fit_messages, tokens_of
from tests.context.test_fit_messages_markers import everything_cut
from tests.support.openai_server import OpenAIServer

REPORT = "The north region grew by twelve percent while the south held steady all year. "
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "iVBORw0KGgo" * 12, "detail": "low"}}
"""85 tokens (low detail), whatever its bytes: see test_image_tokens.py for sizes read from them."""


def chart_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}, IMAGE]}


def conversation(chart: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "Answer briefly."},
        chart,
        {"role": "assistant", "content": "It shows the regions."},
        {"role": "user", "content": "Which region grew?"},
    ]


def valid_parts(content: Any, original: list[dict[str, Any]]) -> None:
    """``content`` is a list of parts: text parts with text, the others as they were."""
    assert isinstance(content, list) and content, content
    for part in content:
        assert isinstance(part, dict), content
        if part.get("type") == "text":
            assert isinstance(part.get("text"), str) and set(part) == {"type", "text"}, part
        else:
            assert part in original, part


@pytest.mark.parametrize("text", [REPORT * 30, "north-region-grew " * 150])
def test_a_trimmed_image_message_keeps_its_image_and_a_shorter_text(text: str) -> None:
    messages = conversation(chart_message(text))
    fitted, window = fit_messages(messages, 250)  # the image fits (85 tokens), the text must shrink
    assert tokens_of(fitted) <= 250
    [chart] = [m for m in fitted if m["role"] == "user" and m is not fitted[-1]]
    # found: a string; of sentences, their summary (the image gone); else the list's JSON cut in
    # the middle: '[{"type": "text", "text": "north-region-grew ... [... 250 tokens cut ...] ...KGgo"}}]'
    valid_parts(chart["content"], messages[1]["content"])
    assert chart["content"][1] == IMAGE
    kept = chart["content"][0]["text"]
    assert len(kept) < len(text) and kept.startswith(text[:16]) and kept.endswith(text[-16:])
    assert [a.action for a in window.actions if a.part == "1:user"] == ["trim"]


def test_an_image_that_does_not_fit_goes_whole_and_the_report_says_so() -> None:
    messages = conversation(chart_message(REPORT * 30))
    fitted, window = fit_messages(messages, 90)  # less than the image alone
    assert tokens_of(fitted) <= 90
    chart = next(m for m in fitted if m["role"] == "user")
    assert chart is not fitted[-1], fitted
    valid_parts(chart["content"], messages[1]["content"])
    assert IMAGE not in chart["content"] and chart["content"][0]["text"].startswith("The north region")
    actions = {a["part"]: a["action"] for a in window.event()["actions"]}
    assert actions["1:user"] == "drop_non_text", actions


def test_the_guard_keeps_content_parts_a_list_and_never_touches_pinned_ones() -> None:
    parts = [{"type": "text", "text": REPORT * 40}, IMAGE, {"type": "text", "text": "What does it show?"}]
    pinned = [{"type": "text", "text": REPORT * 3}, IMAGE]
    window = SmartContextGuard().assemble(
        [
            Part("goal", "Describe.", PartKind.GOAL),
            Part("chart", parts, PartKind.HISTORY),
            Part("fig", pinned, pinned=True),
        ],
        400,
    )
    assert window.tokens <= 400
    kept = window.data()
    valid_parts(kept["chart"], parts)
    assert kept["chart"][1:] == parts[1:]  # the short text stays whole: the long one is cut first
    assert kept["fig"] is pinned


def test_random_image_conversations_fit_with_valid_parts() -> None:
    """Over random conversations and budgets: within the budget, every message that had a list of
    parts still has one (or is a tool marker), and the question, when it fits whole, is as it was."""
    bad = []
    for seed in range(150):
        rng = random.Random(seed)
        messages: list[dict[str, Any]] = [{"role": "system", "content": REPORT * rng.randint(0, 3) or "Be brief."}]
        for turn in range(rng.randint(1, 4)):
            text = REPORT * rng.randint(0, 25)
            parts = [{"type": "text", "text": text}] if text else []
            parts += [IMAGE] * rng.randint(0, 2) + [{"type": "text", "text": "Look."}] * rng.randint(0, 1)
            messages.append({"role": "user", "content": parts or [IMAGE]})
            if rng.random() < 0.3:
                call = {"id": f"c{turn}", "type": "function", "function": {"name": "q", "arguments": "{}"}}
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
                tool = [{"type": "text", "text": REPORT * rng.randint(1, 20)}]
                messages.append({"role": "tool", "tool_call_id": f"c{turn}", "content": tool})
            messages.append({"role": "assistant", "content": REPORT * rng.randint(0, 5) or "Yes."})
        messages.append(chart_message("Which region grew?") if rng.random() < 0.5 else chart_message(REPORT * 8))
        budget = rng.randint(60, max(61, tokens_of(messages)))
        try:
            fitted, _ = fit_messages(messages, budget)
        except ContextBudgetError:
            continue
        if tokens_of(fitted) > budget:
            bad.append((seed, "over", tokens_of(fitted), budget))
        for message in fitted:  # users and tools had lists of parts here
            if message["role"] in ("user", "tool") and message["content"] != CUT:
                try:
                    valid_parts(message["content"], [IMAGE])
                except AssertionError as exc:
                    bad.append((seed, "parts", str(exc)[:200]))
        if tokens_of(everything_cut(messages)) <= budget and fitted[-1] != messages[-1]:
            bad.append((seed, "question changed", budget))
    assert bad == [], bad[:5]


async def test_a_context_retry_sends_a_trimmed_image_message_as_parts() -> None:
    """Through an LLMAgent against the test server: the refused request is compressed and sent
    again; the image message in the history is still a list with its image."""
    history = [
        {"role": "user", "content": "Describe the sales data."},
        {"role": "assistant", "content": "It shows sales by region and quarter. " * 40},  # goes first
        chart_message(REPORT * 12),  # then this is trimmed
    ]
    with OpenAIServer(context_limit=150) as server:
        agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01)
        result = await agent.run("Which region grew?", RunContext(data={"history": history}))
        assert result.ok, result.error
        first, second = server.completions
    assert first.messages[2]["content"] == history[2]["content"]
    [sent] = [m for m in second.messages if m["role"] == "user" and m["content"] != "Which region grew?"]
    # found: a string, the summary of the list's JSON (its image gone)
    valid_parts(sent["content"], history[2]["content"])
    assert IMAGE in sent["content"]


def test_a_message_keeps_its_repeated_parts_while_another_is_cut() -> None:
    """A label said before each of two images is not a repeat to remove: the window was over budget
    for another message, and the guard's deduplication took this one's second label."""
    other = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "R0lGODlh" * 12, "detail": "low"}}
    labelled = [{"type": "text", "text": "Chart:"}, IMAGE, {"type": "text", "text": "Chart:"}, other]
    messages = [
        {"role": "assistant", "content": REPORT * 30},  # compressed first: the oldest
        {"role": "user", "content": labelled},
        {"role": "user", "content": "Which region grew?"},
    ]
    fitted, window = fit_messages(messages, 400)
    assert tokens_of(fitted) <= 400
    # found: [{'type': 'text', 'text': 'Chart:'}, {... iVBORw0KGgo ...}, {... R0lGODlh ...}], a dedupe
    assert fitted[1] is messages[1], [a.to_dict() for a in window.actions]
