"""The definition models: error strategies, steps, the seven patterns, and the document.

Anywhere an agent goes (a step, a branch, a member, a worker, a fallback, an orchestrator) a
*node* goes: an agent (a mapping with ``kind:``), a nested flow (a mapping with ``pattern:``), or
the name of an agent defined under the document's ``agents:``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Discriminator, Field, Tag

from jotty.spec.agents import AGENT_KINDS, CommandAgentSpec, FunctionAgentSpec, LLMAgentSpec
from jotty.spec.base import Count, ImportPath, Name, Seconds, SpecModel

# ---------------------------------------------------------------- error strategies


class RetrySpec(SpecModel):
    """Run the step again: up to ``max_attempts`` calls in all, waiting ``backoff * 2**(n-1)``
    seconds before retry ``n``; when they are spent, ``then`` decides (default: abort)."""

    strategy: Literal["retry"]
    max_attempts: Count = 3
    backoff: Annotated[float, Field(ge=0)] = 0.0
    then: OnError | None = None


class SkipSpec(SpecModel):
    """Go on without the step: its output is its input, or ``output`` when given."""

    strategy: Literal["skip"]
    output: Any = None
    """The skipped step's output (default: its input, passed on unchanged)."""


class AbortSpec(SpecModel):
    """Stop: the step fails, and a chain stops with the last good output (the default)."""

    strategy: Literal["abort"]


class FallbackSpec(SpecModel):
    """Run ``agent`` instead; when it fails too, ``then`` decides (default: abort)."""

    strategy: Literal["fallback"]
    agent: Node
    then: OnError | None = None


STRATEGIES: dict[str, type[SpecModel]] = {
    "retry": RetrySpec,
    "skip": SkipSpec,
    "abort": AbortSpec,
    "fallback": FallbackSpec,
}


def _strategy_tag(value: Any) -> str | None:
    strategy = value.get("strategy") if isinstance(value, dict) else getattr(value, "strategy", None)
    return None if strategy is None else f"strategy:{strategy}"


def _strategy_shorthand(value: Any) -> Any:
    return {"strategy": value} if isinstance(value, str) else value


OnError = Annotated[
    Annotated[RetrySpec, Tag("strategy:retry")]
    | Annotated[SkipSpec, Tag("strategy:skip")]
    | Annotated[AbortSpec, Tag("strategy:abort")]
    | Annotated[FallbackSpec, Tag("strategy:fallback")],
    Discriminator(_strategy_tag),
    BeforeValidator(
        _strategy_shorthand,
        json_schema_input_type=Literal["retry", "skip", "abort"] | RetrySpec | SkipSpec | AbortSpec | FallbackSpec,
    ),
]
"""An error strategy: a mapping with ``strategy:``, or just ``retry``, ``skip`` or ``abort``."""

# ---------------------------------------------------------------- steps


class StepSpec(SpecModel):
    """An agent or nested flow in a pattern, with its name, error strategy, timeout and contracts."""

    name: Name | None = None
    """The step's name, unique among its siblings: it is part of the path the step is checkpointed
    under (default: the agent's name; in a parallel, ``branch-<i>``)."""
    agent: Node
    """The agent or flow this step runs."""
    on_error: OnError | None = None
    """What to do when the step fails (default: abort)."""
    timeout: Seconds | None = None
    """Seconds one call may take; a call that takes longer fails."""
    input: ImportPath | None = None
    """A contract on the step's input: a class, a pydantic model, or a predicate, as 'module:name'."""
    output: ImportPath | None = None
    """A contract on the step's output, like ``input``."""
    level: LevelName | None = None
    """This step's context level, over the run's; on a nested flow, of every window in it that sets none."""
    category: Name | None = None
    """The step's route category, which scopes its window at L3 and L4 (default: the classifier's guess)."""
    skills: list[Name] = Field(default_factory=list)
    """Skills (under ``context.skills``) the step loads at L2-L4."""


# ---------------------------------------------------------------- patterns


class ChainSpec(SpecModel):
    """Steps in order, each in its own context window, each fed its predecessor's output, each
    with its own error strategy."""

    pattern: Literal["chain"]
    name: Name | None = None
    steps: list[StepSpec] = Field(min_length=1)


class SequentialSpec(SpecModel):
    """Steps in order in one shared, growing context window; a failure ends the run (no ``on_error``)."""

    pattern: Literal["sequential"]
    name: Name | None = None
    steps: list[StepSpec] = Field(min_length=1)


