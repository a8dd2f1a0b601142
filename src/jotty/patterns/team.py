"""``Team``: persistent members with roles, a shared task board and mailboxes (pattern 6).

Members talk and plan through their results: a member's ``AgentResult.artifacts`` may hold
``"messages"`` (``[{"to": member or "*", "text": ...}]``) and ``"tasks"``
(``[{"input": ..., "role": ..., "id": ...}]``, added to the board); an ``LLMAgent``'s
``"messages"`` are its own conversation, not mail. A member finds its mail in
``ctx.data["inbox"]`` when it starts its next task, the board in ``ctx.data["board"]`` and its own
earlier work (its persistent window) in ``ctx.data["history"]``. With ``memory=`` the members
share the team's memory scope (seed 003, Overlay B): each task recalls from it into
``ctx.data["memory"]``, and each finished task is remembered there before the next one starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.agents.llm import LLMAgent
from jotty.context import as_text, truncate
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.crew import Crew, Worker, WorkItem
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_count, check_name, check_timeout, check_unique
from jotty.runmemory.use import Recall, RunMemory, cut, team_memory
from jotty.runmemory.writer import Remembered

HISTORY_TOKENS = 200
"""A member's history keeps each of its outputs cut to this many tokens."""


@dataclass(frozen=True)
class Member:
    """A team member: a name, an agent, and the roles it can take tasks for."""

    name: str
    agent: Agent
    roles: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_name(self.name, "Member")
        if not isinstance(self.agent, Agent):
            raise ValidationError(f"Member {self.name!r} needs an Agent, got {type(self.agent).__name__}")
        object.__setattr__(self, "roles", frozenset([self.roles] if isinstance(self.roles, str) else self.roles))


@dataclass(frozen=True)
class TeamTask:
    """A task for the board: its input, an optional id (default ``task-<i>``) and required role."""

    input: Any
    id: str | None = None
    role: str | None = None


Plan = Callable[[Any], Iterable[TeamTask | Any]]
"""Turns the team's input into tasks (``TeamTask`` or plain inputs)."""


class Team(Flow):
    """Members take tasks from a shared board; a task whose member failed goes to another member
    that may take it (up to ``max_attempts`` calls). The output maps task ids to outputs; the team
    fails when a task fails for good (the output then holds the finished tasks).

    ``plan(input)`` makes the first tasks (default: one per item of a list input, else one task).
    A task with a ``role`` goes only to members with that role. ``memory``: a ``jotty.memory.Memory``
    (its ``team:`` scope, or ``team:<name>`` on its store), True (the default store) or None.
    """

    kind = "team"

    def __init__(
        self,
        members: Sequence[Member | Agent],
        *,
        plan: Plan | None = None,
        max_attempts: int = 3,
        timeout: float | None = None,
        name: str | None = None,
        memory: Any = None,
    ) -> None:
        super().__init__(name)
        where = f"Team {self.name!r}"
        if isinstance(members, str | bytes) or not isinstance(members, Sequence) or not members:
            raise ValidationError(f"{where}: give a non-empty list of members (Member or Agent)")
        self.members = [m if isinstance(m, Member) else _member(m, where) for m in members]
        check_unique((m.name for m in self.members), where, "members")
        if plan is not None and not callable(plan):
            raise ValidationError(f"{where}: plan must be a function input -> tasks")
        self.plan = plan
        self.max_attempts = check_count(max_attempts, f"{where}: max_attempts")
        self.timeout = check_timeout(timeout, where)
        scope = getattr(memory, "scope", None)
        if name is None and (memory is True or (isinstance(scope, str) and not scope.startswith("team:"))):
            raise ValidationError(
                f"{where}: a Team with memory= needs name=: its members share the scope team:<name>, and two "
                "teams of one name share what they remember (or give a Memory whose scope starts with team:)"
            )
        self.memory: RunMemory | None = team_memory(memory, self.name)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "members": [m.name for m in self.members]}

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        workers = [Worker(m.name, m.agent, m.roles) for m in self.members]
        crew = _TeamCrew(scope, workers, max_attempts=self.max_attempts, timeout=self.timeout, memory=self.memory)
        tasks = list(self.plan(input)) if self.plan is not None else (input if isinstance(input, list) else [input])
        for index, task in enumerate(tasks):
            task = task if isinstance(task, TeamTask) else TeamTask(task)
            await crew.add(WorkItem(check_name(task.id or f"task-{index}", "TeamTask(id=...)"), task.input, task.role))
        await crew.run()
        output = {item.id: item.output for item in crew.items.values() if item.status == "done"}
        if crew.failures():
            return AgentResult.failure(crew.failure_message(f"team {self.name!r}"), output=output)
        return AgentResult(output=output)


