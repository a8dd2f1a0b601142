"""Words of a memory: content terms, a near-duplicate signature, named entities."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile("[^\\W_]+(?:['\u2019][^\\W_]+)?", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]+")

_STOPWORDS = """a about above after again against all am an and any are aren't as at be because been before being
below between both but by can could did didn't do does doesn't doing don't down during each few for from
further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most my
myself no nor not of off on once only or other ought our ours ourselves out over own same she she'd
she'll she's should so some such than that that's the their theirs them themselves then there there's
these they they'd they'll they're they've this those through to too under until up very was wasn't we
we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom
why why's will with won't would you you'd you'll you're you've your yours yourself yourselves also just
s t ok okay yes yeah oh hi hello thanks thank please tell know really"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""Words too common to match on (English)."""

_NAMES_THAT_ARE_NOT = """I The A An And But Or So Then When Where What Which Who Whom Whose Why How Yes No It This
That These Those He She We They You My Our Your His Her Their In On At For From To Of With By After Before During
Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
April May June July August September October November December Also Just Oh Hi Hello Thanks Please Any
Okay Ok Well Sure Did Do Does Is Are Was Were Have Has Had Can Could Would Should Will
Remind Show List Find Give Describe Summarize Summarise Recall Remember Explain Compare Name Tell
Anything Anyone Anybody Something Someone Somebody Everything Everyone Nothing
Now Currently Nowadays Recently Lately Earlier Last"""
_NOT_ENTITIES = frozenset(_NAMES_THAT_ARE_NOT.split())
"""Capitalised words that are not names: articles, pronouns, question words, days and months, and
the verbs and words a question or request starts with ("Which city...", "Remind me...", "Please tell...",
"Anything new...", "Recently, ...")."""
_APOSTROPHE = "\u2019"


def words(text: str) -> list[str]:
    """The lower-cased words of ``text``, in order (a possessive ``'s`` dropped)."""
    found = [w.replace(_APOSTROPHE, "'") for w in _WORD.findall(text.lower())]
    return [w[:-2] if w.endswith("'s") else w for w in found]


def plain_words(lowered: str) -> list[str]:
    """The words of a lower-cased text without apostrophes, in order (``words`` says the same, faster)."""
    return _WORD.findall(lowered)


def terms(text: str) -> list[str]:
    """The content words of ``text`` (no stopwords), in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def term_set(text: str) -> frozenset[str]:
    """The crudely stemmed content words of ``text`` (for closeness between texts)."""
    return frozenset(_stem(w) for w in terms(text))


def signature(text: str) -> str:
    """A hash equal for texts that differ only in case, punctuation, spacing and word order."""
    key = " ".join(sorted(set(words(text)))) or text.strip().lower()
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


def overlap(first: frozenset[str], second: frozenset[str]) -> float:
    """Jaccard overlap of two term sets (0 when both are empty)."""
    if not first and not second:
        return 0.0
    return len(first & second) / len(first | second)


def entities(text: str) -> frozenset[str]:
    """Capitalised names in ``text`` (``Caroline``, ``New York``, ``José``), lower-cased; a crude
    offline NER: runs of words of two or more letters, each starting with a capital (not right after
    a digit, letter or underscore), separated by spaces only."""
    found = set()
    run: list[str] = []
    end = 0
    for match in _LETTERS.finditer(text):
        word, start = match.group(), match.start()
        joined = start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")  # "10AM", "my_Notes"
        capital = len(word) > 1 and word[0].isupper() and not joined
        if run and (not capital or not text[end : match.start()].isspace()):
            found.update(_name_of(run))
            run = []
        if capital:
            run.append(word)
        end = match.end()
    found.update(_name_of(run))
    return frozenset(found)


def _name_of(run: list[str]) -> list[str]:
    parts = [p for p in run if p not in _NOT_ENTITIES]
    return [" ".join(parts).lower()] if parts else []
