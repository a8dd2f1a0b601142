"""Where an ``LLMAgent`` sends its requests: model, base URL and API key, from arguments or environment.

| setting  | argument   | environment (first set wins)              |
|----------|------------|-------------------------------------------|
| model    | ``model``  | ``JOTTY_LLM_MODEL``                        |
| base URL | ``base_url`` | ``JOTTY_LLM_BASE_URL``, ``OPENAI_BASE_URL`` |
| API key  | ``api_key`` | ``JOTTY_LLM_API_KEY``, ``OPENAI_API_KEY``  |

Without a base URL the OpenAI API is used. A local endpoint (a base URL but no key) gets a
placeholder key, since such servers ignore it and the SDK insists on one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from jotty.errors import AgentError

MODEL_VARS = ("JOTTY_LLM_MODEL",)
BASE_URL_VARS = ("JOTTY_LLM_BASE_URL", "OPENAI_BASE_URL")
API_KEY_VARS = ("JOTTY_LLM_API_KEY", "OPENAI_API_KEY")
LOCAL_API_KEY = "not-needed"


@dataclass(frozen=True)
class LLMConfig:
    """A resolved endpoint."""

    model: str
    base_url: str | None
    api_key: str

    def __repr__(self) -> str:
        return f"LLMConfig(model={self.model!r}, base_url={self.base_url!r}, api_key='***')"

    @classmethod
    def resolve(
        cls,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> LLMConfig:
        """Arguments first, then the environment; raise ``AgentError`` naming what to set."""
        env = os.environ if env is None else env
        model = model or _first(env, MODEL_VARS)
        base_url = base_url or _first(env, BASE_URL_VARS)
        api_key = api_key or _first(env, API_KEY_VARS)
        missing = []
        if not model:
            missing.append(f"the model (model=... or {' / '.join(MODEL_VARS)})")
        if not api_key and not base_url:
            missing.append(
                f"an API key (api_key=... or {' / '.join(API_KEY_VARS)}) or, for a local "
                f"OpenAI-compatible server, its URL (base_url=... or {' / '.join(BASE_URL_VARS)})"
            )
        if missing:
            raise AgentError("LLMAgent is not configured: set " + " and ".join(missing))
        assert model is not None
        return cls(model=model, base_url=base_url, api_key=api_key or LOCAL_API_KEY)


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None
