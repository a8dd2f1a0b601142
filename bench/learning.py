"""Benchmark: does jotty.learning's Router route goals to the right actor, and how fast?

Environment (hidden from every policy except the oracle): 5 actors and 6 goal categories. Each
(actor, category) pair has a success probability and a cost (tokens and seconds); categories come
in pairs that need the same skill (backend/frontend: code, data/research: analysis, docs/support:
writing), and an actor's success rates follow its strength and its skills, plus noise. A goal has a
category and keywords: a verb, two words of its category, and (80% of the time) the word of its
skill. An episode is one goal: a policy picks an actor and the actor succeeds with its hidden
probability. The reward is ``jotty.learning.reward(success, tokens=..., seconds=...)``, that is
success (1 or 0) minus cost. With ``--attempts N`` a policy picks again after a failure, up to N
attempts per goal (the Conductor's dynamic mode); the default, 1, is the plain routing problem.

Policies, all facing the same goals and the same random draws (common random numbers):
- jotty: the real ``jotty.learning.Router`` with its default settings on a temporary SQLite store.
  It sees only the category, the keywords and the outcomes.
- random: a uniformly random actor at each attempt.
- best single actor: the one actor with the best expected total over the run, known in hindsight.
- UCB1 per category: textbook UCB1 over actors, one bandit per category, each attempt one pull
  (rewards scaled to [0, 1] with the environment's true bounds).
- oracle: knows the hidden rates and costs; picks by dynamic programming over the attempts left.

Measures, averaged over seeds:
- the expected reward of an episode: the sum over its attempts of the expected reward of the actor
  chosen (an unbiased, low-noise estimate of what the policy earns);
- regret = oracle's expected episode reward - the policy's, summed over episodes;
- success rate: share of episodes that ended in a success.

Targets: (1) jotty's reward over episodes 151-200 is at least 90% of the oracle's over the same
episodes; (2) jotty's cumulative regret at episode 500 is lower than UCB1's.

The Router's default settings were chosen on environments of seeds 100-139; the table reports
seeds 0-19 (``--seeds N`` runs seeds 0..N-1).

Run: ``.venv/bin/python bench/learning.py`` (``--seeds``, ``--episodes``, ``--plot``).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jotty.learning import DEFAULT_WEIGHTS, Router, Trajectory

ACTORS = ("atlas", "birch", "cedar", "delta", "ember")
SKILL_OF = {
    "backend": "code",
    "frontend": "code",
    "data": "analysis",
    "research": "analysis",
    "docs": "writing",
    "support": "writing",
}
CATEGORY_WORDS = {
    "backend": ("api", "database", "endpoint", "migration"),
    "frontend": ("css", "component", "layout", "button"),
    "data": ("pipeline", "etl", "dataset", "schema"),
    "research": ("survey", "paper", "benchmark", "literature"),
    "docs": ("readme", "guide", "tutorial", "changelog"),
    "support": ("ticket", "customer", "reply", "faq"),
}
SKILL_WORD = {"code": "python", "analysis": "statistics", "writing": "prose"}
VERBS = ("fix", "add", "update", "review", "improve", "check", "write", "plan")
CATEGORIES = tuple(SKILL_OF)
COST_JITTER = (0.8, 1.2)
WINDOW = (151, 200)
ROOT = Path(__file__).resolve().parent.parent


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class Goal:
    """One episode's goal, with its pre-drawn randomness (shared by every policy)."""

    index: int
    category: str
    text: str
    draws: tuple[float, ...]
    jitter: tuple[float, ...]


