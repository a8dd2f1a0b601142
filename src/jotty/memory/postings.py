"""Which memories of a scope hold each word: an in-process word index beside the vector cache.

A recall whose names are in many memories ("Acme", "Lisbon") takes the newest memories holding every
name and lets the vectors choose among them (see ``retrieve.search``). This index finds them in tens
of microseconds, where the store's full-text index takes a query (about 0.3 ms at 10,000 memories).
Its words are ``text.words`` of each memory (whole, lower-cased), stopwords left out. Memories are
only ever added: a memory's text never changes, and ``forget`` makes the cache reload in full.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from jotty.memory.text import STOPWORDS, words


class WordIndex:
    """For each word, the seqs of the memories holding it."""

    def __init__(self) -> None:
        self._seqs: dict[str, array[int]] = {}

    def add(self, seq: int, text: str) -> None:
        """Index memory ``seq``, whose text is ``text``."""
        for word in set(words(text)).difference(STOPWORDS):
            held = self._seqs.get(word)
            if held is None:
                held = self._seqs[word] = array("q")
            held.append(seq)

    def indexes(self, word: str) -> bool:
        """Whether ``word`` (lower-cased) is one this index keeps (stopwords are not)."""
        return word not in STOPWORDS

    def count(self, word: str) -> int:
        """How many memories hold ``word``."""
        held = self._seqs.get(word)
        return len(held) if held is not None else 0

    def newest(self, names: Iterable[str], limit: int, window: int) -> tuple[list[int], list[int]]:
        """The newest ``window`` memories holding every one of ``names`` that is held at all, and
        when fewer than ``limit`` do, up to ``window`` of the newest holding one of the rarest
        names (as many of them as ``window`` covers): ``(every, some)``, seqs, newest first."""
        present = sorted((self.count(name), name) for name in set(names) if self.count(name))
        if not present:
            return [], []
        held = [np.array(self._seqs[name], dtype=np.int64) for _, name in present]
        every = held[0]
        for more in held[1:]:
            every = np.intersect1d(every, more, assume_unique=True)
        every_newest = _newest(every, window)
        if len(every_newest) >= limit or len(present) == 1:
            return every_newest, []
        anchor, total = [held[0]], present[0][0]
        for (count, _), seqs in zip(present[1:], held[1:], strict=True):
            if total + count > window:
                break
            anchor.append(seqs)
            total += count
        some = np.setdiff1d(np.concatenate(anchor), every, assume_unique=False)
        return every_newest, _newest(some, window)


def _newest(seqs: np.ndarray, count: int) -> list[int]:
    """The ``count`` highest of ``seqs`` (distinct), highest first."""
    if len(seqs) > count:
        seqs = np.partition(seqs, len(seqs) - count)[len(seqs) - count :]
    return [int(seq) for seq in np.sort(seqs)[::-1].tolist()]
