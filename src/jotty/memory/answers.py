"""The kind of answer a question asks for, and which memories hold one: a place.

A question asked with "where" or "which city" wants a memory that names a place, and a statement
of where someone lives often shares no word with the question ("Where does Greta live now?" and
"Greta packed everything up and relocated to Denver"): the expected answer type of classic
question answering. A place, offline and crudely: a capitalised word after a preposition of place
("in Lisbon", "near the Alps", "at Heathrow"), or after "to", "into" or "from" where these follow a
word of movement or being ("moved to Denver", "flew from New York", "is from Ohio"; "talked to
Sarah", "a text from Sarah" and "ran into Sarah" name a person). Not a month or a weekday ("in
May", "on Sunday"), a language or nationality ("in English"), a family word or a title ("from
Mom", "to Dr Patel"), a person's ("at Sarah's"), or one of the question's own names ("moved in
with Greta").
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
monday tuesday wednesday thursday friday saturday sunday christmas easter i
english spanish french portuguese german italian dutch chinese mandarin cantonese japanese korean russian arabic
hindi urdu bengali greek polish swedish norwegian danish finnish turkish hebrew latin swahili ukrainian vietnamese
thai czech hungarian romanian irish welsh scottish american british canadian mexican brazilian indian
python javascript typescript rust kotlin haskell
mom mum mommy mummy dad daddy mother father grandma grandpa granny grandad grandmother grandfather nana aunt auntie
uncle mr mrs ms miss mx dr prof professor sir madam dame lord lady"""
_NOT_PLACES = frozenset(_CAPITALISED_NOT_PLACES.split())
"""Capitalised words that are not places: times, "I", languages and nationalities ("in English"),
family words and titles ("from Mom", "to Dr Patel")."""
_MOVING_TEXT = """move moved moves moving relocate relocated relocates relocating go goes going gone went come comes
came coming return returns returned returning back fly flies flew flown flying flight flights drive drives drove
driven driving travel travels travelled traveled travelling traveling trip trips visit visits visited visiting
journey head heads headed heading emigrate emigrated emigrating transfer transferred commute commutes commuted
commuting way home off arrive arrives arrived arriving train bus ticket tickets ride rode walk walked sail sailed
welcome is am are was were be been"""
_MOVING = frozenset(_MOVING_TEXT.split())
"""Words after which "to", "into", "from" or "towards" lead to a place (a move, a trip, a stay,
where someone is from): after other words they lead to a person ("talked to Sarah", "a gift from
Sarah", "ran into Sarah")."""
_DIRECTIONS = frozenset(["to", "into", "from", "toward", "towards"])
_POSSESSIVE = ("'s", "\u2019s")
_BEING = ("'s", "\u2019s", "'m", "\u2019m", "'re", "\u2019re")
"""Contractions of "is", "am", "are" ("She's from Ohio")."""
_PLACE = re.compile(r"\b(in|to|at|from|near|into|around|outside|across|towards?)\s+(?:the\s+)?([^\W\d_]+)\b", re.I)


def asks_place(said: Sequence[str]) -> bool:
    """Whether a question, as its lower-cased words ``said``, asks for a place: "where", or "which"
    or "what" just before a place noun ("which city", "what country")."""
    if "where" in said:
        return True
    return any(word in _ASKING and said[i + 1] in _PLACE_NOUNS for i, word in enumerate(said[:-1]))


def holds_place(text: str, names: frozenset[str]) -> bool:
    """Whether ``text`` (as written) names a place other than one of ``names`` (lower-cased)."""
    for match in _PLACE.finditer(text):
        place = match.group(2)
        if not place[0].isupper() or (folded := place.lower()) in _NOT_PLACES or folded in names:
            continue
        if text.startswith(_POSSESSIVE, match.end()):
            continue  # a person's: "at Sarah's", "to Sarah's party"
        if match.group(1).lower() in _DIRECTIONS and not _after_a_move(text, match.start()):
            continue
        return True
    return False


_LAST_WORD = re.compile(r"([^\W_]+(?:['\u2019][^\W_]+)?)\s+$")
"""The word before white space at the end ("She's" too): none if punctuation ends it ("moved.")."""


def _after_a_move(text: str, end: int) -> bool:
    """Whether the word just before ``end`` (a preposition's start) is one of ``_MOVING``, as
    written (a word that ends a sentence, "moved.", is not) or a contraction of "is", "am", "are".
    Any white space stands between them, and the word may open with punctuation ("(moved to")."""
    found = _LAST_WORD.search(text, max(end - 64, 0), end)  # a few words back: not the whole text each time
    word = found[1].lower() if found else ""
    return word in _MOVING or word.endswith(_BEING)
