"""Python functions as LLM tools: a JSON schema from type hints and docstring, and a safe call.

``Tool.from_function(fn)`` reads ``fn``'s signature once. Supported parameter types: ``str``,
``int``, ``float``, ``bool``, ``None``, ``list[...]``/``tuple[...]``/``set[...]``, ``dict[str, ...]``,
``Optional``/unions, ``Literal``, ``Enum`` subclasses, ``Any`` and ``Annotated[T, "description"]``.
A parameter with a default value is not required. A parameter annotated ``RunContext`` receives
the run's context and is not shown to the model. Parameter descriptions come from a Google style
``Args:`` section or Sphinx ``:param name:`` lines of the docstring.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import RunContext
from jotty.errors import ValidationError

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARRAYS = (list, tuple, set, frozenset, Sequence, typing.Sequence)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def type_schema(tp: Any, where: str = "type") -> dict[str, Any]:
    """The JSON schema of the Python type ``tp``; ``where`` names it in error messages."""
    if tp is Any or tp is inspect.Parameter.empty:
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [member.value for member in tp]
        return {**_literal_type(values), "enum": values}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        schema = type_schema(args[0], where)
        notes = [a for a in args[1:] if isinstance(a, str)]
        return {**schema, "description": " ".join(notes)} if notes else schema
    if origin is typing.Literal:
        return {**_literal_type(list(args)), "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [type_schema(a, where) for a in args]
        return {"anyOf": options}
    if tp in _ARRAYS or origin in _ARRAYS:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {"type": "array", "prefixItems": [type_schema(a, where) for a in args]}
        item = args[0] if args else Any
        return {"type": "array", "items": type_schema(item, where)}
    if tp in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping):
        if args and args[0] is not str:
            raise ValidationError(f"{where}: JSON object keys are strings, so use dict[str, ...], not {tp}")
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": type_schema(value, where)}
    raise ValidationError(
        f"{where}: type {tp!r} has no JSON schema; use str, int, float, bool, list, dict, Optional, Literal or an Enum"
    )


def _literal_type(values: list[Any]) -> dict[str, Any]:
    kinds = {_SCALARS.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop()}
    return {}


def docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary (first paragraph) and per-parameter descriptions."""
    text = inspect.cleandoc(doc or "")
    summary = text.split("\n\n", 1)[0].replace("\n", " ").strip()
    params: dict[str, str] = {}
    for match in re.finditer(r"^:param\s+(?:[\w\[\], |]+\s+)?(\w+):\s*(.+)$", text, re.MULTILINE):
        params[match.group(1)] = match.group(2).strip()
    section = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.*\n?|\s*\n)+)", text, re.MULTILINE)
    if section:
        current = None
        for line in section.group(1).splitlines():
            entry = re.match(r"^\s{1,8}(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$", line)
            if entry:
                current = entry.group(1).lstrip("*")
                params[current] = entry.group(2).strip()
            elif current and line.strip():
                params[current] = f"{params[current]} {line.strip()}".strip()
    return summary, params


