"""Bad definitions fail at construction with a JottyError that says what is wrong and how to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from jotty.errors import JottyError
from jotty.patterns import Chain, Fallback, Retry, Step
from tests.patterns.helpers import agent


def fn(x: Any) -> Any:
    return x


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Chain([]), "is empty: give it at least one step"),
        (lambda: Chain("fetch"), "give a list of steps"),
        (lambda: Chain([fn]), "item 0 is a function, not a Step or an Agent; wrap a function in FunctionAgent"),
        (lambda: Chain([agent("a")[0], agent("a")[0]]), "two steps named 'a'"),
        (lambda: Chain([Step(agent("x")[0], name="a"), Step(agent("y")[0], name="a")]), "two steps named 'a'"),
        (lambda: Step(agent("a")[0], name="a/b"), "contains '/'"),
        (lambda: Step(agent("a")[0], name=""), "non-empty string"),
        (lambda: Step(fn), "needs an Agent or a flow, got function"),  # type: ignore[arg-type]
        (lambda: Step(agent("a")[0], on_error="retry"), "is not an error strategy"),  # type: ignore[arg-type]
        (lambda: Step(agent("a")[0], timeout=-1), "timeout=-1"),
        (lambda: Step(agent("a")[0], output=42), "42 is not a contract"),
        (lambda: Retry(0), "max_attempts=0"),
        (lambda: Retry(2, backoff=-1), "backoff"),
        (lambda: Fallback(fn), "Fallback needs an Agent"),  # type: ignore[arg-type]
        (lambda: Chain([agent("a")[0]], name="x/y"), "contains '/'"),
    ],
)
def test_bad_definitions(build: Any, message: str) -> None:
    with pytest.raises(JottyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_the_callers_steps_are_not_changed() -> None:
    a, _ = agent("a")
    step = Step(a)
    Chain([step])
    assert step.name is None
