"""Names in a text: runs of capitalised words in any script, as the former ASCII regex found them."""

from __future__ import annotations

import random
import re

from jotty.memory.retrieve import _matched
from jotty.memory.text import _NOT_ENTITIES, entities, terms

FORMER = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")


def former(text: str) -> frozenset[str]:
    found = set()
    for match in FORMER.findall(text):
        parts = [p for p in match.split() if p not in _NOT_ENTITIES]
        if parts:
            found.add(" ".join(parts).lower())
    return frozenset(found)


def test_ascii_text_gives_the_former_names() -> None:
    rng = random.Random(7)
    alphabet = "AaBbZzMmQq09_ '\n\t.,-\x0b\x1c"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 25)))
        assert entities(text) == former(text), repr(text)
    for text in ("Meet at 10AM Monday", "Version v2Beta of Jotty", "What did O'Brien order from Acme-12?"):
        assert entities(text) == former(text)


def test_names_in_any_script() -> None:
    assert entities("I met José and Zoë Müller in São Paulo") == {"josé", "zoë müller", "são paulo"}
    assert entities("Пётр met Анна") == {"пётр", "анна"}


def test_the_matched_words_of_a_hit_are_its_terms_that_were_asked() -> None:
    """``why["matched"]``: the fast path (no apostrophe in the text) gives what the terms of the text do."""
    rng = random.Random(3)
    pieces = [
        "ada",
        "bo",
        "acme",
        "lisbon",
        "the",
        "don",
        "t",
        "123",
        "x1",
        "café",
        "Ada",
        "BO",
        "-",
        "'",
        "\u2019",
        "é",
    ]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) + rng.choice([" ", "", "-", ".", "_"]) for _ in range(rng.randrange(1, 10)))
        asked = [w for w in rng.sample(["ada", "bo", "acme", "lisbon", "don", "123", "x1", "café", "t"], 4) if w != "t"]
        assert _matched(text, asked) == [w for w in terms(text) if w in asked], repr(text)


def test_question_words_and_request_verbs_are_not_names() -> None:
    """A question's first word ("Which", "Remind") is capitalised but names nothing: recall would
    otherwise search by it and give the real name only half the names share."""
    assert entities("Which city is Caspar based in?") == {"caspar"}
    assert entities("Remind me where Kenji lives") == {"kenji"}
    assert entities("Whose dog is Rex? Whom did Ana call?") == {"rex", "ana"}
    for verb in ("Show", "List", "Find", "Give", "Describe", "Summarize", "Recall", "Explain", "Compare", "Tell"):
        assert entities(f"{verb} what Mira said") == {"mira"}, verb
    assert entities("Please tell me about Ola") == {"ola"}
    assert entities("Any news from Bo?") == {"bo"}


def test_words_that_open_a_question_about_things_or_times_are_not_names() -> None:
    """ "Remember where...", "Anything new about...", "Recently, ..." name nothing: searched as
    names they halved the real name's share and brought in memories that only say "remember"."""
    for opener in ("Remember where", "Anything new about", "Anyone called", "Something about", "Recently, did",
                   "Lately, how is", "Now where does", "Currently where is", "Nowadays is", "Earlier, did",
                   "Last time, did", "Everyone knows", "Nothing from"):  # fmt: skip
        assert entities(f"{opener} Caroline move?") == {"caroline"}, opener
