"""Asking a model for text: an agent (anything with ``run``, such as ``LLMAgent``) or a plain or async
callable from prompt to text. Memory's summarizer and the registry's describer take either."""

from __future__ import annotations

import inspect
from typing import Any


async def ask(model: Any, prompt: str) -> str:
    """``model``'s answer to ``prompt``, stripped: an agent's ``run`` output (a failed run raises
    ``RuntimeError``), or what a callable returns (awaited when it is awaitable)."""
    if hasattr(model, "run"):
        result: Any = await model.run(prompt)
        if getattr(result, "error", None):
            raise RuntimeError(str(result.error))
        answer = getattr(result, "output", result)
    else:
        answer = model(prompt)
        if inspect.isawaitable(answer):
            answer = await answer
    return str(answer or "").strip()
