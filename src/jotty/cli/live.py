"""What ``jotty run`` and ``jotty runs`` show: a live tree of a flow's steps built from its events,
and the tables of a finished run (steps, checkpoints, events, token shape)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from jotty.cli.console import Cell, Col, escaped, fit_table, json_text, text
from jotty.context import ContextWindow
from jotty.events import Event, EventType
from jotty.runs import Checkpoint, StepRecord, StoredEvent
from jotty.wording import cut, plural

STYLES: dict[str, tuple[str, str]] = {
    "running": ("●", "yellow"),
    "retrying": ("↻", "yellow"),
    "fallback": ("↪", "yellow"),
    "completed": ("✓", "green"),
    "partial": ("◐", "yellow"),
    "restored": ("✓", "cyan"),
    "skipped": ("↷", "magenta"),
    "failed": ("✗", "red"),
    "cancelled": ("⊘", "dim"),
}
"""Each status: its icon and colour."""


def status_text(status: Any) -> Text:
    """A run or step status, coloured."""
    word = str(status)
    return Text(word, style=STYLES.get(word, ("", ""))[1])


def seconds(value: float | None) -> str:
    """``0.0421`` as ``42 ms``, ``3.2`` as ``3.2 s``, ``192`` as ``3m12s``."""
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes}m{rest:02d}s"


def tokens(prompt: int, completion: int) -> str:
    """``1,234 tok`` (empty for none)."""
    total = prompt + completion
    return f"{total:,} tok" if total else ""


def clock(at: float | None) -> str:
    """An epoch time as local ``YYYY-MM-DD HH:MM:SS``."""
    return "" if at is None else datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def clip(value: Any, limit: int = 80) -> str:
    """A value on one line, its control characters as escapes (``escaped``), cut to ``limit`` characters."""
    shown = " ".join(escaped(value if isinstance(value, str) else json_text(value, indent=None, default=repr)).split())
    return cut(shown, limit)


def output_text(value: Any) -> Group:
    """A run's output under an ``output`` heading: a string, or anything else as indented JSON, as
    ``text`` shows it."""
    body = value if isinstance(value, str) else json_text(value, default=repr)
    return Group(Text("output", style="bold"), text(body))


# ---------------------------------------------------------------- the live tree


@dataclass
class StepNode:
    """What the tree knows about one step path."""

    path: str
    name: str
    status: str | None = None
    """``None`` for a grouping node that no event named (such as ``tasks``)."""
    attempts: int = 0
    retries: int = 0
    started: float | None = None
    duration: float | None = None
    prompt: int = 0
    completion: int = 0
    note: str = ""
    children: list[str] = field(default_factory=list)


class StepTree:
    """A flow's steps as a tree, updated from its events: pass ``sink`` as the run's event sink
    and show the tree in a ``rich.live.Live`` (it renders itself with running times)."""

    def __init__(self) -> None:
        self.nodes: dict[str, StepNode] = {}
        self.roots: list[str] = []

    async def sink(self, event: Event) -> None:
        """The event sink: update the tree."""
        self.handle(event)

    def node(self, path: str) -> StepNode:
        """The node at ``path``, created (with its missing ancestors) on first use."""
        found = self.nodes.get(path)
        if found is not None:
            return found
        parent, _, name = path.rpartition("/")
        node = self.nodes[path] = StepNode(path, name or path)
        if parent:
            self.node(parent).children.append(path)
        else:
            self.roots.append(path)
        return node

    def handle(self, event: Event) -> None:
        """Apply one event."""
        node = self.node(event.step_path)
        data = event.data
        kind = str(event.type)
        if kind in (EventType.RUN_STARTED, EventType.RUN_RESUMED, EventType.STEP_STARTED):
            self._started(node, event)
        elif kind in (EventType.RUN_COMPLETED, EventType.RUN_FAILED):
            node.status = str(data.get("status", "failed"))
            node.duration = data.get("duration", node.duration)
            node.prompt, node.completion = data.get("prompt_tokens", 0), data.get("completion_tokens", 0)
            if data.get("error"):
                node.note = clip(data["error"])
        elif kind == EventType.STEP_COMPLETED:
            self._completed(node, event)
        elif kind == EventType.STEP_FAILED:
            node.status, node.note = "failed", clip(data.get("error", ""))
            node.duration = data.get("duration", node.duration)
        elif kind == EventType.STEP_RESTORED:
            status = data.get("status", "completed")
            node.status = "restored" if status == "completed" else status
            node.note = "from checkpoint"
        elif kind == EventType.CHAIN_ERROR_HANDLED:
            self._handled(node, data)
        elif kind == EventType.CHAIN_STEP_COMPLETED:
            status = data.get("status")
            if status in ("completed", "partial", "skipped", "failed") and node.status != "restored":
                node.status = status
        else:
            self._note(node, kind, data)

    def _started(self, node: StepNode, event: Event) -> None:
        node.status, node.started = "running", event.at
        node.attempts = event.data.get("attempt", node.attempts)
        if event.type == EventType.RUN_RESUMED:
            node.note = f"resumed: {plural(event.data.get('restored_steps', 0), 'step')} from checkpoints"
        elif node.attempts > 1:
            node.note = f"attempt {node.attempts}"

    def _completed(self, node: StepNode, event: Event) -> None:
        data = event.data
        node.status = "completed"
        node.duration = data.get("duration", node.duration)
        node.prompt += data.get("prompt_tokens", 0)
        node.completion += data.get("completion_tokens", 0)
        if node.retries:
            node.note = f"after {plural(node.retries, 'retry', 'retries')}"
        elif node.note.startswith("attempt"):
            node.note = ""
        if node.path.endswith("/fallback"):
            owner = self.node(node.path.rpartition("/")[0])
            owner.status, owner.note = "completed", "via fallback"

    def _handled(self, node: StepNode, data: dict[str, Any]) -> None:
        strategy = data.get("strategy")
        error = clip(data.get("error") or "", 60)
        if strategy == "retry":
            node.retries += 1
            node.status, node.note = "retrying", f"retry {node.retries}: {error}"
        elif strategy == "skip":
            node.status, node.note = "skipped", f"skipped: {error}"
        elif strategy == "fallback":
            node.status, node.note = "fallback", f"fallback to {data.get('fallback', '?')}: {error}"
        else:
            node.status, node.note = "failed", error

    def _note(self, node: StepNode, kind: str, data: dict[str, Any]) -> None:
        if kind == EventType.PROCESS_OUTPUT and node.status == "running":
            node.note = "\u203a " + clip(data.get("line", ""), 60)
        elif kind == EventType.TOOL_CALL:
            node.note = f"tool {data.get('name', '?')}"
        elif kind == EventType.ORCHESTRATOR_DECISION:
            node.note = f"orchestrator: {data.get('decision')} ({clip(data.get('reason', ''), 40)})"
        elif kind == EventType.WORK_REASSIGNED:
            node.note = clip(f"reassigned from {data.get('from')}: {data.get('error') or ''}", 60)
        elif kind in (EventType.WORKER_ADDED, EventType.WORKER_RETIRED):
            node.note = f"{kind.removeprefix('worker_')}: {data.get('worker')}"

    def label(self, node: StepNode, now: float) -> Text:
        """One node's line: icon, name, status, time, tokens and note."""
        if node.status is None:
            return Text(node.name, style="dim")
        icon, style = STYLES.get(node.status, ("·", ""))
        duration = node.duration
        if node.status in ("running", "retrying") and node.started is not None:
            duration = now - node.started
        parts: list[str | tuple[str, str]] = [
            (f"{icon} ", style),
            (node.name, "bold"),
            ("  ", ""),
            (node.status, style),
        ]
        for extra in (seconds(duration), tokens(node.prompt, node.completion)):
            if extra:
                parts += ["  ", (extra, "dim")]
        if node.note:
            parts += ["  ", (node.note, "dim italic" if node.status != "failed" else "red")]
        line = Text.assemble(*parts)
        line.no_wrap, line.overflow = True, "ellipsis"  # one line per step, cut at the terminal's edge
        return line

    def __rich__(self) -> Tree | Text:
        if not self.roots:
            return Text("starting…", style="dim")
        now = time.time()
        trees = []
        for root in self.roots:
            tree = Tree(self.label(self.nodes[root], now), guide_style="dim")
            self._add(tree, self.nodes[root], now)
            trees.append(tree)
        if len(trees) == 1:
            return trees[0]
        top = Tree(Text("runs"))
        top.children.extend(trees)
        return top

    def _add(self, tree: Tree, node: StepNode, now: float) -> None:
        for path in node.children:
            child = self.nodes[path]
            self._add(tree.add(self.label(child, now)), child, now)


