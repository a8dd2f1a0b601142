"""Two candidate memories for ranking tests: an older and a newer one, alike but for what a test sets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from jotty.memory.ranking import Candidates


def older_and_newer(older_match: float, newer_match: float, **fields: Any) -> Candidates:
    """Memories 1 (older) and 2 (newer), both found by words, whose cosines with the question are
    ``older_match`` and ``newer_match``; ``fields`` replace any other field (``names``, ``answers``)."""
    vector = np.array([older_match, newer_match])
    found = Candidates(
        seqs=np.array([1, 2]),
        created_at=np.array([1_000.0, 2_000.0]),
        salience=np.zeros(2),
        uses=np.zeros(2),
        semantic=np.zeros(2, dtype=bool),
        names=np.zeros(2),
        coverage=np.zeros(2),
        lexical=np.array([1.0, 1.0]),
        vector=vector,
        vector_full=vector,
        embedded=True,
    )
    return replace(found, **fields)