class SubAgentSpec(SpecModel):
    """An agent in a clean context window that hands back a summary of its work."""

    pattern: Literal["sub_agent"]
    name: Name | None = None
    agent: Node
    """The agent (or flow) doing the work."""
    summarize: Node | None = None
    """An agent that summarizes the work (default: the output cut to ``max_tokens``)."""
    max_tokens: Count = 1000
    on_error: OnError | None = None
    timeout: Seconds | None = None


class PhaseSpec(SpecModel):
    """A named phase; its steps run as a chain."""

    name: Name
    steps: list[StepSpec] = Field(min_length=1)
    max_attempts: Count = 1
    """How often the phase may run when it fails."""


class PhasedSpec(SpecModel):
    """Phases in order, managed by an orchestrator that carries a summary between them and decides
    whether a failed phase is retried, skipped or aborts the run."""

    pattern: Literal["phased"]
    name: Name | None = None
    phases: list[PhaseSpec] = Field(min_length=1)
    orchestrator: Node | None = None
    """An agent that returns the new summary after each phase and ``retry``/``skip``/``abort`` after a failed one."""


class ParallelSpec(SpecModel):
    """Branches run at once on the same input; the output is the list of their outputs."""

    pattern: Literal["parallel"]
    name: Name | None = None
    branches: list[StepSpec] = Field(min_length=1)
    max_concurrency: Count | None = None
    """How many branches run at a time (default: all)."""
    timeout: Seconds | None = None
    """Seconds each branch may take (unless its step sets its own)."""
    min_success: Annotated[int, Field(ge=0)] | None = None
    """How many branches must succeed (default: all); the failures are reported."""


class MemberSpec(SpecModel):
    """A team member: a name, an agent, and the roles it takes tasks for."""

    name: Name
    agent: Node
    roles: list[str] = Field(default_factory=list)


class TeamSpec(SpecModel):
    """Persistent members take tasks from a shared board; a failed task goes to another member."""

    pattern: Literal["team"]
    name: Name | None = None
    members: list[MemberSpec] = Field(min_length=1)
    plan: ImportPath | None = None
    """A function input -> tasks, as 'module:name' (default: one task per item of a list input)."""
    max_attempts: Count = 3
    timeout: Seconds | None = None


class SupervisorSpec(SpecModel):
    """A supervisor splits the input into tasks, delegates them to workers, reviews the work and
    reassigns what failed."""

    pattern: Literal["supervisor"]
    name: Name | None = None
    workers: list[Node] = Field(default_factory=list)
    worker_factory: ImportPath | None = None
    """A function n -> Agent that hires worker n when no worker is free, as 'module:name'."""
    max_workers: Count | None = None
    plan: Node | None = None
    """An agent that turns the input into a list of task inputs (default: one task per item of a list input)."""
    review: Node | None = None
    """An agent that accepts work (answers true) or rejects it (anything else)."""
    max_attempts: Count = 3
    retire_after: Count = 2
    timeout: Seconds | None = None
    summary_tokens: Count = 200


PATTERNS: dict[str, type[SpecModel]] = {
    "chain": ChainSpec,
    "sequential": SequentialSpec,
    "sub_agent": SubAgentSpec,
    "phased": PhasedSpec,
    "parallel": ParallelSpec,
    "team": TeamSpec,
    "supervisor": SupervisorSpec,
}
PatternSpec = ChainSpec | SequentialSpec | SubAgentSpec | PhasedSpec | ParallelSpec | TeamSpec | SupervisorSpec

# ---------------------------------------------------------------- nodes


def _node_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "ref"
    if isinstance(value, dict):
        if "pattern" in value:
            return f"pattern:{value['pattern']}"
        if "kind" in value:
            return f"agent:{value['kind']}"
        return None
    if isinstance(value, BaseModel):
        pattern = getattr(value, "pattern", None)
        return f"pattern:{pattern}" if pattern is not None else f"agent:{getattr(value, 'kind', None)}"
    return None


def _pattern_tag(value: Any) -> str | None:
    tag = _node_tag(value)
    return tag if tag is not None and tag.startswith("pattern:") else None


PatternNode = Annotated[
    Annotated[ChainSpec, Tag("pattern:chain")]
    | Annotated[SequentialSpec, Tag("pattern:sequential")]
    | Annotated[SubAgentSpec, Tag("pattern:sub_agent")]
    | Annotated[PhasedSpec, Tag("pattern:phased")]
    | Annotated[ParallelSpec, Tag("pattern:parallel")]
    | Annotated[TeamSpec, Tag("pattern:team")]
    | Annotated[SupervisorSpec, Tag("pattern:supervisor")],
    Discriminator(_pattern_tag),
]
"""A flow: a mapping with ``pattern:``."""

