"""Salience: how much an item deserves to be kept, from its outcome, reward, surprise and importance.

The signals come as parameters or in the metadata (``outcome``, ``reward``, ``predicted`` or
``p_success``, ``surprise``, ``importance``). Surprise is measured against the router's prediction:
``|succeeded - predicted|``. An item with no content words (``"ok"``, ``"thanks"``) has no salience.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jotty.memory.text import terms

NEUTRAL = 0.5
"""The salience of an item without any signal."""
_FAILED = frozenset({"failure", "failed", "error", "errored", "aborted", "timeout", "cancelled"})
_SUCCEEDED = frozenset({"success", "succeeded", "completed", "ok", "done"})


@dataclass(frozen=True)
class Signals:
    """The evidence an item brings about its own importance; None where unknown."""

    importance: float | None = None
    outcome: str | None = None
    reward: float | None = None
    predicted: float | None = None
    surprise: float | None = None

    @classmethod
    def of(cls, metadata: Mapping[str, Any], **given: Any) -> Signals:
        """Signals from explicit values, else from the metadata keys of the same names."""

        def pick(*names: str) -> Any:
            for name in names:
                if given.get(name) is not None:
                    return given[name]
            for name in names:
                value = metadata.get(name)
                if value is not None and not isinstance(value, bool) and (name == "outcome" or _number(value)):
                    return value
            return None

        outcome = pick("outcome")
        return cls(
            importance=pick("importance"),
            outcome=str(outcome).lower() if outcome is not None else None,
            reward=pick("reward"),
            predicted=pick("predicted", "p_success"),
            surprise=pick("surprise"),
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def salience(text: str, signals: Signals) -> tuple[float, str]:
    """The salience (0..1) of ``text`` and the reason, in words."""
    if not terms(text):
        return 0.0, "no content words"
    parts: list[str] = []
    computed = None
    failed = signals.outcome in _FAILED
    succeeded = signals.outcome in _SUCCEEDED
    surprise = signals.surprise
    if surprise is None and signals.predicted is not None and (failed or succeeded):
        surprise = abs((1.0 if succeeded else 0.0) - min(1.0, max(0.0, signals.predicted)))
    if signals.outcome is not None or signals.reward is not None or surprise is not None:
        computed = 0.25
        if failed:
            computed += 0.3
            parts.append("a failure")
        if signals.reward is not None:
            computed += 0.15 * min(1.0, abs(signals.reward))
            parts.append(f"reward {signals.reward:g}")
        if surprise is not None:
            computed += 0.45 * min(1.0, max(0.0, surprise))
            parts.append(f"surprise {surprise:.2f}")
        computed = min(1.0, computed)
    if signals.importance is not None:
        parts.append(f"importance {signals.importance:g}")
        value = signals.importance if computed is None else 0.5 * (signals.importance + computed)
    else:
        value = NEUTRAL if computed is None else computed
    return round(value, 4), ", ".join(parts) or "no signal (neutral)"