@dataclass
class Environment:
    """Hidden success probabilities and mean costs per (actor, category), and the goal sequence."""

    p: dict[tuple[str, str], float]
    tokens: dict[tuple[str, str], float]
    seconds: dict[tuple[str, str], float]
    goals: list[Goal]
    attempts: int

    @classmethod
    def generate(cls, seed: int, episodes: int, attempts: int = 1) -> Environment:
        rng = random.Random(seed)
        strength = {a: rng.gauss(0, 0.6) for a in ACTORS}
        skill = {(a, s): rng.gauss(0, 1.2) for a in ACTORS for s in SKILL_WORD}
        difficulty = {c: rng.gauss(0, 0.4) for c in CATEGORIES}
        price = {a: (rng.uniform(2_000, 40_000), rng.uniform(5, 90)) for a in ACTORS}
        size = {c: rng.uniform(0.6, 1.4) for c in CATEGORIES}
        p, tokens, seconds = {}, {}, {}
        for a in ACTORS:
            for c in CATEGORIES:
                logit = 0.3 + strength[a] + skill[(a, SKILL_OF[c])] + rng.gauss(0, 0.5) - difficulty[c]
                p[(a, c)] = _sigmoid(logit)
                tokens[(a, c)] = price[a][0] * size[c]
                seconds[(a, c)] = price[a][1] * size[c]
        goals = []
        for i in range(episodes):
            c = rng.choice(CATEGORIES)
            words = [rng.choice(VERBS), *rng.sample(CATEGORY_WORDS[c], 2)]
            if rng.random() < 0.8:
                words.append(SKILL_WORD[SKILL_OF[c]])
            rng.shuffle(words)
            draws = tuple(rng.random() for _ in range(attempts))
            jitter = tuple(rng.choice(COST_JITTER) for _ in range(attempts))
            goals.append(Goal(i, c, " ".join(words), draws, jitter))
        return cls(p, tokens, seconds, goals, attempts)

    def cost(self, actor: str, category: str, jitter: float = 1.0) -> float:
        key = (actor, category)
        return DEFAULT_WEIGHTS.cost(round(self.tokens[key] * jitter), self.seconds[key] * jitter)

    def mean_reward(self, actor: str, category: str) -> float:
        """Expected reward of one attempt (the jitter is symmetric and the cost cap never binds)."""
        p = self.p[(actor, category)]
        return p * DEFAULT_WEIGHTS.success - self.cost(actor, category)

    def reward_bounds(self) -> tuple[float, float]:
        """The lowest and highest reward any attempt can earn here (for UCB1's scaling)."""
        costs = [self.cost(a, c, j) for a in ACTORS for c in CATEGORIES for j in COST_JITTER]
        return -max(costs), DEFAULT_WEIGHTS.success - min(costs)

    def oracle_values(self, category: str) -> list[float]:
        """``V[k]``: the best expected reward with ``k`` attempts left."""
        values = [0.0]
        for _ in range(self.attempts):
            values.append(max(self._lookahead(a, category, values[-1]) for a in ACTORS))
        return values

    def _lookahead(self, actor: str, category: str, later: float) -> float:
        return self.mean_reward(actor, category) + (1 - self.p[(actor, category)]) * later

    def oracle_choice(self, category: str, attempts_left: int) -> str:
        later = self.oracle_values(category)[attempts_left - 1]
        return max(ACTORS, key=lambda a: self._lookahead(a, category, later))

    def fixed_actor_value(self, actor: str, category: str) -> float:
        """Expected episode reward of always choosing ``actor``."""
        p = self.p[(actor, category)]
        return sum((1 - p) ** j for j in range(self.attempts)) * self.mean_reward(actor, category)


class Policy(Protocol):
    """A routing policy under test."""

    def begin(self, goal: Goal) -> None: ...
    def choose(self, goal: Goal, attempt: int) -> str: ...
    def observe(self, goal: Goal, actor: str, success: bool, tokens: int, seconds: float) -> None: ...
    def end(self, goal: Goal) -> None: ...


class JottyPolicy:
    """The real Router, on a fresh SQLite store."""

    def __init__(self, store: Path) -> None:
        self.router = Router(list(ACTORS), store=store)
        self.run: Trajectory | None = None

    def begin(self, goal: Goal) -> None:
        self.run = self.router.start(goal.text, {"category": goal.category, "task_id": f"goal-{goal.index}"})

    def choose(self, goal: Goal, attempt: int) -> str:
        assert self.run is not None
        return self.router.choose(self.run).actor

    def observe(self, goal: Goal, actor: str, success: bool, tokens: int, seconds: float) -> None:
        assert self.run is not None
        self.router.record(self.run, actor, success=success, tokens=tokens, seconds=seconds)

    def end(self, goal: Goal) -> None:
        assert self.run is not None
        self.router.finish(self.run)
        self.run = None


