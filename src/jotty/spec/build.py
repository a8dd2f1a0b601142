"""Build runnable agents and flows from validated definition models.

Everything a model cannot check alone is checked here, and located in the file: import paths that
do not resolve, names used twice, references to undefined agents, and whatever the patterns' and
agents' own constructors refuse (``min_success`` above the number of branches, say).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path as FilePath
from typing import Any

from jotty.agents import Agent, CommandAgent, FunctionAgent, LLMAgent
from jotty.context import ContextPolicy, Part, PartKind, Skill, SkillRegistry
from jotty.context import Source as ContextSource
from jotty.errors import AgentError, ValidationError
from jotty.patterns import (
    Abort,
    Chain,
    Fallback,
    Flow,
    Member,
    Parallel,
    Phase,
    Phased,
    Retry,
    Sequential,
    Skip,
    Step,
    Strategy,
    SubAgent,
    Supervisor,
    Team,
)
from jotty.spec.agents import CommandAgentSpec, FunctionAgentSpec, LLMAgentSpec
from jotty.spec.errors import Path, SpecError
from jotty.spec.imports import ImportPathError, resolve
from jotty.spec.models import (
    AbortSpec,
    ChainSpec,
    ContextSpec,
    FallbackSpec,
    FlowSpec,
    ParallelSpec,
    PatternSpec,
    PhasedSpec,
    RetrySpec,
    SequentialSpec,
    SkipSpec,
    SourceSpec,
    StepSpec,
    SubAgentSpec,
    SupervisorSpec,
    TeamSpec,
)
from jotty.spec.source import Source

NodeSpec = FunctionAgentSpec | CommandAgentSpec | LLMAgentSpec | PatternSpec | str
StrategySpec = RetrySpec | SkipSpec | AbortSpec | FallbackSpec
DefaultName = Callable[[int, Agent], str]


def build_flow(spec: FlowSpec, source: Source, base_dir: FilePath | None) -> Flow:
    """The runnable flow of ``spec``; ``SpecError`` (located in ``source``) when it cannot be built."""
    return _Builder(spec, source, base_dir).build()


@dataclasses.dataclass(frozen=True)
class ContextPool:
    """The facts, skills and sources of a definition's ``context:``, built once; ``policy()`` gives
    each run a fresh ``ContextPolicy`` over them."""

    parts: tuple[Part, ...] = ()
    skills: tuple[Skill, ...] = ()
    sources: tuple[ContextSource, ...] = ()

    def policy(self) -> ContextPolicy:
        """A ``ContextPolicy`` whose pool is these facts, skills and sources."""
        return ContextPolicy(parts=self.parts, skills=SkillRegistry(self.skills), sources=self.sources)


SOURCE_FILE_CHARS = 100_000
"""A file source's text is read up to this many characters (the window's guard fits it further)."""


def read_text_file(path: FilePath) -> Callable[[str], str]:
    """A loader of the text of ``path`` (at most ``SOURCE_FILE_CHARS``), read each time it is called."""

    def load(query: str) -> str:
        with open(path, encoding="utf-8") as handle:
            try:
                text = handle.read(SOURCE_FILE_CHARS + 1)
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path} is not UTF-8 text ({exc.reason}): convert it to UTF-8") from None
        if len(text) > SOURCE_FILE_CHARS:
            return f"{text[:SOURCE_FILE_CHARS]}\n[... {path.name} cut at {SOURCE_FILE_CHARS:,} characters]"
        return text

    return load


def build_context(spec: FlowSpec, source: Source, base_dir: FilePath | None) -> ContextPool:
    """The pool of ``spec.context`` (empty without one); tool import paths resolved beside the file."""
    return _Builder(spec, source, base_dir).context(spec.context)


class _Builder:
    def __init__(self, spec: FlowSpec, source: Source, base_dir: FilePath | None) -> None:
        self.spec = spec
        self.source = source
        self.base_dir = base_dir
        self.named: dict[str, Agent] = {}
        self.building: list[str] = []

    def build(self) -> Flow:
        for name in self.spec.agents:  # every named agent is checked, used or not
            self.ref(name, ("agents", name))
        return self.pattern(self.spec.flow, ("flow",), self.spec.name)

    @contextlib.contextmanager
    def at(self, path: Path) -> Iterator[None]:
        """Report what a constructor refuses as a ``SpecError`` at ``path``."""
        try:
            yield
        except SpecError:
            raise
        except (ValidationError, AgentError) as exc:
            raise self.source.error(self.named_in(path, str(exc)), str(exc)) from None

    def named_in(self, path: Path, message: str) -> Path:
        """``path``, or its key that ``message`` names (``min_success=3 ...`` points at ``min_success``)."""
        data = self.source.get(path)
        if isinstance(data, dict):
            for key in sorted(data, key=len, reverse=True):
                if re.search(rf"\b{re.escape(key)}\s*=", message):
                    return (*path, key)
        return path

    def resolve(self, import_path: str, path: Path) -> Any:
        try:
            return resolve(import_path, self.base_dir)
        except ImportPathError as exc:
            raise self.source.error(path, str(exc)) from None

    def callable(self, import_path: str, path: Path, what: str) -> Callable[..., Any]:
        target = self.resolve(import_path, path)
        if not callable(target):
            raise self.source.error(path, f"{import_path!r} is a {type(target).__name__}, not {what}")
        return target  # type: ignore[no-any-return]

    # ------------------------------------------------------------ nodes

    def node(self, spec: NodeSpec, path: Path, default_name: str | None = None) -> Agent:
        if isinstance(spec, str):
            return self.ref(spec, path)
        if isinstance(spec, FunctionAgentSpec):
            return self.function(spec, path, default_name)
        if isinstance(spec, CommandAgentSpec):
            return self.command(spec, path, default_name)
        if isinstance(spec, LLMAgentSpec):
            return self.llm(spec, path, default_name)
        return self.pattern(spec, path, default_name)

    def ref(self, name: str, path: Path) -> Agent:
        """The agent defined as ``agents: {name: ...}``, built once and shared."""
        if name in self.named:
            return self.named[name]
        if name not in self.spec.agents:
            defined = ", ".join(self.spec.agents) or "none"
            hint = (
                f"; to use a function write {{kind: function, function: {name!r}}}"
                if ":" in name
                else "; define it under the top-level 'agents:' key"
            )
            raise self.source.error(path, f"unknown agent {name!r} (defined agents: {defined}){hint}")
        if name in self.building:
            cycle = " -> ".join([*self.building[self.building.index(name) :], name])
            raise self.source.error(path, f"agent {name!r} contains itself ({cycle}): break the cycle")
        self.building.append(name)
        try:
            agent = self.node(self.spec.agents[name], ("agents", name), default_name=name)
        finally:
            self.building.pop()
        self.named[name] = agent
        return agent

    def function(self, spec: FunctionAgentSpec, path: Path, default_name: str | None) -> Agent:
        where = (*path, "function")
        target = self.resolve(spec.function, where)
        if isinstance(target, Agent):
            if spec.kwargs or spec.name:
                raise self.source.error(
                    where, f"{spec.function!r} is an agent already ({target!r}): remove 'name' and 'kwargs'"
                )
            return target
        if not callable(target):
            raise self.source.error(where, f"{spec.function!r} is a {type(target).__name__}, not a function")
        fn = functools.partial(target, **spec.kwargs) if spec.kwargs else target
        name = spec.name or default_name or getattr(target, "__name__", None)
        with self.at(path):
            return FunctionAgent(fn, name=name, thread=spec.thread)

    def command(self, spec: CommandAgentSpec, path: Path, default_name: str | None) -> Agent:
        argv = list(spec.argv)
        program = argv[0]
        if spec.cwd is None and "/" in program and not os.path.isabs(program) and self.base_dir is not None:
            argv[0] = self.beside(program, template=True)
        with self.at(path):
            return CommandAgent(
                argv,
                name=spec.name or default_name,
                cwd=None if spec.cwd is None else self.beside(spec.cwd, template=True),
                env=spec.env,
                stdin=spec.stdin,
                timeout=spec.timeout,
                output=spec.output,
                log_file=None if spec.log_file is None else self.beside(spec.log_file, template=True),
                log_dir=None if spec.log_dir is None else self.beside(spec.log_dir, template=False),
                grace_period=spec.grace_period,
            )

    def beside(self, value: str, *, template: bool) -> str:
        """A relative path as relative to the flow file's directory (braces escaped for templates)."""
        if self.base_dir is None or os.path.isabs(value):
            return value
        base = str(self.base_dir)
        if template:
            base = base.replace("{", "{{").replace("}", "}}")
        return os.path.join(base, value)

    def llm(self, spec: LLMAgentSpec, path: Path, default_name: str | None) -> Agent:
        tools = [self.callable(t, (*path, "tools", i), "a function") for i, t in enumerate(spec.tools)]
        api_key = None
        if spec.api_key_env is not None:
            api_key = os.environ.get(spec.api_key_env)
            if not api_key:
                raise self.source.error(
                    (*path, "api_key_env"),
                    f"the environment variable {spec.api_key_env} is not set: export the API key",
                )
        with self.at(path):
            return LLMAgent(
                spec.model,
                system=spec.system,
                base_url=spec.base_url,
                api_key=api_key,
                tools=tools,
                stream=spec.stream,
                max_tool_rounds=spec.max_tool_rounds,
                max_retries=spec.max_retries,
                backoff=spec.backoff,
                max_backoff=spec.max_backoff,
                timeout=spec.timeout,
                params=spec.params,
                history_key=spec.history_key,
                name=spec.name or default_name,
            )

    # ------------------------------------------------------------ patterns

    def pattern(self, spec: PatternSpec, path: Path, default_name: str | None = None) -> Flow:
        name = spec.name or default_name
        if isinstance(spec, ChainSpec):
            steps = self.steps(spec.steps, (*path, "steps"), _agent_name)
            with self.at(path):
                return Chain(steps, name=name)
        if isinstance(spec, SequentialSpec):
            for index, step in enumerate(spec.steps):
                if step.on_error is not None:
                    raise self.source.error(
                        (*path, "steps", index, "on_error"),
                        "a sequential step has no error strategy (in a sequential a failure ends the run): "
                        "use 'pattern: chain' for per-step on_error",
                    )
            steps = self.steps(spec.steps, (*path, "steps"), _agent_name)
            with self.at(path):
                return Sequential(steps, name=name)
        if isinstance(spec, SubAgentSpec):
            return self.sub_agent(spec, path, name)
        if isinstance(spec, PhasedSpec):
            return self.phased(spec, path, name)
        if isinstance(spec, ParallelSpec):
            branches = self.steps(spec.branches, (*path, "branches"), lambda index, _agent: f"branch-{index}")
            with self.at(path):
                return Parallel(
                    branches,
                    max_concurrency=spec.max_concurrency,
                    timeout=spec.timeout,
                    min_success=spec.min_success,
                    name=name,
                )
        if isinstance(spec, TeamSpec):
            return self.team(spec, path, name)
        return self.supervisor(spec, path, name)

    def sub_agent(self, spec: SubAgentSpec, path: Path, name: str | None) -> Flow:
        agent = self.node(spec.agent, (*path, "agent"))
        summarize = None if spec.summarize is None else self.node(spec.summarize, (*path, "summarize"))
        on_error = self.strategy(spec.on_error, (*path, "on_error"))
        with self.at(path):
            return SubAgent(
                agent,
                summarize=summarize,
                max_tokens=spec.max_tokens,
                on_error=on_error,
                timeout=spec.timeout,
                name=name,
            )

    def phased(self, spec: PhasedSpec, path: Path, name: str | None) -> Flow:
        self.unique([(p.name, (*path, "phases", i)) for i, p in enumerate(spec.phases)], "phase")
        phases = []
        for index, phase in enumerate(spec.phases):
            where = (*path, "phases", index)
            steps = self.steps(phase.steps, (*where, "steps"), _agent_name)
            with self.at(where):
                phases.append(Phase(phase.name, steps, max_attempts=phase.max_attempts))
        orchestrator = None if spec.orchestrator is None else self.node(spec.orchestrator, (*path, "orchestrator"))
        with self.at(path):
            return Phased(phases, orchestrator=orchestrator, name=name)

    def team(self, spec: TeamSpec, path: Path, name: str | None) -> Flow:
        self.unique([(m.name, (*path, "members", i)) for i, m in enumerate(spec.members)], "member")
        members = []
        for index, member in enumerate(spec.members):
            where = (*path, "members", index)
            agent = self.node(member.agent, (*where, "agent"), member.name)
            with self.at(where):
                members.append(Member(member.name, agent, frozenset(member.roles)))
        plan = None if spec.plan is None else self.callable(spec.plan, (*path, "plan"), "a function input -> tasks")
        with self.at(path):
            return Team(members, plan=plan, max_attempts=spec.max_attempts, timeout=spec.timeout, name=name)

    def supervisor(self, spec: SupervisorSpec, path: Path, name: str | None) -> Flow:
        workers = [self.node(w, (*path, "workers", i)) for i, w in enumerate(spec.workers)]
        factory = None
        if spec.worker_factory is not None:
            factory = self.callable(spec.worker_factory, (*path, "worker_factory"), "a function n -> Agent")
        plan = None if spec.plan is None else self.node(spec.plan, (*path, "plan"))
        review = None if spec.review is None else self.node(spec.review, (*path, "review"))
        with self.at(path):
            return Supervisor(
                workers,
                worker_factory=factory,
                max_workers=spec.max_workers,
                plan=plan,
                review=review,
                max_attempts=spec.max_attempts,
                retire_after=spec.retire_after,
                timeout=spec.timeout,
                summary_tokens=spec.summary_tokens,
                name=name,
            )

    # ------------------------------------------------------------ steps and strategies

    def steps(self, specs: Sequence[StepSpec], path: Path, default: DefaultName) -> list[Step]:
        steps = [self.step(spec, (*path, index)) for index, spec in enumerate(specs)]
        named = []
        for index, (spec, step) in enumerate(zip(specs, steps, strict=True)):
            where = (*path, index, "name") if spec.name is not None else (*path, index)
            named.append((step.name or default(index, step.agent), where))
        self.unique(named, "step")
        return [
            s if s.name is not None else dataclasses.replace(s, name=n) for s, (n, _) in zip(steps, named, strict=True)
        ]

    def unique(self, names: list[tuple[str, Path]], what: str) -> None:
        """``SpecError`` at the second use of a name among siblings."""
        first: dict[str, Path] = {}
        for name, where in names:
            if name in first:
                earlier = self.source.pos(first[name])
                default = "" if where[-1] == "name" else f" (the default name of this {what}: give it a name:)"
                raise self.source.error(
                    where,
                    f"duplicate {what} name {name!r}{default}, also used at line {earlier.line}: a {what}'s name "
                    "is part of the path its checkpoint is stored under, so give each one a unique name",
                )
            first[name] = where

    def step(self, spec: StepSpec, path: Path) -> Step:
        agent = self.node(spec.agent, (*path, "agent"))
        on_error = self.strategy(spec.on_error, (*path, "on_error"))
        contract_in = None if spec.input is None else self.resolve(spec.input, (*path, "input"))
        contract_out = None if spec.output is None else self.resolve(spec.output, (*path, "output"))
        defined = {s.name for s in self.spec.context.skills} if self.spec.context is not None else set()
        for index, skill in enumerate(spec.skills):
            if skill not in defined:
                known = ", ".join(sorted(defined)) or "none"
                raise self.source.error(
                    (*path, "skills", index),
                    f"unknown skill {skill!r}: define it under context.skills (defined: {known})",
                )
        with self.at(path):
            return Step(
                agent, spec.name, on_error, contract_in, contract_out, spec.timeout,
                level=spec.level, category=spec.category, skills=tuple(spec.skills),
            )  # fmt: skip

    def context(self, spec: ContextSpec | None) -> ContextPool:
        if spec is None:
            return ContextPool()
        self.unique([(f.name, ("context", "facts", i, "name")) for i, f in enumerate(spec.facts)], "fact")
        self.unique([(k.name, ("context", "skills", i, "name")) for i, k in enumerate(spec.skills)], "skill")
        parts = []
        for index, fact in enumerate(spec.facts):
            with self.at(("context", "facts", index)):
                kind = PartKind.PINNED if fact.pinned else PartKind.DATA
                parts.append(Part(fact.name, fact.content, kind, category=fact.category))
        skills = []
        for index, skill in enumerate(spec.skills):
            where = ("context", "skills", index)
            tools = tuple(
                self.callable(tool, (*where, "tools", i), "a function (a skill's tool)")
                for i, tool in enumerate(skill.tools)
            )
            with self.at(where):
                skills.append(Skill(skill.name, skill.description, skill.instructions, tools, skill.category))
        self.unique([(s.name, ("context", "sources", i, "name")) for i, s in enumerate(spec.sources)], "source")
        sources = [self.context_source(source, ("context", "sources", i)) for i, source in enumerate(spec.sources)]
        return ContextPool(tuple(parts), tuple(skills), tuple(sources))

    def context_source(self, spec: SourceSpec, path: Path) -> ContextSource:
        if (spec.file is None) == (spec.load is None):
            raise self.source.error(path, "a source needs exactly one of file: (a text file) and load: (a function)")
        if spec.load is not None:
            load = self.callable(spec.load, (*path, "load"), "a function query -> content (a source's loader)")
        else:
            assert spec.file is not None
            where = FilePath(spec.file)
            if not where.is_absolute():
                where = (self.base_dir or FilePath.cwd()) / where
            if not where.is_file():
                raise self.source.error(
                    (*path, "file"), f"no file {spec.file!r} (looked for {where}): give a text file"
                )
            load = read_text_file(where)
        with self.at(path):
            return ContextSource(spec.name, load, category=spec.category)

    def strategy(self, spec: StrategySpec | None, path: Path) -> Strategy | None:
        if spec is None:
            return None
        if isinstance(spec, AbortSpec):
            return Abort()
        if isinstance(spec, SkipSpec):
            return Skip(spec.output) if "output" in spec.model_fields_set else Skip()
        then = self.strategy(spec.then, (*path, "then")) or Abort()
        with self.at(path):
            if isinstance(spec, RetrySpec):
                return Retry(spec.max_attempts, backoff=spec.backoff, then=then)
            return Fallback(self.node(spec.agent, (*path, "agent")), then=then)


def _agent_name(_index: int, agent: Agent) -> str:
    return agent.name
