"""The Router: picks which actor runs next and learns from how each run went.

Usage (what the Conductor does for each run)::

    router = Router(["coder", "reviewer", "writer"], store="jotty.db")
    run = router.start("fix the failing login test", {"category": "code", "task_id": task_id})
    for _ in range(max_iterations):
        decision = router.choose(run)            # RouteDecision: actor, scores, reason
        ...                                      # run decision.actor, then report what happened:
        router.record(run, decision.actor, success=accepted, validated=verdict,  # True/False/None
                      failed=raised, tokens=usage.total, seconds=elapsed)
        if accepted:
            break
    summary = router.finish(run)                 # TD(lambda) update; LearningSummary for the result

``choose`` raises ``ActorsExhaustedError`` when every candidate is stuck on the goal.

The router keeps no learned state in memory: every choice reads the store and every update is an
increment written in one short transaction, so chat, sync runs and queue workers in several
processes share and merge what they learn.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from jotty.errors import RunError, ValidationError
from jotty.learning.decision import CandidateScore, Reason, RouteDecision
from jotty.learning.exploration import chance_better, evidence_factor, stuck_actors, ucb_bonus
from jotty.learning.features import ALL_GOALS, GoalFeatures, category_feature
from jotty.learning.predictor import estimate
from jotty.learning.records import FeatureStats, Observation, QValue
from jotty.learning.reward import DEFAULT_WEIGHTS, RewardWeights, reward
from jotty.learning.store import LearningStore, StoreSpec, open_store
from jotty.learning.summary import LearningSummary, QUpdate
from jotty.learning.table import LearningTable, learning_table
from jotty.learning.td import Transition, state_value, td_lambda
from jotty.learning.trajectory import Outcome, Step, Trajectory, state_key

logger = logging.getLogger(__name__)


class ActorsExhaustedError(RunError):
    """Every candidate actor is stuck on this goal: stop the run or offer other actors."""


def _check_range(name: str, value: float, low: float, high: float, open_low: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or value < low or (open_low and value == low):
        bounds = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise ValidationError(f"{name} must be a number in {bounds}, got {value!r}")
    return float(value)


def _check_actors(actors: Sequence[str]) -> tuple[str, ...]:
    if isinstance(actors, str) or not isinstance(actors, Sequence):
        raise ValidationError("actors must be a list of actor names, e.g. ['coder', 'reviewer']")
    if not actors:
        raise ValidationError("actors is empty: give the names of the actors the router chooses from")
    if not all(isinstance(a, str) and a.strip() for a in actors):
        raise ValidationError(f"every actor name must be a non-empty string, got {list(actors)!r}")
    if len(set(actors)) != len(actors):
        raise ValidationError(f"actor names must be unique, got {list(actors)!r}")
    return tuple(actors)


class Router:
    """Chooses actors by estimated value plus an exploration bonus; learns by TD(lambda).

    A candidate's estimate combines its learned ``Q(state, actor)`` with the outcome predictor's
    value for this goal, each weighted by the observations behind it; the UCB-style bonus favours
    actors with little evidence; actors never tried at all go first.

    ``actors`` are every name the router may choose. ``store`` is a ``LearningStore``, an SQLite
    connection, a path or URL, or None (the default store). ``alpha`` is the TD step size, ``gamma``
    the discount, ``lam`` the trace decay, ``explore`` the weight of the exploration bonus and
    ``prior_strength`` the pseudo-observations behind the predictor's prior at each level. An actor
    that fails the same goal ``stuck_after`` times in a row is abandoned for that goal, until
    ``stuck_for`` seconds pass without another failure (None: for good), so a goal that failed
    during an outage can be tried again later. ``weights`` turn step outcomes into rewards.
    """

    def __init__(
        self,
        actors: Sequence[str],
        store: StoreSpec = None,
        *,
        alpha: float = 0.1,
        gamma: float = 0.9,
        lam: float = 0.8,
        explore: float = 0.3,
        prior_strength: float = 4.0,
        stuck_after: int = 2,
        stuck_for: float | None = 3600.0,
        weights: RewardWeights = DEFAULT_WEIGHTS,
    ) -> None:
        self.actors = _check_actors(actors)
        self.alpha = _check_range("alpha", alpha, 0.0, 1.0, open_low=True)
        self.gamma = _check_range("gamma", gamma, 0.0, 1.0)
        self.lam = _check_range("lam", lam, 0.0, 1.0)
        self.explore = _check_range("explore", explore, 0.0, math.inf)
        self.prior_strength = _check_range("prior_strength", prior_strength, 0.0, math.inf, open_low=True)
        if isinstance(stuck_after, bool) or not isinstance(stuck_after, int) or stuck_after < 1:
            raise ValidationError(f"stuck_after must be an integer >= 1, got {stuck_after!r}")
        self.stuck_after = stuck_after
        self.stuck_for = (
            None if stuck_for is None else _check_range("stuck_for", stuck_for, 0.0, math.inf, open_low=True)
        )
        if not isinstance(weights, RewardWeights):
            raise ValidationError("weights must be a jotty.learning.RewardWeights")
        self.weights = weights
        self._owns_store = not isinstance(store, LearningStore)
        self.store = open_store(store)

    def start(
        self, goal: str | GoalFeatures, context: Mapping[str, Any] | None = None, run_id: str | None = None
    ) -> Trajectory:
        """Begin a run on ``goal`` (text, or features already computed)."""
        features = goal if isinstance(goal, GoalFeatures) else GoalFeatures.from_goal(goal, context)
        since = None if self.stuck_for is None else time.time() - self.stuck_for
        prior = self.store.failure_streaks(features.goal_key, self.actors, since)
        return Trajectory(features, run_id=run_id, prior_failures=prior)

    def choose(
        self, run: Trajectory, candidates: Collection[str] | None = None, exclude: Iterable[str] = ()
    ) -> RouteDecision:
        """Pick the actor for ``run``'s next step among ``candidates`` (default: all) minus ``exclude``.

        Raises ``ActorsExhaustedError`` when every remaining candidate is stuck on this goal.
        """
        self._check_open(run)
        names = self._candidates(candidates, exclude)
        state = run.state
        after_failure = state_key(run.features.category, len(run.steps) + 1, str(Outcome.FAILED))
        q = self.store.q_values({state, after_failure}, self.actors)
        stats = self.store.feature_stats(names, run.features.feature_names())
        stuck = stuck_actors(run.failures(), names, self.stuck_after)
        available = [a for a in names if a not in stuck]
        if not available:
            raise ActorsExhaustedError(
                f"every candidate ({', '.join(names)}) failed this goal {self.stuck_after} or more times "
                "in a row: stop the run, or pass other candidates"
            )
        scores = self._score(run, names, stuck, q, stats, state_value(q, after_failure, self.actors))
        pick = min(available, key=lambda a: (not scores[a].untried, -scores[a].score, names.index(a)))
        reason, why = self._reason(pick, names, stuck, scores, state)
        decision = RouteDecision(pick, reason, state, scores, why, stuck)
        run.decisions.append(decision)
        logger.debug("route %s -> %s (%s): %s", state, pick, reason, why)
        return decision

    def record(
        self,
        run: Trajectory,
        actor: str,
        *,
        success: bool,
        validated: bool | None = None,
        tokens: int = 0,
        seconds: float = 0.0,
        failed: bool = False,
    ) -> Step:
        """Record how ``actor``'s step went (see ``jotty.learning.reward``); updates the predictor now."""
        self._check_open(run)
        self._check_known([actor])
        value = reward(success, validated, tokens, seconds, failed, self.weights)
        outcome = Outcome.OK if success else Outcome.FAILED if failed else Outcome.REJECTED
        step = Step(run.state, actor, outcome, value, tokens, float(seconds), validated)
        features = run.features.feature_names()
        observation = Observation(actor, features, success, value, tokens, float(seconds))
        self.store.add_observation(observation, run.features.goal_key)
        run.steps.append(step)
        return step

    def finish(self, run: Trajectory, final_reward: float = 0.0) -> LearningSummary:
        """End ``run``: apply TD(lambda) over its steps (``final_reward`` is added to the last step's
        reward) in one transaction, and return its learning summary."""
        self._check_open(run)
        extra = _check_range("final_reward", final_reward, -math.inf, math.inf)
        transitions = [Transition(s.state, s.actor, s.reward) for s in run.steps]
        if transitions:
            last = transitions[-1]
            transitions[-1] = Transition(last.state, last.actor, last.reward + extra)
        keys = {(t.state, a) for t in transitions for a in self.actors}
        changes = (
            self.store.update_q(
                keys, lambda q: td_lambda(transitions, q, self.actors, self.alpha, self.gamma, self.lam)
            )
            if transitions
            else {}
        )
        run.finished = True
        updates = tuple(
            QUpdate(state, actor, old.q, new.q, new.visits) for (state, actor), (old, new) in changes.items()
        )
        summary = LearningSummary(
            goal=run.features,
            run_id=run.run_id,
            decisions=tuple(run.decisions),
            steps=tuple(run.steps),
            total_reward=run.total_reward + extra if transitions else 0.0,
            updates=updates,
            abandoned=stuck_actors(run.failures(), self.actors, self.stuck_after),
        )
        logger.debug(
            "learned from run %s (%s): %d steps, reward %.3f",
            run.run_id or "-",
            run.features.category,
            len(run.steps),
            summary.total_reward,
        )
        return summary

    def summary(self) -> LearningTable:
        """What has been learned so far about this router's actors."""
        return learning_table(self.store, self.actors, self.prior_strength)

    def close(self) -> None:
        """Close the store if the router opened it."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------

    def _score(
        self,
        run: Trajectory,
        names: Sequence[str],
        stuck: Collection[str],
        q: Mapping[tuple[str, str], QValue],
        stats: Mapping[tuple[str, str], FeatureStats],
        continuation: float,
    ) -> dict[str, CandidateScore]:
        state, m = run.state, self.prior_strength
        estimates = {}
        for actor in names:
            mine = {feature: s for (a, feature), s in stats.items() if a == actor}
            estimates[actor] = estimate(mine, run.features, m)
        total = sum(estimates[a].evidence for a in names if a not in stuck)
        expected_of: dict[str, float] = {}
        for actor in names:
            est, learned = estimates[actor], q.get((state, actor), QValue())
            # The predictor's value: expected reward now, plus the discounted value of going on after a
            # failure. It and Q are weighted by the observations behind them (Q, a moving average
            # with step alpha, is worth at most 1/alpha).
            predicted = est.mean_reward + self.gamma * (1.0 - est.p_success) * continuation
            q_weight = min(learned.visits, 1.0 / self.alpha)
            p_weight = m + est.evidence
            expected_of[actor] = (q_weight * learned.q + p_weight * predicted) / (q_weight + p_weight)
        shrink = self._evidence_shrink(run, [a for a in names if a not in stuck], stats, expected_of)
        scores = {}
        for actor in names:
            est, learned = estimates[actor], q.get((state, actor), QValue())
            expected = expected_of[actor]
            bonus = ucb_bonus(est.evidence, total, self.explore) * shrink.get(actor, 1.0)
            scores[actor] = CandidateScore(
                actor=actor,
                q=learned.q,
                n=learned.visits,
                p_success=est.p_success,
                evidence=est.evidence,
                expected=expected,
                ucb_bonus=bonus,
                score=expected + bonus,
                untried=(actor, ALL_GOALS) not in stats,
                abandoned=actor in stuck,
            )
        return scores

    def _evidence_shrink(
        self,
        run: Trajectory,
        available: Sequence[str],
        stats: Mapping[tuple[str, str], FeatureStats],
        expected: Mapping[str, float],
    ) -> dict[str, float]:
        """Each available actor's share of its exploration bonus: the leader (best estimate) keeps
        all of it; another keeps ``evidence_factor`` of its chance, from the counts on this goal's
        category, of succeeding more often than the leader."""
        if len(available) < 2:
            return {}
        feature = category_feature(run.features.category)
        counts = {a: stats.get((a, feature), FeatureStats()) for a in available}
        leader = max(available, key=lambda a: expected[a])
        best = counts[leader]
        out = {}
        for actor in available:
            if actor != leader:
                mine = counts[actor]
                chance = chance_better(
                    mine.successes, mine.attempts - mine.successes, best.successes, best.attempts - best.successes
                )
                out[actor] = evidence_factor(chance)
        return out

    def _reason(
        self,
        pick: str,
        names: Sequence[str],
        stuck: Sequence[str],
        scores: Mapping[str, CandidateScore],
        state: str,
    ) -> tuple[Reason, str]:
        chosen = scores[pick]
        best = max(names, key=lambda a: (scores[a].expected, -names.index(a)))
        if len(names) == 1:
            return Reason.ONLY, f"{pick} is the only candidate"
        if stuck and scores[best].abandoned:
            return Reason.STUCK, (
                f"{', '.join(stuck)} failed this goal {self.stuck_after}+ times in a row and "
                f"{'was' if len(stuck) == 1 else 'were'} abandoned; {pick} is the best of the rest "
                f"(estimate {chosen.expected:.2f})"
            )
        if chosen.untried:
            return Reason.EXPLORE, f"{pick} has never been tried"
        if best != pick:
            return Reason.EXPLORE, (
                f"{pick} has the highest upper bound ({chosen.expected:.2f} + bonus "
                f"{chosen.ucb_bonus:.2f}); {best} has the best estimate ({scores[best].expected:.2f})"
            )
        if chosen.n < self.prior_strength:
            return Reason.PREDICTOR, (
                f"{pick} has the best estimate ({chosen.expected:.2f}, p_success "
                f"{chosen.p_success:.2f}), mostly from the predictor: {chosen.n} visits in {state}"
            )
        return Reason.EXPLOIT, f"{pick} has the best estimate ({chosen.expected:.2f}) after {chosen.n} visits"

    def _candidates(self, candidates: Collection[str] | None, exclude: Iterable[str]) -> tuple[str, ...]:
        if isinstance(exclude, str):
            exclude = [exclude]
        excluded = set(exclude)
        if candidates is None:
            chosen: tuple[str, ...] = self.actors
        elif isinstance(candidates, str):
            chosen = (candidates,)
        else:
            chosen = tuple(dict.fromkeys(candidates))
        self._check_known([*chosen, *excluded])
        names = tuple(a for a in chosen if a not in excluded)
        if not names:
            raise ValidationError("no candidate left to choose from: pass candidates not all excluded")
        return names

    def _check_known(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self.actors]
        if unknown:
            raise ValidationError(
                f"unknown actor(s) {unknown!r}: this router knows {list(self.actors)!r}; "
                "create the Router with every actor it may choose"
            )

    def _check_open(self, run: Trajectory) -> None:
        if not isinstance(run, Trajectory):
            raise ValidationError("run must be the Trajectory returned by Router.start()")
        if run.finished:
            raise ValidationError("this run has already finished: start a new one with Router.start()")
