"""A question that asks for a place prefers the memories that name one (``jotty.memory.answers``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from numpy import array, full, nan

from jotty.memory import Memory
from jotty.memory.answers import asks_place, holds_place
from jotty.memory.ranking import Weights, fuse
from jotty.memory.text import words
from jotty.memory.timeq import TimeIntent
from tests.support.candidates import older_and_newer


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Where does Greta live now?", True),
        ("Remind me where we parked", True),
        ("Which city is Caspar based in these days?", True),
        ("what country did Ana move to?", True),
        ("What does Greta do for a living?", False),
        ("Which pets live with Noor?", False),
        ("Which city", True),
        ("city which", False),
        ("", False),
    ],
)
def test_which_questions_ask_for_a_place(question: str, asks: bool) -> None:
    assert asks_place(words(question)) is asks


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("Big news: Clara packed everything up and relocated to Denver.", True),
        ("Greta finally got the keys to a flat in Valencia.", True),
        ("In Lisbon the trams are yellow.", True),
        ("We hiked near the Alps.", True),
        ("My sister visited from São Paulo.", True),
        ("I called Greta yesterday but we mostly talked about the weather.", False),
        ("Greta switched careers and now works as an architect.", False),
        ("We met in May and again on Sunday.", False),  # months and weekdays are times
        ("We meet in the morning at 9.", False),
        ("I moved in with Greta.", False),  # the question's own subject is not the answer
        ("I went to Greta's party.", False),
    ],
)
def test_which_texts_name_a_place(text: str, holds: bool) -> None:
    assert holds_place(text, frozenset(["greta"])) is holds


async def test_a_move_stated_without_the_questions_words_answers_where_someone_lives(store: str) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with Memory(store, scope="me") as memory:
        await memory.remember_many(
            [
                {"text": "I live in Lisbon, in a flat near the river.", "at": start},
                {"text": "I love cooking fish on Sundays.", "at": start + timedelta(days=30)},
                {"text": "I moved to Porto last month.", "at": start + timedelta(days=60)},
            ]
        )
        hits = await memory.recall("Where do I live now?", k=3)
        assert hits[0].why["answer"] == 1.0  # the hit says it holds the kind of answer asked for
        assert (await memory.recall("What do I like to cook?", k=1))[0].why.get("answer") is None
        now = [hit.text for hit in hits]
        assert now[0] == "I moved to Porto last month."  # the later place, though it shares no word
        assert "I love cooking fish on Sundays." not in now  # no place: not an answer to "where"
        city = [hit.text for hit in await memory.recall("Which city am I in these days?", k=3)]
        assert city[:2] == ["I moved to Porto last month.", "I live in Lisbon, in a flat near the river."]
        # the weight is what does it: without it, the earlier statement, which holds "live", wins
        plain = Memory(store, scope="me", weights=Weights(answer=0.0))
        try:
            before = [hit.text for hit in await plain.recall("Where do I live now?", k=3)]
        finally:
            await plain.close()
        assert before[0] == "I live in Lisbon, in a flat near the river."


async def test_how_recent_a_statement_is_counts_among_the_memories_that_answer_at_all(store: str) -> None:
    """A later memory about something else (never a hit) does not make the move look old."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with Memory(store, scope="me") as memory:
        await memory.remember("I live in Lisbon, near the river", at=start)
        await memory.remember("I moved to Porto last month", at=start + timedelta(days=60))
        await memory.remember("I love cooking fish", at=start + timedelta(days=120))
        hits = await memory.recall("Where do I live now?", k=3, now=start + timedelta(days=121))
        assert [hit.text for hit in hits] == ["I moved to Porto last month", "I live in Lisbon, near the river"]
        assert hits[0].why["recency"] == 1.0  # the newest of the two that answer


