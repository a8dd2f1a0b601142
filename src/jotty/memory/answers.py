"""The kind of answer a question asks for, and which memories hold one: a place.

A question asked with "where" or "which city" wants a memory that names a place, and a statement
of where someone lives often shares no word with the question ("Where does Greta live now?" and
"Greta packed everything up and relocated to Denver"): the expected answer type of classic
question answering. A place, offline and crudely: a capitalised word after a preposition of place
("in Lisbon", "to New York", "near the Alps"), not a month or a weekday ("in May", "on Sunday"),
and not one of the question's own names ("moved in with Greta").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PLACE_TEXT = """city cities town towns village villages country countries state states county counties region
regions province provinces island islands neighbourhood neighbourhoods neighborhood neighborhoods suburb suburbs
place places address addresses"""
_PLACE_NOUNS = frozenset(_PLACE_TEXT.split())
"""Nouns of places, and their plurals ("which cities", "what countries")."""
_ASKING = frozenset(["which", "what"])
_CAPITALISED_NOT_PLACES = """january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday christmas easter i"""
_NOT_PLACES = frozenset(_CAPITALISED_NOT_PLACES.split())
_PLACE = re.compile(r"\b(?i:in|to|at|from|near|into|around|outside|across|towards?)\s+(?i:the\s+)?([^\W\d_]+)\b")


def asks_place(said: Sequence[str]) -> bool:
    """Whether a question, as its lower-cased words ``said``, asks for a place: "where", or "which"
    or "what" just before a place noun ("which city", "what country")."""
    if "where" in said:
        return True
    return any(word in _ASKING and said[i + 1] in _PLACE_NOUNS for i, word in enumerate(said[:-1]))


def holds_place(text: str, names: frozenset[str]) -> bool:
    """Whether ``text`` (as written) names a place other than one of ``names`` (lower-cased)."""
    for match in _PLACE.finditer(text):
        place = match.group(1)
        if place[0].isupper() and place.lower() not in _NOT_PLACES and place.lower() not in names:
            return True
    return False
