"""TD(lambda) update math on tiny trajectories, checked against values computed by hand."""

from __future__ import annotations

import pytest

from jotty.learning import QValue, Transition, td_lambda

ACTORS = ("A", "B", "C")


def test_two_steps_with_first_visit_averaging() -> None:
    # Fresh pairs: the step size is 1/visits = 1, so each estimate is the lambda-return itself.
    steps = [Transition("s0", "A", -0.5), Transition("s1", "B", 1.0)]
    new = td_lambda(steps, {}, ACTORS, alpha=0.5, gamma=0.9, lam=0.8)
    # t=0: delta = -0.5 + 0.9 * V(s1)=0 - 0 = -0.5            -> Q(s0,A) = -0.5
    # t=1: delta = 1.0 - 0 = 1.0                              -> Q(s1,B) = 1.0
    #      trace of (s0,A) = 0.9 * 0.8 = 0.72                 -> Q(s0,A) = -0.5 + 0.72 = 0.22
    assert new[("s0", "A")].q == pytest.approx(0.22)
    assert new[("s1", "B")].q == pytest.approx(1.0)
    assert new[("s0", "A")].visits == new[("s1", "B")].visits == 1


def test_two_steps_with_constant_step_size() -> None:
    # Pairs visited 10 times before: step size max(alpha, 1/11) = alpha = 0.5.
    known = {("s0", "A"): QValue(0.0, 10), ("s1", "B"): QValue(0.0, 10)}
    steps = [Transition("s0", "A", -0.5), Transition("s1", "B", 1.0)]
    new = td_lambda(steps, known, ACTORS, alpha=0.5, gamma=0.9, lam=0.8)
    # t=0: delta = -0.5                        -> Q(s0,A) = 0.5 * -0.5 = -0.25
    # t=1: delta = 1.0                         -> Q(s1,B) = 0.5
    #      Q(s0,A) += 0.5 * 1.0 * 0.72 = 0.36  -> 0.11
    assert new[("s0", "A")].q == pytest.approx(0.11)
    assert new[("s1", "B")].q == pytest.approx(0.5)
    assert new[("s0", "A")].visits == new[("s1", "B")].visits == 11


def test_bootstraps_from_best_visited_value_of_next_state() -> None:
    known = {("s1", "B"): QValue(0.4, 10), ("s1", "C"): QValue(0.8, 10), ("s0", "A"): QValue(0.0, 10)}
    new = td_lambda([Transition("s0", "A", 0.0)], known, ACTORS, alpha=0.5, gamma=0.9, lam=0.0)
    # a one-step trajectory is terminal: V(next) = 0, so delta = 0 - 0 and nothing moves
    assert new[("s0", "A")].q == pytest.approx(0.0)
    steps = [Transition("s0", "A", 0.0), Transition("s1", "B", 0.0)]
    new = td_lambda(steps, known, ACTORS, alpha=0.5, gamma=0.9, lam=0.0)
    # t=0: delta = 0 + 0.9 * max(0.4, 0.8) - 0 = 0.72 -> Q(s0,A) = 0.36
    assert new[("s0", "A")].q == pytest.approx(0.36)
    # t=1 (terminal): delta = 0 - 0.4 -> Q(s1,B) = 0.4 - 0.2
    assert new[("s1", "B")].q == pytest.approx(0.2)


def test_eligibility_traces_decay_by_gamma_lambda_per_step() -> None:
    known = {(s, a): QValue(0.0, 10) for s, a in (("s0", "A"), ("s1", "B"), ("s2", "C"))}
    steps = [Transition("s0", "A", 0.0), Transition("s1", "B", 0.0), Transition("s2", "C", 1.0)]
    new = td_lambda(steps, known, ACTORS, alpha=0.5, gamma=0.9, lam=0.5)
    decay = 0.9 * 0.5
    assert new[("s2", "C")].q == pytest.approx(0.5)
    assert new[("s1", "B")].q == pytest.approx(0.5 * decay)
    assert new[("s0", "A")].q == pytest.approx(0.5 * decay**2)


def test_lambda_zero_updates_only_the_current_pair() -> None:
    known = {(s, a): QValue(0.0, 10) for s, a in (("s0", "A"), ("s1", "B"))}
    steps = [Transition("s0", "A", 0.0), Transition("s1", "B", 1.0)]
    new = td_lambda(steps, known, ACTORS, alpha=0.5, gamma=0.9, lam=0.0)
    assert new[("s0", "A")].q == pytest.approx(0.0)
    assert new[("s1", "B")].q == pytest.approx(0.5)


def test_input_values_are_not_modified() -> None:
    known = {("s0", "A"): QValue(0.3, 2)}
    td_lambda([Transition("s0", "A", 1.0)], known, ACTORS, alpha=0.5, gamma=0.9, lam=0.8)
    assert known == {("s0", "A"): QValue(0.3, 2)}
