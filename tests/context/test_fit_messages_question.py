"""fit_messages keeps the question whole and trims a long system prompt instead (it dropped the
question and raised, though the question fitted beside the markers); an empty plain message is not
pinned (a review's findings)."""

from __future__ import annotations

from jotty.context.messages import fit_messages, tokens_of


def test_a_long_system_prompt_does_not_cost_the_question() -> None:
    # nothing but a long system prompt and a short question: the question alone is ~12 tokens
    messages = [
        {"role": "system", "content": "You are a careful analyst. " * 200},
        {"role": "user", "content": "What were the sales in Lisbon last quarter?"},
    ]
    assert tokens_of(messages[1:]) <= 60  # the question fits, with room to spare
    fitted, _ = fit_messages(messages, 60)  # raised ContextBudgetError: the goal was dropped, the system prompt trimmed
    assert fitted[-1] == messages[-1]
    assert tokens_of(fitted) <= 60


def test_an_empty_plain_message_is_not_pinned() -> None:
    # an assistant reply that said nothing (no tool calls): dropping it costs no marker
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": "Hello, how can I help you today with your reports?"},
        {"role": "user", "content": "sales in Lisbon"},
    ]
    alone = tokens_of(messages[-1:])
    fitted, _ = fit_messages(messages, alone)  # raised: the two empty messages are pinned (7-8 tokens each)
    assert fitted == messages[-1:]
