"""Review of the place test: the word before "to", "into" or "from" is the word, whatever white
space or opening punctuation stands around it."""

from __future__ import annotations

import pytest

from jotty.memory.answers import holds_place


@pytest.mark.parametrize(
    "text",
    [
        "Big news:\nmoved to Denver last week",  # a line that starts with the move
        "Greta  moved  to Denver",  # two spaces, as pasted text has
        "Greta moved\n\tto Denver",
        "(moved to Denver in May)",
        '"Flew from Lisbon," she said',
        "She\u2019s  from Ohio",
    ],
)
def test_a_move_before_to_or_from_is_seen_across_any_white_space(text: str) -> None:
    assert holds_place(text, frozenset())


@pytest.mark.parametrize(
    "text", ["I talked  to Sarah", "Sarah moved.\nTo Denver's credit, the team won", "a text\nfrom Sarah"]
)
def test_a_person_after_to_or_from_stays_no_place(text: str) -> None:
    assert not holds_place(text, frozenset())
