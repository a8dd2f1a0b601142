"""``AgentConfig``: an agent the Conductor may run, what it is for, and who judges its output.

A validator is a callable ``validator(output)`` returning ``True``/``False`` or
``(accepted, reason)``, sync or async. Sync validators run in a worker thread (they may run
tests or read files). A validator that raises, or returns anything else, rejects the output and
says why: the router then learns that this actor's output was not accepted.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from jotty.agents.base import Agent
from jotty.agents.function import FunctionAgent
from jotty.errors import ValidationError
from jotty.patterns.names import check_name, check_unique

logger = logging.getLogger(__name__)

Judgement: TypeAlias = bool | tuple[bool, str]
Validator: TypeAlias = Callable[[Any], Judgement | Awaitable[Judgement]]
"""``validator(output) -> bool | (bool, reason)``, sync or async."""


@dataclass(frozen=True)
class AgentConfig:
    """An actor: a named ``agent`` (an ``Agent``, a flow, or a plain function, wrapped in a
    ``FunctionAgent``), a ``description`` of what it is for, and an optional ``validator`` that
    accepts or rejects its output."""

    name: str
    agent: Agent
    description: str = ""
    validator: Validator | None = None

    def __post_init__(self) -> None:
        where = f"AgentConfig({self.name!r})"
        check_name(self.name, "AgentConfig")
        if not isinstance(self.agent, Agent):
            if not callable(self.agent):
                raise ValidationError(
                    f"{where}: agent must be an Agent (FunctionAgent, CommandAgent, LLMAgent, a flow) "
                    f"or a function, got {type(self.agent).__name__}"
                )
            object.__setattr__(self, "agent", FunctionAgent(self.agent, name=self.name))
        if not isinstance(self.description, str):
            raise ValidationError(f"{where}: description must be a string")
        if self.validator is not None and not callable(self.validator):
            raise ValidationError(
                f"{where}: validator must be a function validator(output) -> bool or (bool, reason), "
                f"got {type(self.validator).__name__}"
            )


def check_actors(actors: Iterable[AgentConfig]) -> tuple[AgentConfig, ...]:
    """``actors`` as a tuple, each an ``AgentConfig``, no name twice."""
    if isinstance(actors, str | bytes | AgentConfig) or not isinstance(actors, Iterable):
        raise ValidationError("actors must be a list of AgentConfig(name, agent, ...)")
    checked = tuple(actors)
    for index, actor in enumerate(checked):
        if not isinstance(actor, AgentConfig):
            raise ValidationError(
                f"actors[{index}] is a {type(actor).__name__}: wrap it as AgentConfig(name, agent, description=...)"
            )
    check_unique((a.name for a in checked), "the Conductor", "actors")
    return checked


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one output."""

    accepted: bool
    reason: str | None = None


async def judge(validator: Validator | None, output: Any, actor: str) -> Verdict:
    """Ask ``validator`` about ``output`` (no validator: accepted)."""
    if validator is None:
        return Verdict(True)
    try:
        if inspect.iscoroutinefunction(validator):
            answer = await validator(output)
        else:
            answer = await asyncio.to_thread(validator, output)
            if inspect.isawaitable(answer):
                answer = await answer
    except Exception as exc:
        logger.warning("the validator of %s raised; the output counts as rejected", actor, exc_info=True)
        return Verdict(False, f"the validator raised {type(exc).__name__}: {exc}")
    if isinstance(answer, bool):
        return Verdict(answer)
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], bool):
        return Verdict(answer[0], None if answer[1] is None else str(answer[1]))
    return Verdict(False, f"the validator returned {answer!r:.80}; it must return True/False or (accepted, reason)")
