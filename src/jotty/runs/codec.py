"""JSON for checkpoints: outputs must round-trip, and a value that cannot is named precisely."""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any

from jotty.errors import RunError


class CheckpointError(RunError):
    """A value cannot be checkpointed (it is not JSON-serialisable)."""


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models checkpoint as their JSON form
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__module__}.{type(value).__qualname__} is not JSON-serialisable")


def _compact_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A reusable compact JSON encoder: ``json.dumps`` builds its C encoder on every call, which
    costs more than encoding the small payloads of a step."""
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=default).encode
    markers: dict[int, Any] = {}
    encode = make(markers, default, _json_encoder.encode_basestring, None, ":", ",", False, False, True)

    def dumps(value: Any) -> str:
        try:
            return "".join(encode(value, 0))
        except BaseException:
            markers.clear()  # an interrupted encoding leaves its containers marked
            raise

    return dumps


_strict = _compact_encoder(_default)
_loose = _compact_encoder(repr)


def dumps(value: Any, what: str) -> str:
    """``value`` as compact JSON; ``CheckpointError`` naming ``what`` when it cannot be."""
    try:
        return _strict(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(
            f"{what} cannot be checkpointed: {exc}. A durable run stores every step's output as "
            "JSON; return dicts, lists, strings, numbers, booleans, None or pydantic models "
            "(or run without store= to keep outputs in memory only)"
        ) from exc


def dumps_loose(value: Any) -> str:
    """JSON for observability data (event payloads): anything not serialisable becomes its repr."""
    try:
        return _loose(value)
    except (ValueError, RecursionError):  # a circular payload
        return _loose(repr(value))


def loads(text: str | None) -> Any:
    """The value of a stored JSON text (``None`` for no text)."""
    return None if text is None else json.loads(text)
