"""Turn pydantic's validation errors into ``SpecError`` messages that point into the file.

Pydantic locates an error by a ``loc`` tuple of field names, list indexes and union tags
(``("flow", "pattern:chain", "steps", 0, "agent", "agent:function", "function")``). The tags are
dropped to get the data path, whose key has a line and column in the ``Source``.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

import pydantic

from jotty.spec.agents import AGENT_KINDS
from jotty.spec.base import SpecModel
from jotty.spec.errors import Path, Pos, SpecError
from jotty.spec.models import PATTERNS, STRATEGIES, TAGGED, FlowSpec
from jotty.spec.source import Source, child

Loc = tuple[int | str, ...]


def spec_error(exc: pydantic.ValidationError, source: Source) -> SpecError:
    """One ``SpecError`` for all of ``exc``'s problems: the first in the file is the message."""
    problems: list[tuple[tuple[int, int], SpecError]] = []
    seen: set[str] = set()
    for err in exc.errors():
        problem = _problem(err, source)
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(((problem.line, problem.column), problem))
    problems.sort(key=lambda item: item[0])
    first = problems[0][1]
    more = len(problems) - 1
    message = str(first) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
    return SpecError(message, first.source, Pos(first.line, first.column), first.key, [str(p) for _, p in problems])


def data_path(loc: Loc, data: Any) -> Path:
    """The part of ``loc`` that walks through ``data`` (union tags and missing keys dropped)."""
    path: list[str | int] = []
    value = data
    for part in loc:
        found, inner = child(value, part)
        if found:
            value = inner
            path.append(part)
    return tuple(path)


def _problem(err: Any, source: Source) -> SpecError:
    loc: Loc = tuple(err["loc"])
    kind: str = err["type"]
    path = data_path(loc, source.data)
    if kind == "extra_forbidden":
        return _unknown_key(loc, path, source)
    if kind == "missing":
        return _missing(loc, path, source)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _bad_tag(err, path, source)
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind in ("literal_error", "enum"):
        message += f", got {_show(err.get('input'))}"
    return source.error(path, message)


def _unknown_key(loc: Loc, path: Path, source: Source) -> SpecError:
    key = str(path[-1])
    model = model_at(loc[:-1])
    if model is None:
        return source.error(path, f"unknown key {key!r}")
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return source.error(path, f"unknown key {key!r} in {_what(model)}{hint} (allowed: {', '.join(allowed)})")


def _missing(loc: Loc, path: Path, source: Source) -> SpecError:
    key = str(loc[-1])
    model = model_at(loc[:-1])
    about = ""
    if model is not None and key in model.model_fields:
        description = model.model_fields[key].description
        if description:
            first = description.split(".")[0].rstrip(":").strip()
            about = f" ({first[:1].lower()}{first[1:]})"
    where = f" in {_what(model)}" if model is not None else ""
    return source.error(path, f"missing required key {key!r}{where}{about}")


def _bad_tag(err: Any, path: Path, source: Source) -> SpecError:
    """An unknown or absent ``kind``, ``pattern`` or ``strategy`` (told apart by the discriminator)."""
    union = str((err.get("ctx") or {}).get("discriminator", ""))
    value = source.get(path)
    patterns = ", ".join(PATTERNS)
    if union.startswith("_strategy_tag"):
        if isinstance(value, str) or (isinstance(value, dict) and "strategy" in value):
            return _choice(source, path, value, "strategy", "error strategy", list(STRATEGIES))
        if isinstance(value, dict):
            return source.error(path, f"missing required key 'strategy' (one of: {', '.join(STRATEGIES)})")
        return source.error(
            path,
            f"expected an error strategy ({', '.join(STRATEGIES)}, or a mapping with strategy:), got {_show(value)}",
        )
    if isinstance(value, dict) and "pattern" in value:
        return _choice(source, path, value, "pattern", "pattern", list(PATTERNS))
    if union.startswith("_pattern_tag"):
        if isinstance(value, dict) and "kind" in value:
            return source.error(
                path,
                f"the flow must be a pattern, not an agent (kind: {value['kind']}): add 'pattern:' "
                f"(one of: {patterns}), e.g. a chain whose one step runs the agent",
            )
        if isinstance(value, dict):
            return source.error(path, f"missing required key 'pattern' (one of: {patterns})")
        return source.error(path, f"expected a flow (a mapping with pattern:, one of: {patterns}), got {_show(value)}")
    if isinstance(value, dict) and "kind" in value:
        return _choice(source, path, value, "kind", "agent kind", list(AGENT_KINDS))
    if isinstance(value, dict):
        return source.error(
            path,
            f"missing required key 'kind' (an agent: {', '.join(AGENT_KINDS)}) or 'pattern' (a flow: {patterns})",
        )
    return source.error(
        path,
        "expected an agent (a mapping with kind:), a flow (a mapping with pattern:) or the name of "
        f"an agent under agents:, got {_show(value)}",
    )


def _choice(source: Source, path: Path, value: Any, key: str, what: str, known: list[str]) -> SpecError:
    given = value.get(key) if isinstance(value, dict) else value
    at = (*path, key) if isinstance(value, dict) else path
    close = difflib.get_close_matches(str(given), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return source.error(at, f"unknown {what} {_show(given)}{hint} (use one of: {', '.join(known)})")


def _show(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else f"{text[:57]}..."
    return f"{text} ({type(value).__name__})" if not isinstance(value, str) else text


def _what(model: type[SpecModel]) -> str:
    """A model as users know it: ``a chain``, ``a function agent``, ``a retry strategy``, ``a step``."""
    for tag, tagged in TAGGED.items():
        if tagged is model:
            group, _, name = tag.partition(":")
            return {"agent": f"a {name} agent", "pattern": f"a {name}", "strategy": f"a {name} strategy"}[group]
    label = model.__name__.removesuffix("Spec").lower()
    return "the document" if label == "flow" else f"a {label}"


def model_at(loc: Loc) -> type[SpecModel] | None:
    """The model that validates the value at ``loc`` (``None`` when ``loc`` leads elsewhere)."""
    current: Any = FlowSpec
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return None
    current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, SpecModel) else None


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _descend(tp: Any, part: int | str) -> Any:
    if isinstance(part, str) and part in TAGGED:
        return TAGGED[part]
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, SpecModel):
        field = tp.model_fields.get(str(part))
        return None if field is None else field.annotation
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict and isinstance(part, str):
        return args[1]
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            found = _descend(arm, part)
            if found is not None:
                return found
    return None
