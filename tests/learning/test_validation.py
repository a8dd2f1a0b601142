"""Bad input raises a clear ValidationError and leaves what the store learned untouched."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import JottyError, ValidationError
from jotty.learning import Router

ACTORS = ["coder", "reviewer"]


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("jotty_learning_q", "jotty_learning_stats", "jotty_learning_streaks")
        }


@pytest.fixture
def trained(store_path: Path) -> Router:
    router = Router(ACTORS, store=store_path)
    for ok in (True, False, True):
        run = router.start("fix the login test", {"category": "code", "task_id": "T-1"})
        router.record(run, router.choose(run).actor, success=ok, failed=not ok, tokens=10)
        router.finish(run)
    return router


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actors": []}, "actors is empty"),
        ({"actors": "coder"}, "list of actor names"),
        ({"actors": ["coder", "coder"]}, "unique"),
        ({"actors": ["coder", ""]}, "non-empty string"),
        ({"alpha": 0.0}, r"alpha must be a number in \(0.0, 1.0\]"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"gamma": -0.1}, "gamma"),
        ({"lam": 2}, "lam"),
        ({"explore": -1}, "explore"),
        ({"prior_strength": 0}, "prior_strength"),
        ({"stuck_after": 0}, "stuck_after"),
        ({"stuck_after": True}, "stuck_after"),
        ({"weights": {"success": 1}}, "RewardWeights"),
    ],
)
def test_bad_router_settings(trained: Router, store_path: Path, kwargs: dict[str, Any], message: str) -> None:
    before = snapshot(store_path)
    settings: dict[str, Any] = {"actors": ACTORS, "store": store_path, **kwargs}
    with pytest.raises(ValidationError, match=message):
        Router(**settings)
    assert snapshot(store_path) == before


def test_bad_settings_do_not_create_a_store(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Router([], store=tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


CALLS: dict[str, Callable[[Router], object]] = {
    "unknown candidate": lambda r: r.choose(r.start("goal x"), candidates=["ghost"]),
    "unknown exclude": lambda r: r.choose(r.start("goal x"), exclude=["ghost"]),
    "no candidate left": lambda r: r.choose(r.start("goal x"), exclude=ACTORS),
    "empty candidates": lambda r: r.choose(r.start("goal x"), candidates=[]),
    "unknown actor recorded": lambda r: r.record(r.start("goal x"), "ghost", success=True),
    "success and failed": lambda r: r.record(r.start("goal x"), "coder", success=True, failed=True),
    "negative tokens": lambda r: r.record(r.start("goal x"), "coder", success=True, tokens=-5),
    "not a trajectory": lambda r: r.choose("goal x"),  # type: ignore[arg-type]
    "empty goal": lambda r: r.start(""),
    "nan final reward": lambda r: r.finish(r.start("goal x"), final_reward=math.nan),
}


@pytest.mark.parametrize("name", CALLS)
def test_bad_calls(trained: Router, store_path: Path, name: str) -> None:
    before = snapshot(store_path)
    with pytest.raises(ValidationError) as info:
        CALLS[name](trained)
    assert isinstance(info.value, JottyError) and str(info.value)
    assert snapshot(store_path) == before


def test_a_finished_run_cannot_be_used_again(trained: Router, store_path: Path) -> None:
    run = trained.start("goal y", {"category": "code"})
    trained.record(run, "coder", success=True)
    trained.finish(run)
    before = snapshot(store_path)
    for call in (
        lambda: trained.finish(run),
        lambda: trained.choose(run),
        lambda: trained.record(run, "coder", success=True),
    ):
        with pytest.raises(ValidationError, match="already finished"):
            call()
    assert snapshot(store_path) == before


def test_unknown_actor_message_names_the_known_ones(trained: Router) -> None:
    with pytest.raises(ValidationError, match=r"unknown actor\(s\) \['ghost'\].*\['coder', 'reviewer'\]"):
        trained.record(trained.start("goal z"), "ghost", success=True)
