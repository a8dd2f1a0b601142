"""Which memories a recall returns is chosen with a light recency; their order counts it more."""

from __future__ import annotations

import numpy as np

from jotty.memory.ranking import Candidates, Weights, fuse
from jotty.memory.timeq import TimeIntent
from tests.support.candidates import older_and_newer


def two(older_match: float, newer_match: float) -> Candidates:
    """An older and a newer memory that both name the subject, matching the question's "what" by these."""
    return older_and_newer(older_match, newer_match, names=np.ones(2))


def test_the_newer_of_two_close_matches_comes_first_and_the_same_memories_come_back() -> None:
    found = two(0.25, 0.15)  # the older matches a little better
    assert [seq for seq, _, _ in fuse(found, TimeIntent(), top=1)] == [1]  # chosen as before: the better match
    both = fuse(found, TimeIntent(), top=2)
    assert [seq for seq, _, _ in both] == [2, 1]  # then the newer statement first
    assert both[0][1] >= both[1][1]  # the scores say the order
    unordered = Weights(recency_order=0.0)
    assert [seq for seq, _, _ in fuse(found, TimeIntent(), unordered, top=2)] == [1, 2]


def test_a_clearly_better_older_match_stays_first() -> None:
    assert [seq for seq, _, _ in fuse(two(0.6, 0.1), TimeIntent(), top=2)] == [1, 2]
