from __future__ import annotations

import enum
import threading
from typing import Annotated, Any, Literal, Optional

import pytest

from jotty.agents import RunContext, Tool
from jotty.agents.tools import docstring_parts, type_schema
from jotty.errors import ValidationError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@pytest.mark.parametrize(
    ("tp", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (Any, {}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array", "items": {}}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (tuple[str, int], {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
        (set[str], {"type": "array", "items": {"type": "string"}}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (dict, {"type": "object", "additionalProperties": {}}),
        (Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),  # noqa: UP045 - the typing spelling
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, "x"], {"enum": [1, "x"]}),
        (Color, {"type": "string", "enum": ["red", "blue"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (Annotated[int, "how many"], {"type": "integer", "description": "how many"}),
        (
            list[dict[str, list[bool]]],
            {
                "type": "array",
                "items": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "boolean"}}},
            },
        ),
    ],
)
def test_type_schema(tp: Any, schema: dict[str, Any]) -> None:
    assert type_schema(tp) == schema


@pytest.mark.parametrize("tp", [dict[int, str], bytes, complex, threading.Event])
def test_types_without_a_json_schema_are_rejected(tp: Any) -> None:
    with pytest.raises(ValidationError, match="where"):
        type_schema(tp, "where")


def search(query: str, limit: int = 10, *, color: Color | None = None, ctx: RunContext) -> list[str]:
    """Search the catalogue.

    Longer explanation that is not part of the summary.

    Args:
        query: what to look for,
            over two lines
        limit (int): at most this many results
        color: only this color
    """
    return [f"{query}:{limit}:{color.value if color else None}:{ctx.step_path}"]


def test_schema_from_signature_and_docstring() -> None:
    tool = Tool.from_function(search)
    assert tool.name == "search"
    assert tool.description == "Search the catalogue."
    assert tool.ctx_param == "ctx"
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for, over two lines"},
            "limit": {"type": "integer", "description": "at most this many results", "default": 10},
            "color": {
                "anyOf": [{"type": "string", "enum": ["red", "blue"]}, {"type": "null"}],
                "description": "only this color",
                "default": None,
            },
        },
        "required": ["query"],
    }
    assert tool.schema() == {
        "type": "function",
        "function": {"name": "search", "description": "Search the catalogue.", "parameters": tool.parameters},
    }


async def test_call_converts_enums_and_injects_the_context() -> None:
    tool = Tool.from_function(search)
    assert await tool.call({"query": "q", "color": "blue"}, RunContext(step_path="s")) == ["q:10:blue:s"]
    assert await tool.call({"query": "q", "limit": 2}) == ["q:2:None:"]


async def test_sync_tools_run_in_a_thread_and_async_ones_on_the_loop() -> None:
    def where() -> bool:
        return threading.current_thread() is threading.main_thread()

    async def where_async() -> bool:
        return threading.current_thread() is threading.main_thread()

    assert await Tool.from_function(where).call({}) is False
    assert await Tool.from_function(where_async).call({}) is True
    assert Tool.from_function(where_async).is_async


def test_sphinx_docstrings_and_overrides() -> None:
    def fetch(url: str, retries: int = 2) -> str:
        """Fetch a page.

        :param url: the address
        :param int retries: how often to retry
        """
        return url

    summary, params = docstring_parts(fetch.__doc__)
    assert summary == "Fetch a page."
    assert params == {"url": "the address", "retries": "how often to retry"}
    tool = Tool.from_function(fetch, name="get_page", description="Get a web page.")
    assert tool.name == "get_page" and tool.description == "Get a web page."
    assert tool.parameters["properties"]["url"]["description"] == "the address"


def test_unannotated_parameters_accept_anything_and_var_args_are_skipped() -> None:
    def loose(x, *args, **kwargs):  # type: ignore[no-untyped-def]
        return x

    tool = Tool.from_function(loose)
    assert tool.parameters == {"type": "object", "properties": {"x": {}}, "required": ["x"]}
    assert tool.description == ""
    assert "description" not in tool.schema()["function"]


def test_bad_tools_are_rejected() -> None:
    def positional_only(x: int, /) -> int:
        return x

    def bad_type(x: bytes) -> None:
        return None

    with pytest.raises(ValidationError, match="positional-only"):
        Tool.from_function(positional_only)
    with pytest.raises(ValidationError, match="tool 'bad_type' parameter 'x'"):
        Tool.from_function(bad_type)
    with pytest.raises(ValidationError, match="must be a function"):
        Tool.from_function(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not allowed"):
        Tool.from_function(bad_type, name="has space")


async def test_arguments_of_the_wrong_shape_are_clear_errors_before_the_call() -> None:
    called: list[Any] = []

    def read(name: str, limit: int = 20, path: Optional[str] = None, ratio: float = 0.5) -> str:  # noqa: UP045
        called.append((name, limit, path, ratio))
        return "ok"

    tool = Tool.from_function(read)
    for arguments, message in (
        ({"name": "a", "limit": "5"}, "'limit' must be a whole number, got str '5'"),
        ({"name": "a", "limit": None}, "'limit' must be a whole number, got NoneType None"),
        ({"name": "a", "limit": True}, "'limit' must be a whole number, got bool True"),
        ({"name": "a", "path": 3}, "'path' must be a string or null, got int 3"),
        ({"name": "a", "bogus": 1}, "tool 'read' has no parameter 'bogus': its parameters are"),
        ({"limit": 5}, "tool 'read' needs 'name' (its required parameters: ['name'])"),
    ):
        with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            await tool.call(arguments)
    assert called == []
    assert await tool.call({"name": "a", "limit": 5, "path": None, "ratio": 1}) == "ok"  # an int is a number

    def loose(name: str, **more: Any) -> str:
        return f"{name} {sorted(more)}"

    assert await Tool.from_function(loose).call({"name": "x", "extra": 1}) == "x ['extra']"


async def test_a_hand_written_schema_may_list_several_types() -> None:
    tool = Tool(
        name="pick",
        description="",
        parameters={"type": "object", "properties": {"n": {"type": ["integer", "null"]}}, "required": []},
        fn=lambda n=None: n,
    )
    assert await tool.call({"n": 3}) == 3 and await tool.call({"n": None}) is None
    with pytest.raises(ValidationError, match="'n' must be a whole number or null, got str"):
        await tool.call({"n": "3"})
