"""Q-learning with TD(lambda) eligibility traces over one run's trajectory (pure functions).

For each step ``t`` with state ``s``, actor ``a`` and reward ``r``::

    delta  = r + gamma * V(s_next) - Q(s, a)       (V = 0 after the last step)
    e(s,a) = 1                                      (replacing trace)
    Q(x)  += step(x) * delta * e(x)   for every traced pair x
    e(x)  *= gamma * lam                            for every traced pair x

``V(s)`` is the largest Q of the pairs of ``s`` that have been visited (0 when none has). The step
size of a pair visited ``n`` times is ``max(alpha, 1/n)``: its first estimates are plain averages of
what it returned instead of being pulled towards the initial 0, and later ones move by ``alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jotty.learning.records import Key, QValue


@dataclass(frozen=True)
class Transition:
    """One step of a trajectory as TD sees it: in ``state``, ``actor`` ran and earned ``reward``."""

    state: str
    actor: str
    reward: float


def state_value(q: Mapping[Key, QValue], state: str, actors: Sequence[str]) -> float:
    """``V(state)``: the best Q among visited pairs of ``state`` (0.0 when none was visited)."""
    visited = [q[(state, a)].q for a in actors if (state, a) in q and q[(state, a)].visits > 0]
    return max(visited, default=0.0)


def td_lambda(
    transitions: Sequence[Transition],
    q: Mapping[Key, QValue],
    actors: Sequence[str],
    alpha: float,
    gamma: float,
    lam: float,
) -> dict[Key, QValue]:
    """The new values of every pair the trajectory touched, given the current values ``q``.

    ``actors`` are the actions considered when valuing a next state. Pairs missing from ``q`` start
    at ``QValue()``. The input mapping is not modified.
    """
    values: dict[Key, QValue] = dict(q)
    traces: dict[Key, float] = {}
    touched: set[Key] = set()
    for t, step in enumerate(transitions):
        key = (step.state, step.actor)
        current = values.get(key, QValue())
        values[key] = QValue(current.q, current.visits + 1)
        touched.add(key)
        following = transitions[t + 1].state if t + 1 < len(transitions) else None
        future = gamma * state_value(values, following, actors) if following is not None else 0.0
        delta = step.reward + future - values[key].q
        traces[key] = 1.0
        for pair, trace in traces.items():
            old = values[pair]
            size = max(alpha, 1.0 / old.visits)
            values[pair] = QValue(old.q + size * delta * trace, old.visits)
        decay = gamma * lam
        traces = {pair: trace * decay for pair, trace in traces.items() if trace * decay > 1e-9}
    return {key: values[key] for key in touched}
