"""Context windows and the token shape of a run.

Every agent call happens in a context window with a stable path. A window that is used again (a
Team member, a Sequential's shared window, an orchestrator) accumulates tokens and calls; the list
of windows with their tokens is the run's *token shape* (seed 003: one growing window for
Sequential, N windows for a Chain, orchestrator + phase windows for Phased, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import TokenUsage


@dataclass(slots=True)
class ContextWindow:
    """One context window: where it is (``path``), what role it plays (``kind``) and what it used."""

    path: str
    kind: str
    prompt: int = 0
    completion: int = 0
    calls: int = 0

    @property
    def tokens(self) -> TokenUsage:
        return TokenUsage(self.prompt, self.completion)

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "path": self.path,
            "kind": self.kind,
            "prompt": self.prompt,
            "completion": self.completion,
            "calls": self.calls,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextWindow:
        return cls(data["path"], data["kind"], data["prompt"], data["completion"], data["calls"])


@dataclass
class TokenShape:
    """The windows of a run in the order they were first used, with their tokens."""

    pattern: str
    windows: list[ContextWindow] = field(default_factory=list)

    @property
    def total(self) -> TokenUsage:
        return TokenUsage(sum(w.prompt for w in self.windows), sum(w.completion for w in self.windows))

    def window(self, path: str) -> ContextWindow:
        """The window at ``path``; ``KeyError`` names the known paths when there is none."""
        for w in self.windows:
            if w.path == path:
                return w
        raise KeyError(f"no context window {path!r}; windows: {[w.path for w in self.windows]}")

    def kinds(self) -> dict[str, int]:
        """How many windows of each kind, e.g. ``{"step": 3}`` for a three-step Chain."""
        counts: dict[str, int] = {}
        for w in self.windows:
            counts[w.kind] = counts.get(w.kind, 0) + 1
        return counts

    def table(self) -> str:
        """A markdown table: one row per window."""
        rows = ["| window | kind | calls | prompt | completion | total |", "|---|---|---:|---:|---:|---:|"]
        rows += [f"| {w.path} | {w.kind} | {w.calls} | {w.prompt} | {w.completion} | {w.total} |" for w in self.windows]
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "windows": [w.to_dict() for w in self.windows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenShape:
        return cls(data["pattern"], [ContextWindow.from_dict(w) for w in data["windows"]])


class WindowLedger:
    """Counts tokens per window during a run; cheap enough to call on every agent call.

    Counts live in a few dicts keyed by window path, not in an object per window: a run of
    thousands of branches then leaves the garbage collector nothing per window to walk.
    """

    __slots__ = ("_calls", "_completions", "_kinds", "_prompts", "completion", "prompt")

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self._calls: dict[str, int] = {}
        self._prompts: dict[str, int] = {}
        self._completions: dict[str, int] = {}
        self.prompt = 0
        self.completion = 0

    def add(self, path: str, kind: str, tokens: TokenUsage, calls: int = 1) -> int:
        """Record ``calls`` calls in window ``path`` (created with ``kind`` on first use) that used
        ``tokens``; return the window's total tokens so far."""
        if path in self._calls:
            self._calls[path] += calls
        else:
            self._kinds[path] = kind
            self._calls[path] = calls
            self._prompts[path] = self._completions[path] = 0
        if tokens.prompt or tokens.completion:
            self._prompts[path] += tokens.prompt
            self._completions[path] += tokens.completion
            self.prompt += tokens.prompt
            self.completion += tokens.completion
        return self._prompts[path] + self._completions[path]

    def restore(self, windows: list[ContextWindow]) -> None:
        """Start from the windows of an earlier session of the same run."""
        for w in windows:
            self.add(w.path, w.kind, w.tokens, w.calls)

    def shape(self, pattern: str) -> TokenShape:
        """The token shape so far."""
        return TokenShape(
            pattern,
            [
                ContextWindow(path, kind, self._prompts[path], self._completions[path], self._calls[path])
                for path, kind in self._kinds.items()
            ],
        )
