"""JSON for checkpoints: outputs must round-trip, and a value that cannot is named precisely."""

from __future__ import annotations

import json
from typing import Any

from jotty.errors import RunError


class CheckpointError(RunError):
    """A value cannot be checkpointed (it is not JSON-serialisable)."""


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models checkpoint as their JSON form
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__module__}.{type(value).__qualname__} is not JSON-serialisable")


def dumps(value: Any, what: str) -> str:
    """``value`` as compact JSON; ``CheckpointError`` naming ``what`` when it cannot be."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(
            f"{what} cannot be checkpointed: {exc}. A durable run stores every step's output as "
            "JSON; return dicts, lists, strings, numbers, booleans, None or pydantic models "
            "(or run without store= to keep outputs in memory only)"
        ) from exc


def dumps_loose(value: Any) -> str:
    """JSON for observability data (event payloads): anything not serialisable becomes its repr."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)


def loads(text: str | None) -> Any:
    """The value of a stored JSON text (``None`` for no text)."""
    return None if text is None else json.loads(text)