# ---------------------------------------------------------------- tables of a run


STEP_COLUMNS = (
    Col("step", shrink=True, min_width=16, keep_end=True),
    Col("status"),
    Col("tries", "right"),
    Col("strategy", hide_empty=True, drop=2),
    Col("agent", shrink=True, min_width=10, hide_empty=True, drop=3),
    Col("time", "right"),
    Col("tokens", "right", hide_empty=True, drop=1),
)


def steps_table(steps: Sequence[StepRecord]) -> Group:
    """One row per step path (without the flow's own name): status, calls, which error strategy
    fired, the agent that produced the outcome, time and tokens; then the errors, one per line.
    Columns no step uses are left out."""
    errors: list[Text] = []
    rows = []
    for step in steps:
        path = step.path.partition("/")[2] or step.path
        used = step.prompt_tokens + step.completion_tokens
        rows.append(
            (
                path,
                status_text(step.status),
                str(step.attempts),
                step.strategy or "",
                step.agent or "",
                seconds(step.duration),
                f"{used:,}" if used else "",
            )
        )
        if step.error:
            errors.append(Text.assemble((f"{path}: ", "bold"), (step.error, "red")))
    return Group(fit_table(STEP_COLUMNS, rows, title="steps"), *errors)


def shape_table(windows: Iterable[ContextWindow]) -> Table:
    """The token shape: one row per context window, and the total."""
    rows = list(windows)
    columns = (
        Col("window", shrink=True, min_width=16, keep_end=True),
        Col("kind", shrink=True, min_width=6),
        *(Col(name, "right") for name in ("calls", "prompt", "completion", "total")),
    )
    cells: list[tuple[Cell, ...]] = [
        (w.path, w.kind, str(w.calls), f"{w.prompt:,}", f"{w.completion:,}", f"{w.total:,}") for w in rows
    ]
    totals = (sum(w.calls for w in rows), sum(w.prompt for w in rows), sum(w.completion for w in rows))
    total = sum(w.total for w in rows)
    cells.append((Text("total", style="bold"), "", str(totals[0]), f"{totals[1]:,}", f"{totals[2]:,}", f"{total:,}"))
    return fit_table(columns, cells, title="token shape")