@dataclass(frozen=True)
class Tool:
    """A Python function the model may call, with the JSON schema the model sees."""

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False)
    is_async: bool = False
    ctx_param: str | None = None
    enums: dict[str, type[enum.Enum]] = field(default_factory=dict, repr=False)
    more: bool = False
    """Whether the function takes arguments beyond its named parameters (``**kwargs``)."""

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool:
        """Describe ``fn`` as a tool; raise ``ValidationError`` when a parameter has no schema."""
        if isinstance(fn, Tool):
            return fn
        if not callable(fn):
            raise ValidationError(f"a tool must be a function, got {type(fn).__name__}: {fn!r}")
        tool_name = name or getattr(fn, "__name__", None) or type(fn).__name__
        if not _NAME.match(tool_name):
            raise ValidationError(
                f"tool name {tool_name!r} is not allowed: use 1-64 letters, digits, '_' or '-' (pass name=...)"
            )
        try:
            signature = inspect.signature(fn)
            hints = _type_hints(fn)
        except (TypeError, ValueError, NameError) as exc:
            raise ValidationError(f"tool {tool_name!r}: cannot read its signature: {exc}") from exc
        summary, param_docs = docstring_parts(inspect.getdoc(fn))
        properties: dict[str, Any] = {}
        required: list[str] = []
        ctx_param = None
        enums: dict[str, type[enum.Enum]] = {}
        more = False
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                more = more or param.kind is param.VAR_KEYWORD
                continue
            if param.kind is param.POSITIONAL_ONLY:
                raise ValidationError(
                    f"tool {tool_name!r}: parameter {param.name!r} is positional-only; tools are "
                    "called with keyword arguments"
                )
            hint = hints.get(param.name, param.annotation)
            if hint is RunContext or hint == "RunContext":
                ctx_param = param.name
                continue
            schema = type_schema(hint, f"tool {tool_name!r} parameter {param.name!r}")
            if param.name in param_docs and "description" not in schema:
                schema["description"] = param_docs[param.name]
            if param.default is param.empty:
                required.append(param.name)
            elif _jsonable(param.default):
                schema["default"] = _plain(param.default)
            enum_type = _enum_in(hint)
            if enum_type is not None:
                enums[param.name] = enum_type
            properties[param.name] = schema
        parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        return cls(
            name=tool_name,
            description=description if description is not None else summary,
            parameters=parameters,
            fn=fn,
            is_async=_is_async_callable(fn),
            ctx_param=ctx_param,
            enums=enums,
            more=more,
        )

    def schema(self) -> dict[str, Any]:
        """The ``tools`` entry of a chat-completions request."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    async def call(self, arguments: Mapping[str, Any], ctx: RunContext | None = None) -> Any:
        """Call the function with ``arguments``: async ones awaited, sync ones in a worker thread.
        Arguments the function does not take, missing ones and values of the wrong JSON type are a
        ``ValidationError`` saying which (``LLMAgent`` hands it to the model, which can correct it)."""
        self.check(arguments)
        kwargs = dict(arguments)
        for key, enum_type in self.enums.items():
            if key in kwargs and kwargs[key] is not None and not isinstance(kwargs[key], enum_type):
                kwargs[key] = enum_type(kwargs[key])
        if self.ctx_param is not None:
            kwargs[self.ctx_param] = ctx if ctx is not None else RunContext()
        if self.is_async:
            return await self.fn(**kwargs)
        result = await asyncio.to_thread(self.fn, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    def check(self, arguments: Mapping[str, Any]) -> None:
        """Raise ``ValidationError`` unless ``arguments`` fit the parameters' schema (top-level
        names and JSON types; what is inside lists and objects is the function's to check)."""
        properties: dict[str, Any] = self.parameters.get("properties", {})
        unknown = sorted(set(arguments) - set(properties))
        if unknown and not self.more:
            raise ValidationError(
                f"tool {self.name!r} has no parameter {unknown[0]!r}: its parameters are {sorted(properties)}"
            )
        required = self.parameters.get("required", [])
        missing = [name for name in required if name not in arguments]
        if missing:
            raise ValidationError(f"tool {self.name!r} needs {missing[0]!r} (its required parameters: {required})")
        for name, value in arguments.items():
            schema = properties.get(name)
            if schema is not None and not _fits(value, schema):
                got = f"{type(value).__name__} {value!r:.60}"
                raise ValidationError(f"tool {self.name!r}: {name!r} must be {_expected(schema)}, got {got}")


_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": int | float,
    "boolean": bool,
    "array": list | tuple,
    "object": dict,
    "null": type(None),
}


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``value`` has the JSON type ``schema`` asks for (any, if it names none)."""
    if "anyOf" in schema:
        return any(_fits(value, option) for option in schema["anyOf"])
    kind = schema.get("type")
    if kind is None:
        return True
    if isinstance(kind, list):  # a hand-written schema may list several types
        return any(_fits(value, {"type": one}) for one in kind)
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES.get(kind, object))


def _expected(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_expected(option) for option in schema["anyOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_expected({"type": one}) for one in kind)
    return {"integer": "a whole number", "number": "a number", "null": "null"}.get(kind or "", f"a {kind}")


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - a callable object's method
    return typing.get_type_hints(target, include_extras=True)


def _is_async_callable(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - we want the bound __call__ of objects
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _enum_in(hint: Any) -> type[enum.Enum] | None:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        found = [e for e in map(_enum_in, typing.get_args(hint)) if e is not None]
        return found[0] if len(found) == 1 else None
    return None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _jsonable(value: Any) -> bool:
    value = _plain(value)
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def as_tools(fns: Sequence[Callable[..., Any] | Tool]) -> dict[str, Tool]:
    """Tools by name; raise ``ValidationError`` on two tools with one name."""
    tools: dict[str, Tool] = {}
    for fn in fns:
        tool = fn if isinstance(fn, Tool) else Tool.from_function(fn)
        if tool.name in tools:
            raise ValidationError(f"two tools are named {tool.name!r}: give one of them name=... via Tool")
        tools[tool.name] = tool
    return tools
