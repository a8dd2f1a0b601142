"""What a recall reads from its question: its "what", the words it covers, whether it asks about now."""

from __future__ import annotations

from datetime import UTC, datetime

from jotty.memory.retrieve import _shares, what_of
from jotty.memory.timeq import time_intent, without_time_words


def test_the_what_leaves_out_the_names_and_the_pointing_question_words() -> None:
    assert what_of("Which pets live with Mira?") == "pets live with"
    assert what_of("What does Kenji do for a living?") == "does do for a living"
    # "where" and "when" say what kind of answer is wanted: they stay
    assert what_of("Where does Kenji live now?") == "where does live now"
    # nothing left but stopwords: the whole question
    assert what_of("Who is Mira?") == "Who is Mira?"


def test_covered_words_are_found_at_the_start_of_a_word() -> None:
    texts = ["i called freya yesterday", "freya took two days off", "a holiday in oslo"]
    named, covered = _shares(texts, frozenset(["freya"]), frozenset(["day"]))
    assert named.tolist() == [1.0, 1.0, 0.0]
    assert covered.tolist() == [0.0, 1.0, 0.0]


def test_these_days_asks_about_the_present() -> None:
    now = 1_700_000_000.0
    assert time_intent("Which city is Caspar based in these days?", now).recent
    assert time_intent("What is Kenji working on at the moment?", now).recent
    assert time_intent("Where does Kenji live now?", now).recent
    assert not time_intent("Which pets live with Mira?", now).recent
    assert not time_intent("What did Mira do these days last week?", now).recent


def test_new_asks_about_the_present_only_in_whats_new() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    for asked in ("What is new?", "What\u2019s new?", "Anything new lately?"):
        found = time_intent(asked, now)
        assert found.recent and found.only, asked
    for asked in ("Where is my new job?", "When did I visit New Zealand?"):
        assert not time_intent(asked, now).recent, asked
    assert without_time_words(frozenset({"new", "job", "days"})) == {"new", "job"}