@dataclass
class StatelessPolicy:
    """A policy that learns nothing: ``pick(goal, attempt)`` decides."""

    pick: Callable[[Goal, int], str]

    def begin(self, goal: Goal) -> None:
        pass

    def choose(self, goal: Goal, attempt: int) -> str:
        return self.pick(goal, attempt)

    def observe(self, goal: Goal, actor: str, success: bool, tokens: int, seconds: float) -> None:
        pass

    def end(self, goal: Goal) -> None:
        pass


@dataclass
class UCB1PerCategory:
    """Textbook UCB1, one independent bandit per category; rewards scaled to [0, 1]."""

    env: Environment
    pulls: dict[tuple[str, str], int] = field(default_factory=dict)
    total: dict[tuple[str, str], float] = field(default_factory=dict)

    def begin(self, goal: Goal) -> None:
        pass

    def choose(self, goal: Goal, attempt: int) -> str:
        c = goal.category
        for a in ACTORS:
            if not self.pulls.get((a, c)):
                return a
        n = sum(self.pulls[(a, c)] for a in ACTORS)

        def ucb(a: str) -> float:
            k = self.pulls[(a, c)]
            return self.total[(a, c)] / k + math.sqrt(2 * math.log(n) / k)

        return max(ACTORS, key=ucb)

    def observe(self, goal: Goal, actor: str, success: bool, tokens: int, seconds: float) -> None:
        low, high = self.env.reward_bounds()
        value = _step_reward(success, tokens, seconds)
        key = (actor, goal.category)
        self.pulls[key] = self.pulls.get(key, 0) + 1
        self.total[key] = self.total.get(key, 0.0) + (value - low) / (high - low)

    def end(self, goal: Goal) -> None:
        pass


def _step_reward(success: bool, tokens: int, seconds: float) -> float:
    from jotty.learning import reward

    return reward(success, tokens=tokens, seconds=seconds)


@dataclass
class Trace:
    """Per-episode expected reward and success of one policy on one seed."""

    reward: list[float] = field(default_factory=list)
    success: list[bool] = field(default_factory=list)


def play(env: Environment, policy: Policy) -> Trace:
    """Run every goal of ``env`` through ``policy``."""
    trace = Trace()
    for goal in env.goals:
        policy.begin(goal)
        expected, success = 0.0, False
        for attempt in range(env.attempts):
            actor = policy.choose(goal, attempt)
            key = (actor, goal.category)
            expected += env.mean_reward(*key)
            success = goal.draws[attempt] < env.p[key]
            tokens = round(env.tokens[key] * goal.jitter[attempt])
            policy.observe(goal, actor, success, tokens, env.seconds[key] * goal.jitter[attempt])
            if success:
                break
        policy.end(goal)
        trace.reward.append(expected)
        trace.success.append(success)
    return trace


def best_single_actor(env: Environment) -> str:
    """The actor with the best expected total over this run's goals (hindsight)."""
    return max(ACTORS, key=lambda a: sum(env.fixed_actor_value(a, g.category) for g in env.goals))


POLICIES = ("jotty", "UCB1 per category", "best single actor", "random", "oracle")


def run_seed(seed: int, episodes: int, attempts: int, workdir: Path) -> tuple[dict[str, Trace], list[float]]:
    """Every policy on one environment; also the oracle's expected reward per episode."""
    env = Environment.generate(seed, episodes, attempts)
    rng = random.Random(seed + 10_000)
    best = best_single_actor(env)
    jotty = JottyPolicy(workdir / f"learning-{seed}.db")
    policies: dict[str, Policy] = {
        "jotty": jotty,
        "UCB1 per category": UCB1PerCategory(env),
        "best single actor": StatelessPolicy(lambda g, i: best),
        "random": StatelessPolicy(lambda g, i: rng.choice(ACTORS)),
        "oracle": StatelessPolicy(lambda g, i: env.oracle_choice(g.category, env.attempts - i)),
    }
    traces = {name: play(env, policy) for name, policy in policies.items()}
    jotty.router.close()
    oracle = [env.oracle_values(g.category)[env.attempts] for g in env.goals]
    return traces, oracle


@dataclass
class Row:
    """One policy's results averaged over seeds."""

    policy: str
    success_rate: float
    mean_reward: float
    window_ratio: float
    regret_200: float
    regret_end: float
    regret_curve: list[float]
    ratio_curve: list[float]


