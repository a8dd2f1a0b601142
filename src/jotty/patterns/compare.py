"""Running the same flow at several context levels and comparing the token shapes and outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jotty.context.levels import Level, check_level
from jotty.context.policy import ContextPolicy
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.flow import Flow
from jotty.patterns.result import RunResult
from jotty.runs.codec import dumps_loose


@dataclass
class LevelRun:
    """One level's run: its result, the tokens per window (as the provider reported them) and the
    window sizes the guard counted, and the L4 prefetch figures."""

    level: Level
    result: RunResult
    prompt: dict[str, int] = field(default_factory=dict)
    window: dict[str, int] = field(default_factory=dict)
    prefetch: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        tokens = self.result.tokens
        return {
            "level": str(self.level),
            "status": str(self.result.status),
            "output": self.result.output,
            "error": self.result.error,
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
            "window_tokens": sum(self.window.values()),
            "windows": {p: {"prompt": self.prompt.get(p, 0), "window": self.window.get(p, 0)} for p in self.paths()},
            "prefetch": self.prefetch,
        }

    def paths(self) -> list[str]:
        return list(dict.fromkeys([*self.window, *self.prompt]))


@dataclass
class Comparison:
    """The runs of one flow at each level, in the order asked."""

    runs: list[LevelRun]

    @property
    def baseline(self) -> LevelRun:
        return self.runs[0]

    def agrees(self, run: LevelRun) -> bool:
        """Whether ``run``'s output is the baseline's (compared as JSON); never when either run failed
        (two failed runs have no output to agree on: all levels failing read as outputs_agree)."""
        if not (run.result.ok and self.baseline.result.ok):
            return False
        return _same(run.result.output, self.baseline.result.output)

    def paths(self) -> list[str]:
        return list(dict.fromkeys(p for r in self.runs for p in r.paths()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": [r.to_dict() | {"agrees": self.agrees(r)} for r in self.runs],
            "baseline": str(self.baseline.level),
            "outputs_agree": all(self.agrees(r) for r in self.runs),
        }


def parse_levels(text: str | Sequence[str]) -> list[Level]:
    """``"L1,L3"`` (or a list) as levels, checked, without repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    levels: list[Level] = []
    for item in items:
        level = check_level(item.strip() if isinstance(item, str) else item, "--levels")
        if level is not None and level not in levels:
            levels.append(level)
    if not levels:
        raise ValidationError("--levels: name at least one level, e.g. --levels L1,L3")
    return levels


async def compare_levels(
    flow: Flow,
    input: Any,
    levels: Sequence[Level | str],
    *,
    policy: ContextPolicy | Callable[[], ContextPolicy | None] | None = None,
) -> Comparison:
    """Run ``flow`` on ``input`` once per level (in memory), one after another. ``policy`` is the
    pool each run picks from (a function makes a fresh one per run)."""
    runs = []
    for level in parse_levels(list(map(str, levels))):
        chosen = policy() if callable(policy) else policy
        result = await flow.run(input, level=level, policy=chosen)
        run = LevelRun(level, result)
        for window in result.token_shape.windows:
            run.prompt[window.path] = window.prompt
        for event in result.events:
            if event.type == EventType.CONTEXT_WINDOW:
                run.window[event.step_path] = run.window.get(event.step_path, 0) + int(event.data["tokens"])
            elif event.type == EventType.CONTEXT_PREFETCH and "run" in event.data:
                run.prefetch = event.data["run"]
        runs.append(run)
    return Comparison(runs)


def _same(a: Any, b: Any) -> bool:
    return a == b or dumps_loose(a) == dumps_loose(b)
