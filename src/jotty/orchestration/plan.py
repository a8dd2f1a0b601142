"""``Plan``: which actors a Conductor runs, and how (a static order, or a routed choice)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from jotty.errors import ValidationError
from jotty.orchestration.actors import AgentConfig

Mode = Literal["static", "dynamic"]
MODES: tuple[Mode, ...] = ("static", "dynamic")


@dataclass(frozen=True)
class Plan:
    """``static``: run ``order`` as a chain. ``dynamic``: the router picks among ``order`` (the
    candidates) one step at a time. ``actors`` holds every actor by name."""

    mode: Mode
    actors: Mapping[str, AgentConfig]
    order: tuple[str, ...]


def check_mode(mode: object) -> Mode:
    """``mode`` if it is ``static`` or ``dynamic``."""
    for known in MODES:
        if mode == known:
            return known
    raise ValidationError(f"mode must be 'static' (a fixed order) or 'dynamic' (learned routing), got {mode!r}")


def make_plan(
    mode: object,
    actors: Sequence[AgentConfig],
    flow_actor: AgentConfig | None,
    agent_order: Sequence[str] | None,
) -> Plan:
    """The plan for ``mode``: ``agent_order`` (default: every actor, in order) is the static chain
    or the dynamic candidates. In static mode a flow runs alone."""
    checked = check_mode(mode)
    everyone = [*actors, flow_actor] if flow_actor is not None else list(actors)
    by_name = {a.name: a for a in everyone}
    if not everyone:
        raise ValidationError("the Conductor has nothing to run: give actors=[AgentConfig(name, agent), ...] or flow=")
    if checked == "static" and flow_actor is not None:
        if actors or agent_order is not None:
            raise ValidationError(
                "in static mode flow= runs the flow alone: drop actors/agent_order, put the actors in the "
                "flow, or use mode='dynamic' to let the router choose between the flow and the actors"
            )
        return Plan(checked, by_name, (flow_actor.name,))
    if agent_order is None:
        return Plan(checked, by_name, tuple(by_name))
    if isinstance(agent_order, str) or not isinstance(agent_order, Sequence) or not agent_order:
        raise ValidationError(f"agent_order must be a non-empty list of actor names, got {agent_order!r}")
    unknown = [name for name in agent_order if name not in by_name]
    if unknown:
        raise ValidationError(f"agent_order names unknown actors {unknown!r}; the actors are {list(by_name)!r}")
    order = tuple(agent_order) if checked == "static" else tuple(dict.fromkeys(agent_order))
    return Plan(checked, by_name, order)