def _member(agent: Any, where: str) -> Member:
    if not isinstance(agent, Agent):
        raise ValidationError(f"{where}: {agent!r} is not a Member or an Agent")
    return Member(agent.name, agent)


class _TeamCrew(Crew):
    role = "member"
    folder = "members"

    def __init__(
        self,
        scope: Scope,
        workers: list[Worker],
        *,
        max_attempts: int,
        timeout: float | None,
        memory: RunMemory | None = None,
    ) -> None:
        super().__init__(scope, workers, max_attempts=max_attempts, timeout=timeout)
        self.mailboxes: dict[str, list[dict[str, Any]]] = {w.name: [] for w in workers}
        self.memory = memory
        self.recalled: dict[str, Recall] = {}

    async def _perform(self, item: WorkItem, worker: Worker) -> AgentResult:
        if self.memory is not None:  # recall from the team's scope before the member starts
            self.recalled[item.id] = await self.memory.recall(as_text(item.input), {})
        return await super()._perform(item, worker)

    def eligible(self, item: WorkItem, worker: Worker) -> bool:
        return super().eligible(item, worker) and (item.role is None or item.role in worker.roles)

    def context(self, item: WorkItem, worker: Worker) -> dict[str, Any]:
        inbox, self.mailboxes[worker.name] = self.mailboxes[worker.name], []
        recalled = self.recalled.pop(item.id, None)
        return {
            **({"memory": recalled.value} if recalled is not None else {}),
            **super().context(item, worker),
            "member": worker.name,
            "roles": sorted(worker.roles),
            "inbox": inbox,
            "board": self.board(),
        }

    async def accept(self, item: WorkItem, worker: Worker, result: AgentResult) -> str | None:
        artifacts = result.artifacts
        if isinstance(worker.agent, LLMAgent):  # its "messages" are its own conversation, not team mail
            artifacts = {k: v for k, v in artifacts.items() if k != "messages"}
        try:
            item.extra = _board_updates(artifacts, set(self.mailboxes), item.id, set(self.items))
        except ValidationError as exc:
            return f"{worker.name} returned bad team artifacts: {exc}"
        return None

    async def done(self, item: WorkItem, worker: Worker, result: AgentResult) -> None:
        worker.history.append({"task": item.id, "output": truncate(result.output, HISTORY_TOKENS)})
        if self.memory is not None:  # the team's memory has it before the next task starts
            text = cut(f"{worker.name} did {as_text(item.input)} -> {as_text(result.output)}")
            meta = {"member": worker.name, "task": item.id, "outcome": "success", "kind": "team"}
            report = self.memory.recall_report()
            self.memory.note(report, [Remembered(self.memory.memory.scope, text, meta, "team")])
            await report.settled()
        await self._apply(item, worker.name)

    async def restored(self, item: WorkItem) -> None:
        await self._apply(item, item.assignee or "")

    async def _apply(self, item: WorkItem, sender: str) -> None:
        """Deliver the messages and add the tasks that ``item``'s result asked for."""
        if not item.extra:
            return
        for message in item.extra.get("messages", []):
            targets = [m for m in self.mailboxes if m != sender] if message["to"] == "*" else [message["to"]]
            for target in targets:
                self.mailboxes[target].append({"from": sender, "task": item.id, "text": message["text"]})
            await self.ex.emit(
                EventType.MESSAGE_SENT, self.path(item), {"from": sender, "to": message["to"], "text": message["text"]}
            )
        for task in item.extra.get("tasks", []):
            await self.add(WorkItem(task["id"], task["input"], task.get("role")))


def _board_updates(artifacts: dict[str, Any], members: set[str], parent: str, taken: set[str]) -> dict[str, Any] | None:
    """The ``messages`` and ``tasks`` of a member's artifacts, checked and with task ids filled in."""
    messages = artifacts.get("messages") or []
    tasks = artifacts.get("tasks") or []
    if not messages and not tasks:
        return None
    if not isinstance(messages, list) or not isinstance(tasks, list):
        raise ValidationError("'messages' and 'tasks' must be lists")
    for message in messages:
        if not isinstance(message, dict) or "to" not in message or "text" not in message:
            raise ValidationError(f"a message needs 'to' and 'text': {message!r}")
        if message["to"] != "*" and message["to"] not in members:
            raise ValidationError(f"message to unknown member {message['to']!r}; members: {sorted(members)}")
    filled = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or "input" not in task:
            raise ValidationError(f"a task needs 'input': {task!r}")
        task_id = check_name(task.get("id") or f"{parent}.{index}", "a new task's id")
        if task_id in taken:
            raise ValidationError(f"a task with the id {task_id!r} is on the board already")
        taken.add(task_id)
        filled.append({"id": task_id, "input": task["input"], "role": task.get("role")})
    return {"messages": [{"to": m["to"], "text": m["text"]} for m in messages], "tasks": filled}