def _mean_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    return [statistics.fmean(values) for values in zip(*curves, strict=True)]


def _cumulative(values: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def _moving(values: Sequence[float], width: int) -> list[float]:
    return [statistics.fmean(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def summarise(results: list[tuple[dict[str, Trace], list[float]]]) -> list[Row]:
    """Average every policy's traces over the seeds."""
    oracle = _mean_curve([o for _, o in results])
    lo, hi = WINDOW[0] - 1, WINDOW[1]
    rows = []
    for name in POLICIES:
        reward = _mean_curve([t[name].reward for t, _ in results])
        success = statistics.fmean(s for t, _ in results for s in t[name].success)
        regret = _cumulative([o - r for o, r in zip(oracle, reward, strict=True)])
        window = statistics.fmean(reward[lo:hi]) / statistics.fmean(oracle[lo:hi])
        ratio = [r / o for r, o in zip(_moving(reward, 25), _moving(oracle, 25), strict=True)]
        rows.append(
            Row(
                name, success, statistics.fmean(reward), window,
                regret[WINDOW[1] - 1], regret[-1], regret, ratio,
            )
        )  # fmt: skip
    return rows


def table(rows: list[Row], episodes: int, seeds: int) -> str:
    """The results as a markdown table, followed by the targets."""
    lines = [
        f"| policy | success rate (1-{episodes}) | mean reward / episode | reward vs oracle, episodes "
        f"{WINDOW[0]}-{WINDOW[1]} | cumulative regret @200 | cumulative regret @{episodes} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.policy} | {r.success_rate:.1%} | {r.mean_reward:.3f} | {r.window_ratio:.1%} | "
            f"{r.regret_200:.1f} | {r.regret_end:.1f} |"
        )
    by = {r.policy: r for r in rows}
    jotty, ucb = by["jotty"], by["UCB1 per category"]
    first = jotty.window_ratio >= 0.9
    second = jotty.regret_end < ucb.regret_end
    lines += [
        "",
        f"Averaged over {seeds} seeds x {episodes} episodes. Reward vs oracle = mean expected episode "
        f"reward over episodes {WINDOW[0]}-{WINDOW[1]} / the oracle's over the same episodes.",
        "",
        "| target | measured | result |",
        "|---|---:|---|",
        f"| jotty >= 90% of oracle reward over episodes {WINDOW[0]}-{WINDOW[1]} | "
        f"{jotty.window_ratio:.1%} | {'PASS' if first else 'FAIL'} |",
        f"| jotty cumulative regret @{episodes} < UCB1 per category | {jotty.regret_end:.1f} vs "
        f"{ucb.regret_end:.1f} | {'PASS' if second else 'FAIL'} |",
    ]
    return "\n".join(lines)


def plot(rows: list[Row], path: Path, seeds: int) -> None:
    """Cumulative regret and the moving reward ratio to the oracle, per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in rows:
        if r.policy == "oracle":
            continue
        episodes = range(1, len(r.regret_curve) + 1)
        left.plot(episodes, r.regret_curve, label=r.policy, linewidth=2 if r.policy == "jotty" else 1)
        right.plot(episodes, r.ratio_curve, label=r.policy, linewidth=2 if r.policy == "jotty" else 1)
    left.set(title="Cumulative regret vs the oracle", xlabel="episode", ylabel="regret (expected reward)")
    right.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="90% of oracle")
    right.axvspan(*WINDOW, color="grey", alpha=0.15)
    right.set(title="Reward / oracle reward (moving window of 25)", xlabel="episode", ylim=(0.0, 1.1))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle(f"jotty.learning Router: 5 actors, 6 categories, mean of {seeds} seeds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--attempts", type=int, default=1, help="attempts per goal (retry after a failure)")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "learning_curve.png")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.attempts < 1 or args.episodes < WINDOW[1]:
        parser.error(f"need --seeds >= 1, --attempts >= 1 and --episodes >= {WINDOW[1]}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jotty-bench-learning-") as tmp:
        results = [run_seed(seed, args.episodes, args.attempts, Path(tmp)) for seed in range(args.seeds)]
    rows = summarise(results)
    print(table(rows, args.episodes, args.seeds))
    plot(rows, args.plot, args.seeds)
    print(f"\nplot: {args.plot}  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
