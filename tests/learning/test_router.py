"""The Router: choosing, exploring, abandoning stuck actors, learning and reporting."""

from __future__ import annotations

import time

import pytest

from jotty.errors import ValidationError
from jotty.learning import ActorsExhaustedError, Reason, Router, Trajectory
from jotty.learning.exploration import chance_better, evidence_factor, ucb_bonus


def one_step(router: Router, goal: str, success: bool, context: dict[str, str] | None = None) -> str:
    run = router.start(goal, context or {"category": "code"})
    actor = router.choose(run).actor
    router.record(run, actor, success=success, failed=not success, tokens=1_000, seconds=2.0)
    router.finish(run)
    return actor


def train(router: Router, actor: str, success: bool, times: int, category: str = "code") -> None:
    for _ in range(times):
        run = router.start("fix the login test", {"category": category})
        router.record(run, actor, success=success, failed=not success, tokens=1_000, seconds=2.0)
        router.finish(run)


def test_untried_actors_are_explored_first(router: Router) -> None:
    picks = []
    for _ in range(3):
        run = router.start("fix the login test", {"category": "code"})
        decision = router.choose(run)
        assert decision.reason is Reason.EXPLORE and decision.scores[decision.actor].untried
        picks.append(decision.actor)
        # the first actor is excellent, yet the others still get their first try
        router.record(run, decision.actor, success=decision.actor == "coder", tokens=500)
        router.finish(run)
    assert picks == ["coder", "reviewer", "writer"]


def test_learns_to_prefer_the_actor_that_succeeds(router: Router) -> None:
    for _ in range(3):
        for actor, ok in (("coder", True), ("reviewer", False), ("writer", False)):
            train(router, actor, ok, 1)
    run = router.start("fix the signup test", {"category": "code"})
    decision = router.choose(run)
    assert decision.actor == "coder"
    assert decision.reason in (Reason.EXPLOIT, Reason.PREDICTOR)
    scores = decision.scores
    assert scores["coder"].p_success > scores["reviewer"].p_success
    assert scores["coder"].q > scores["writer"].q
    assert scores["coder"].n == 3


def test_predictor_probability_moves_with_evidence(router: Router) -> None:
    def p_coder() -> float:
        return router.choose(router.start("fix the login test", {"category": "code"})).scores["coder"].p_success

    before = p_coder()
    train(router, "coder", True, 5)
    after_successes = p_coder()
    train(router, "coder", False, 15)
    assert before < after_successes
    assert p_coder() < after_successes


def test_stuck_actor_is_abandoned_for_the_goal(router: Router) -> None:
    train(router, "coder", True, 20)
    train(router, "reviewer", True, 3)
    train(router, "reviewer", False, 2)
    train(router, "writer", False, 2)
    run = router.start("migrate the database", {"category": "code", "task_id": "TASK-1"})
    assert router.choose(run).actor == "coder"
    router.record(run, "coder", success=False, failed=True)
    router.record(run, "coder", success=False, failed=True)
    decision = router.choose(run)
    assert decision.actor == "reviewer"
    assert decision.reason is Reason.STUCK
    assert decision.abandoned == ("coder",)
    assert decision.scores["coder"].abandoned
    summary = router.finish(run)
    assert summary.abandoned == ("coder",)

    # the same goal (task) in a later run: coder is still abandoned for it, not for other goals
    again = router.start("migrate the database", {"category": "code", "task_id": "TASK-1"})
    assert router.choose(again).actor == "reviewer"
    other = router.start("migrate the cache", {"category": "code", "task_id": "TASK-2"})
    assert router.choose(other).actor == "coder"


def test_a_stuck_actor_gets_another_chance_after_stuck_for(store: str) -> None:
    context = {"category": "code", "task_id": "TASK-7"}
    with Router(["coder", "reviewer"], store=store, stuck_for=0.2) as router:
        run = router.start("deploy", context)
        router.record(run, "coder", success=False, failed=True)
        router.record(run, "coder", success=False, failed=True)
        router.finish(run)
        failed_at = time.time()
        assert router.start("deploy", context).failures().get("coder") == 2  # still abandoned
        while time.time() < failed_at + 0.25:  # the streak ages out; nothing else is awaited
            time.sleep(0.01)
        assert router.start("deploy", context).failures().get("coder", 0) == 0
    with Router(["coder", "reviewer"], store=store, stuck_for=None) as forever:
        assert forever.start("deploy", context).failures().get("coder") == 2
    for bad in (0, -1.0, "1h"):
        with pytest.raises(ValidationError, match="stuck_for"):
            Router(["coder"], store=store, stuck_for=bad)  # type: ignore[arg-type]


def test_a_success_clears_the_streak(router: Router) -> None:
    context = {"category": "code", "task_id": "TASK-9"}
    run = router.start("build", context)
    router.record(run, "coder", success=False, failed=True)
    router.record(run, "coder", success=False, failed=True)
    assert router.choose(run, candidates=["coder", "writer"]).actor == "writer"
    router.record(run, "coder", success=True)
    router.finish(run)
    assert "coder" not in router.store.failure_streaks("TASK-9", router.actors)
    assert router.start("build", context).failures().get("coder", 0) == 0


def test_every_candidate_stuck_raises(router: Router) -> None:
    run = router.start("deploy", {"task_id": "TASK-3"})
    for actor in ("coder", "reviewer"):
        router.record(run, actor, success=False, failed=True)
        router.record(run, actor, success=False, failed=True)
    with pytest.raises(ActorsExhaustedError, match="coder, reviewer"):
        router.choose(run, candidates=["coder", "reviewer"])
    assert router.choose(run).actor == "writer"


