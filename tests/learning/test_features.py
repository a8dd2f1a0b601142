"""Goal features: category, keywords and the key naming a goal across runs."""

from __future__ import annotations

import pytest

from jotty.errors import ValidationError
from jotty.learning import GoalFeatures, extract_keywords


def test_keywords_skip_stopwords_short_words_and_repeats() -> None:
    assert extract_keywords("Fix the failing login test, then fix the CSS of the login page") == [
        "fix",
        "failing",
        "login",
        "test",
        "css",
        "page",
    ]


def test_features_from_goal_and_context() -> None:
    features = GoalFeatures.from_goal(
        "Write a migration for the orders table", {"category": "Data Engineering", "tags": "sql, postgres"}
    )
    assert features.category == "data-engineering"
    assert features.keywords[:2] == ("sql", "postgres")
    assert "migration" in features.keywords
    assert features.feature_names()[:2] == ("*", "category:data-engineering")


def test_default_category_and_keyword_limit() -> None:
    features = GoalFeatures.from_goal("alpha beta gamma delta epsilon zeta theta iota kappa")
    assert features.category == "general"
    assert len(features.keywords) == 6


def test_goal_key_is_the_task_id_or_a_hash_of_the_normalised_text() -> None:
    one = GoalFeatures.from_goal("Fix  the build")
    two = GoalFeatures.from_goal("fix the BUILD")
    assert one.goal_key == two.goal_key
    assert one.goal_key != GoalFeatures.from_goal("fix the docs").goal_key
    assert GoalFeatures.from_goal("fix the build", {"task_id": "TASK-7"}).goal_key == "TASK-7"


@pytest.mark.parametrize(
    ("goal", "context"),
    [("", None), ("   ", None), ("ok goal", {"category": 3}), ("ok goal", {"keywords": [1, 2]}), ("ok", [])],
)
def test_bad_goals_are_refused(goal: str, context: object) -> None:
    with pytest.raises(ValidationError):
        GoalFeatures.from_goal(goal, context)  # type: ignore[arg-type]
