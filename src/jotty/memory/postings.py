"""Which memories of a scope hold each word: an in-process word index beside the vector cache.

A recall whose names are in many memories ("Acme", "Lisbon") takes the newest memories holding every
name and lets the vectors choose among them (see ``retrieve.search``). This index finds them in tens
of microseconds, where the store's full-text index takes a query (about 0.3 ms at 10,000 memories).
Its words are those the full-text index (``unicode61``) would match a name by: ``text.words`` of each
memory with diacritics removed, a word joined by an apostrophe ("O'Brien") under its parts as well
(no stemming). Memories are only ever added: a memory's text never changes, and ``forget`` makes the
cache reload in full.
"""

from __future__ import annotations

import unicodedata
from array import array
from collections.abc import Iterable

import numpy as np

from jotty.memory.text import words


def fold(word: str) -> str:
    """A lower-cased word as the index keys it: Latin letters without their diacritics ("josé" is
    "jose"), as FTS5's ``unicode61`` folds them; other scripts as they are."""
    if word.isascii():
        return word
    return "".join(base if (base := unicodedata.normalize("NFKD", c)[0]).isascii() else c for c in word)


def keys_of(text: str) -> set[str]:
    """The index's words for ``text``."""
    found: set[str] = set()
    for word in map(fold, set(words(text))):
        found.add(word)
        if "'" in word:
            found.update(part for part in word.split("'") if part)
    return found


class WordIndex:
    """For each word, the seqs of the memories holding it (kept sorted)."""

    def __init__(self) -> None:
        self._seqs: dict[str, array[int]] = {}
        self._unsorted: set[str] = set()

    def add(self, seq: int, text: str) -> None:
        """Index memory ``seq``, whose text is ``text``."""
        for word in keys_of(text):
            held = self._seqs.get(word)
            if held is None:
                held = self._seqs[word] = array("q")
            elif seq < held[-1]:  # rows may arrive out of seq order (another process's late commit)
                self._unsorted.add(word)
            held.append(seq)

    def count(self, word: str) -> int:
        """How many memories hold ``word``."""
        held = self._seqs.get(fold(word))
        return len(held) if held is not None else 0

    def _sorted(self, word: str) -> np.ndarray:
        held = self._seqs[word]
        if word in self._unsorted:
            held = self._seqs[word] = array("q", np.sort(np.frombuffer(held, dtype=np.int64)).tobytes())
            self._unsorted.discard(word)
        return np.array(held, dtype=np.int64)

    def newest(self, names: Iterable[str], limit: int, window: int) -> tuple[list[int], list[int]]:
        """The newest ``window`` memories holding every one of ``names`` that is held at all, and
        when fewer than ``limit`` do, up to ``window`` of the newest holding one of the rarest
        names (as many of them as ``window`` covers): ``(every, some)``, seqs, newest first."""
        counts = {word: len(self._seqs.get(word, ())) for word in map(fold, names)}
        present = sorted((count, word) for word, count in counts.items() if count)
        if not present:
            return [], []
        held = [self._sorted(name) for _, name in present]
        every = held[0]  # the rarest: look each of its seqs up in the others
        for more in held[1:]:
            at = np.minimum(np.searchsorted(more, every), len(more) - 1)
            every = every[more[at] == every]
        every_newest = every[::-1][:window].tolist()
        if len(every_newest) >= limit or len(present) == 1:
            return every_newest, []
        anchor, total = [held[0]], present[0][0]
        for (count, _), seqs in zip(present[1:], held[1:], strict=True):
            if total + count > window:
                break
            anchor.append(seqs)
            total += count
        # the newest of each anchor name suffice: at most ``window`` of them are kept, besides ``every``
        tail = window + len(every)
        some = np.setdiff1d(np.concatenate([seqs[-tail:] for seqs in anchor]), every)
        return every_newest, some[::-1][:window].tolist()