def test_candidates_and_exclude(router: Router) -> None:
    run = router.start("fix it")
    assert router.choose(run, candidates=["writer"]).actor == "writer"
    assert router.choose(run, candidates=["writer"]).reason is Reason.ONLY
    assert router.choose(run, exclude=["coder"]).actor == "reviewer"
    assert set(router.choose(run, exclude="coder").scores) == {"reviewer", "writer"}


def test_record_updates_the_predictor_at_once_and_q_at_finish(router: Router) -> None:
    run = router.start("fix the login test", {"category": "code"})
    router.record(run, "coder", success=True, tokens=100)
    stats = router.store.feature_stats(["coder"], ["*", "category:code", "keyword:login"])
    assert {key: value.attempts for key, value in stats.items()} == {
        ("coder", "*"): 1,
        ("coder", "category:code"): 1,
        ("coder", "keyword:login"): 1,
    }
    assert router.store.all_q_values() == {}
    summary = router.finish(run)
    assert [(u.state, u.actor, u.visits) for u in summary.updates] == [("code|s0|start", "coder", 1)]
    assert router.store.all_q_values()[("code|s0|start", "coder")].q == pytest.approx(summary.total_reward)


def test_multi_step_run_states_and_summary(router: Router) -> None:
    run = router.start("fix the login test", {"category": "code"}, run_id="run-1")
    assert run.state == "code|s0|start"
    first = router.choose(run)
    router.record(run, first.actor, success=False, failed=True, tokens=2_000)
    assert run.state == "code|s1|failed"
    second = router.choose(run)
    router.record(run, second.actor, success=False, validated=False)
    assert run.state == "code|s2|rejected"
    router.record(run, "coder", success=True, validated=True)
    summary = router.finish(run, final_reward=0.5)
    assert [s.state for s in summary.steps] == ["code|s0|start", "code|s1|failed", "code|s2|rejected"]
    assert summary.total_reward == pytest.approx(sum(s.reward for s in summary.steps) + 0.5)
    assert {(u.state, u.actor) for u in summary.updates} == {
        ("code|s0|start", first.actor),
        ("code|s1|failed", second.actor),
        ("code|s2|rejected", "coder"),
    }
    data = summary.to_dict()
    assert data["run_id"] == "run-1"
    assert [d["actor"] for d in data["decisions"]] == [first.actor, second.actor]
    assert set(data["decisions"][0]["scores"][first.actor]) >= {"q", "ucb_bonus", "p_success", "n"}


def test_learning_table(router: Router) -> None:
    train(router, "coder", True, 3, category="code")
    train(router, "writer", False, 2, category="docs")
    table = router.summary()
    rows = {(r.actor, r.category): r for r in table.rows}
    assert rows[("coder", "code")].attempts == 3
    assert rows[("coder", "code")].success_rate == 1.0
    assert rows[("coder", "code")].q_start is not None and rows[("coder", "code")].visits == 3
    assert rows[("writer", "docs")].success_rate == 0.0
    assert rows[("coder", "(all)")].attempts == 3
    assert rows[("coder", "code")].p_success > rows[("writer", "docs")].p_success
    assert {k.keyword for k in table.keywords if k.actor == "coder"} == {"fix", "login", "test"}
    assert set(table.columns) == set(table.to_dicts()[0])


def test_trajectory_must_come_from_start(router: Router) -> None:
    run = router.start("x goal")
    router.finish(run)
    assert isinstance(run, Trajectory) and run.finished


def test_exploration_shrinks_with_the_evidence(router: Router) -> None:
    """Each actor answers one category; once every wrong actor failed a category three times while
    the right one succeeded three times, none is explored again over 30 more goals."""
    skill = {"coder": "code", "reviewer": "review", "writer": "docs"}
    for actor, category in skill.items():
        for other in skill.values():
            train(router, actor, other == category, 3, category=other)
    wrong = 0
    for number in range(30):
        category = list(skill.values())[number % 3]
        run = router.start(f"task {number} about {category}", {"category": category})
        decision = router.choose(run)
        wrong += skill[decision.actor] != category
        for name, score in decision.scores.items():
            if name != decision.actor:  # a loser keeps almost none of its bonus
                assert score.ucb_bonus < 0.01 * ucb_bonus(score.evidence, 100, router.explore)
        router.record(run, decision.actor, success=skill[decision.actor] == category, tokens=1_000, seconds=2.0)
        router.finish(run)
    assert wrong == 0


def test_exploration_comes_back_when_the_leader_starts_failing(router: Router) -> None:
    train(router, "coder", True, 3)
    train(router, "reviewer", False, 3)
    train(router, "writer", False, 3)
    before = router.choose(router.start("fix the parser", {"category": "code"})).scores["reviewer"].ucb_bonus
    train(router, "coder", False, 12)  # the leader now fails most of the time
    after = router.choose(router.start("fix the parser", {"category": "code"})).scores["reviewer"].ucb_bonus
    assert after > 10 * before  # its bonus is back: it is no longer clearly worse than the leader


def test_evidence_factor_keeps_the_bonus_while_an_actor_may_be_as_good() -> None:
    assert evidence_factor(chance_better(5, 5, 5, 5)) == pytest.approx(1.0)
    assert evidence_factor(chance_better(0, 0, 3, 0)) > evidence_factor(chance_better(0, 0, 9, 0)) > 0.01
    assert evidence_factor(chance_better(0, 3, 3, 0)) < 0.001
    assert chance_better(9, 1, 1, 9) > 0.99 and chance_better(1, 9, 9, 1) < 0.01
