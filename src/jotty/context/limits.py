"""Context limits per model: a table the user can extend (``MODEL_LIMITS.register``)."""

from __future__ import annotations

from jotty.errors import ValidationError


class ModelLimits:
    """Context window sizes (in tokens) by model name. A name matches an entry exactly, else by the
    longest entry that it starts with (``gpt-4o-2024-08-06`` matches ``gpt-4o``; a family registered
    as ``llama`` covers ``llama3.1:8b``). A model that starts like a smaller one but is not (``gpt-4-32k``,
    ``llama3.2``) needs its own entry, as the built-in table has."""

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self._limits: dict[str, int] = {}
        for model, tokens in (limits or {}).items():
            self.register(model, tokens)

    def register(self, model: str, tokens: int) -> None:
        """Set the context size of ``model`` (or of every model whose name starts with it)."""
        if not isinstance(model, str) or not model.strip():
            raise ValidationError(f"a model name must be a non-empty string, got {model!r}")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise ValidationError(f"the context limit of {model!r} must be a positive number of tokens, got {tokens!r}")
        self._limits[model.strip()] = tokens

    def limit(self, model: str | None) -> int | None:
        """The context size of ``model``, or ``None`` when the table does not know it."""
        if not model:
            return None
        if model in self._limits:
            return self._limits[model]
        best = max((m for m in self._limits if model.startswith(m)), key=len, default=None)
        return None if best is None else self._limits[best]

    def as_dict(self) -> dict[str, int]:
        return dict(self._limits)


MODEL_LIMITS = ModelLimits(
    {
        "gpt-4o": 128_000,
        "gpt-4o-mini": 128_000,
        "gpt-4.1": 1_047_576,
        "gpt-4.5": 128_000,
        "gpt-4-turbo": 128_000,
        "gpt-4-0125-preview": 128_000,
        "gpt-4-1106-preview": 128_000,
        "gpt-4-vision-preview": 128_000,
        "gpt-4-32k": 32_768,
        "gpt-4": 8_192,
        "gpt-3.5-turbo": 16_385,
        "o1": 200_000,
        "o3": 200_000,
        "o4-mini": 200_000,
        "claude-3": 200_000,
        "claude-sonnet-4": 200_000,
        "claude-opus-4": 200_000,
        "llama3": 8_192,
        "llama3.1": 131_072,
        "llama3.2": 131_072,
        "llama3.3": 131_072,
        "mistral": 32_768,
        "qwen2.5": 32_768,
        "qwen2.5vl": 128_000,
        "qwen3": 40_960,
        "mistral-large": 131_072,
        "mistral-large-2402": 32_768,
        "mistral-small": 131_072,
        "mistral-small-2402": 32_768,
        "llama4": 1_048_576,
    }
)
"""The built-in table; ``MODEL_LIMITS.register("my-model", 32_000)`` extends it for the process."""
