"""An LLM summarizer for the guard, made from any agent (an ``LLMAgent`` usually)."""

from __future__ import annotations

from typing import Any

from jotty.context.guard import Summarizer
from jotty.errors import ValidationError

PROMPT = (
    "Summarize the text below in at most {tokens} tokens. Keep names, numbers and decisions; "
    "answer with the summary only.\n\n{text}"
)


def agent_summarizer(agent: Any, prompt: str = PROMPT) -> Summarizer:
    """A summarizer that asks ``agent`` (``await agent.run(prompt)``); a failed run raises, and
    the guard then summarizes extractively. The guard checks the answer's length itself."""
    if not callable(getattr(agent, "run", None)):
        raise ValidationError(f"agent_summarizer needs an agent with run(), got {type(agent).__name__}")

    async def summarize(text: str, max_tokens: int) -> str:
        result = await agent.run(prompt.format(tokens=max_tokens, text=text))
        text_out = result.output.strip() if result.ok and isinstance(result.output, str) else ""
        if not text_out:
            raise RuntimeError(f"the summarizer agent gave no summary: {result.error or 'empty answer'}")
        return text_out

    return summarize
