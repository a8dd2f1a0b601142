"""Flows registering their outputs: ``Artifact(agent, registry, name)`` is an agent that runs ``agent``
and registers its output in the registry with the run and step that made it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jotty.agents.base import Agent, AgentResult, RunContext

if TYPE_CHECKING:
    from jotty.registry.registry import DataRegistry


class Artifact(Agent):
    """Run ``agent``; when it succeeds, register its output as the artifact ``name`` (a run output,
    or with ``as_path=True`` the file whose path the agent returned), with the run and step as
    provenance. ``name`` may hold ``{run_id}`` and ``{step}``. The result is the agent's, with
    ``artifacts["registry"]`` naming what was registered.

    ``Step(Artifact(FunctionAgent(write_report), registry, "reports/{run_id}"), name="write")``
    """

    def __init__(
        self,
        agent: Agent,
        registry: DataRegistry,
        name: str,
        *,
        as_path: bool = False,
        description: str | None = None,
        tags: list[str] | None = None,
        owner: str = "",
    ) -> None:
        self.agent = agent
        self.registry = registry
        self.artifact = name
        self.as_path = as_path
        self.description = description
        self.tags = tags
        self.owner = owner
        self.name = getattr(agent, "name", "artifact")

    async def run(self, input: Any, ctx: RunContext | None = None) -> AgentResult:
        """Run the agent, then register its output."""
        ctx = ctx or RunContext()
        result = await self.agent.run(input, ctx)
        if not result.ok:
            return result
        name = self.artifact.format(run_id=ctx.run_id or "run", step=ctx.step_path or "step")
        options: dict[str, Any] = {"description": self.description, "tags": self.tags, "owner": self.owner}
        if self.as_path:
            source = await self.registry.add_artifact(name, path=str(result.output), ctx=ctx, **options)
        else:
            source = await self.registry.add_artifact(name, result.output, ctx=ctx, **options)
        result.artifacts["registry"] = source.name
        await ctx.emit("artifact_registered", name=source.name, kind=source.kind)
        return result