def test_weights_without_the_answer_type_neither_keep_nor_mark_a_memory_for_naming_a_place() -> None:
    """``Weights(answer=0)`` (the data registry's) leaves the answer type out: a memory found by
    nothing but a cosine under the floor is left out though it names a place, as for any question."""
    unfound = older_and_newer(0.05, 0.05, lexical=full(2, nan), answers=array([1.0, 0.0]))
    assert fuse(unfound, TimeIntent(), Weights(answer=0.0), top=2) == []
    [(seq, _, parts)] = fuse(unfound, TimeIntent(), Weights(), top=2)  # with the weight: kept, and marked
    assert seq == 1 and parts["answer"] == 1.0
    found = older_and_newer(0.5, 0.5, answers=array([1.0, 0.0]))
    assert all("answer" not in parts for _, _, parts in fuse(found, TimeIntent(), Weights(answer=0.0), top=2))


@pytest.mark.parametrize(
    "text", ["Revenue grew in Q3.", "We ship the fix in V2 of the app.", "Sales dipped in H1 2024."]
)
def test_a_code_with_digits_is_not_a_place(text: str) -> None:
    assert holds_place(text, frozenset()) is False


@pytest.mark.parametrize(
    "question", ["Which cities has Ana lived in?", "What countries did we visit?", "Which places did Noor like?"]
)
def test_a_question_for_places_in_the_plural_asks_for_a_place(question: str) -> None:
    assert asks_place(words(question)) is True


@pytest.mark.parametrize(
    "text",
    [
        "I talked to Sarah about the trip.",  # "to" after a word that is not a move: a person
        "I sent the draft to Priya.",
        "Thanks to Maya, the party worked out.",
        "Happy birthday to Leona!",
        "To Sarah, it was nothing.",  # a sentence that starts with "To"
        "A text from Sarah made my day.",  # "from" likewise
        "I heard from Jonah last night.",
        "I ran into Sarah at the market.",  # "into" likewise
        "I wrote it in English.",  # languages and nationalities
        "She replied in Spanish and then in French.",
        "The book is translated into German.",
        "Priya is fluent in Japanese.",
        "I wrote the script in Python.",
        "A gift from Mom arrived today.",  # family words
        "I explained it to Dad on the phone while we walked.",
        "Say hi to Aunt Mia for me.",
        "I spoke to Dr Patel yesterday.",  # titles
        "The letter was from Mr Jones.",
        "We had dinner with Sarah.",  # "with" never led to a place
        "I went to Sarah's party.",  # a person's, not a place
        "We met at Sarah\u2019s after work.",
    ],
)
def test_people_languages_family_and_titles_after_a_preposition_are_not_places(text: str) -> None:
    assert holds_place(text, frozenset(["greta"])) is False


@pytest.mark.parametrize(
    "text",
    [
        "Greta moved to Denver last spring.",
        "She lives in Porto now.",
        "My brother flew from New York on Friday.",
        "We waited for hours at Heathrow.",
        "They rented a cabin near Lake Tahoe.",
        "I went back to Porto for the summer.",
        "Our trip to Japan was amazing.",
        "He's been to Paris three times.",
        "Ana is from Ohio originally.",
        "She\u2019s from Quito.",
        "Sam just got back from Kenya.",
        "I flew into Denver late.",
        "Heading to Madrid tomorrow!",
        "We had dinner with Sarah at Nobu.",  # the person is not the place; the restaurant is
        "My cousin is studying in England.",  # the country, not the language
    ],
)
def test_places_after_a_move_or_a_preposition_of_place_are_still_places(text: str) -> None:
    assert holds_place(text, frozenset(["greta"])) is True


async def test_a_person_after_to_does_not_answer_where_someone_lives(store: str) -> None:
    """The newer memory, "I talked to Sarah about Greta's trip", names Greta too: counted as naming a
    place ("to Sarah"), it outranked the move; "to" leads to a place only after a move."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with Memory(store, scope="me") as memory:
        await memory.remember("Greta moved to Denver.", at=start)
        await memory.remember("I talked to Sarah about Greta's trip.", at=start + timedelta(days=30))
        hits = await memory.recall("Where does Greta live?", k=2, now=start + timedelta(days=31))
        assert [hit.text for hit in hits] == ["Greta moved to Denver.", "I talked to Sarah about Greta's trip."]
        assert [hit.why["answer"] for hit in hits] == [1.0, 0.0]