def checkpoints_table(checkpoints: Sequence[Checkpoint]) -> Table:
    """Each checkpointed step with its status and (the start of) its stored output."""
    columns = (Col("step", shrink=True, min_width=16, keep_end=True), Col("status"), Col("output", shrink=True))
    rows = [(cp.path, status_text(cp.record.status), clip(cp.output)) for cp in checkpoints]
    return fit_table(columns, rows, title="checkpoints")


def events_table(events: Sequence[StoredEvent], started: float) -> Table:
    """Events with their time since the run started, type, step path and data."""
    columns = (
        Col("id", "right", drop=1),
        Col("at", "right"),
        Col("event"),
        Col("step", shrink=True, min_width=12, keep_end=True),
        Col("data", shrink=True, min_width=12),
    )
    rows = [
        (str(s.id), f"+{s.event.at - started:.3f}s", str(s.event.type), s.event.step_path, event_details(s.event.data))
        for s in events
    ]
    return fit_table(columns, rows, title="events")


def event_details(data: dict[str, Any], limit: int = 100) -> str:
    """An event's data as short ``key=value`` pairs."""
    pairs = []
    for key, value in data.items():
        if value is None or value == "" or key == "window":
            continue
        shown = f"{value:.3f}" if isinstance(value, float) else clip(value, 40)
        pairs.append(f"{key}={shown}")
    return clip(" ".join(pairs), limit)


def summary(status: Any, run_id: str, duration: float | None, prompt: int, completion: int) -> Text:
    """``completed  run run-1  1.2 s  1,234 tok``."""
    parts: list[str | tuple[str, str]] = [(str(status), f"bold {STYLES.get(str(status), ('', ''))[1]}")]
    parts += ["  run ", (run_id, "bold")]
    for extra in (seconds(duration), tokens(prompt, completion)):
        if extra:
            parts += ["  ", extra]
    return Text.assemble(*parts)


def report(*parts: Any) -> Group:
    """Renderables one after another, with a blank line between them."""
    spaced: list[Any] = []
    for part in parts:
        if spaced:
            spaced.append(Text(""))
        spaced.append(part)
    return Group(*spaced)