Node = Annotated[
    Annotated[FunctionAgentSpec, Tag("agent:function")]
    | Annotated[CommandAgentSpec, Tag("agent:command")]
    | Annotated[LLMAgentSpec, Tag("agent:llm")]
    | Annotated[ChainSpec, Tag("pattern:chain")]
    | Annotated[SequentialSpec, Tag("pattern:sequential")]
    | Annotated[SubAgentSpec, Tag("pattern:sub_agent")]
    | Annotated[PhasedSpec, Tag("pattern:phased")]
    | Annotated[ParallelSpec, Tag("pattern:parallel")]
    | Annotated[TeamSpec, Tag("pattern:team")]
    | Annotated[SupervisorSpec, Tag("pattern:supervisor")]
    | Annotated[str, Tag("ref")],
    Discriminator(_node_tag),
]
"""An agent (``kind:``), a nested flow (``pattern:``) or the name of an agent under ``agents:``."""

# ---------------------------------------------------------------- context


LevelName = Literal["L1", "L2", "L3", "L4"]
"""A context level (seed 003): L1 everything, L2 skills on demand, L3 scoped by route, L4 prefetched."""


class FactSpec(SpecModel):
    """A part of the run's context pool: text (or data) a window may get, scoped by ``category``."""

    name: Name
    content: Any
    category: Name | None = None
    """The route category it belongs to: at L3 and L4 only steps of that category get it."""
    pinned: bool = False
    """A pinned fact goes into every window and is never compressed."""


class SkillSpec(SpecModel):
    """A skill: what a window holds until the skill is chosen (``description``) and what it adds then."""

    name: Name
    description: str
    instructions: str
    category: Name | None = None
    tools: list[ImportPath] = Field(default_factory=list)
    """Functions the skill brings, as 'module:name'."""


class SourceSpec(SpecModel):
    """Content loaded for each window that gets it (at L4, ahead of the step that will need it): a
    file's text or what a function returns. Give exactly one of ``file`` and ``load``."""

    name: Name
    file: str | None = None
    """A text file, relative to the definition's folder, read each time it is loaded."""
    load: ImportPath | None = None
    """A function ``query -> content`` as 'module:name' (sync or async; the query is the step's
    category and name)."""
    category: Name | None = None
    """The route category it belongs to: at L3 and L4 only steps of that category get it."""


class ContextSpec(SpecModel):
    """The pool a run's windows pick from (see the README's "Context" section)."""

    facts: list[FactSpec] = Field(default_factory=list)
    skills: list[SkillSpec] = Field(default_factory=list)
    sources: list[SourceSpec] = Field(default_factory=list)


# ---------------------------------------------------------------- the document


class FlowSpec(SpecModel):
    """A Jotty flow definition (YAML or JSON)."""

    version: Literal[1] = 1
    """The definition format's version."""
    name: Name | None = None
    """The flow's name (default: the root pattern's ``name``, else its pattern)."""
    description: str | None = None
    input: Any = None
    """The input ``jotty run`` uses when it is given none."""
    agents: dict[Name, Node] = Field(default_factory=dict)
    """Named agents and flows, used in steps by name."""
    flow: PatternNode
    """The flow to run: a pattern, with its steps, branches, phases, members or workers."""
    level: LevelName | None = None
    """The run's context level (``jotty run --level`` overrides it; default: as the patterns build windows)."""
    context: ContextSpec | None = None
    """Facts, skills and sources the windows pick from at the run's level."""


TAGGED: dict[str, type[SpecModel]] = {
    **{f"agent:{kind}": model for kind, model in AGENT_KINDS.items()},
    **{f"pattern:{kind}": model for kind, model in PATTERNS.items()},
    **{f"strategy:{kind}": model for kind, model in STRATEGIES.items()},
}
"""Each union tag (as it appears in pydantic error locations) and its model."""

_MODELS: list[type[SpecModel]] = [
    *STRATEGIES.values(),
    StepSpec,
    *PATTERNS.values(),
    PhaseSpec,
    MemberSpec,
    FactSpec,
    SkillSpec,
    ContextSpec,
    FlowSpec,
]
for _model in _MODELS:
    _model.model_rebuild()
