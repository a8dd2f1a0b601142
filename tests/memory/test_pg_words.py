"""Full-text search finds the same memories on PostgreSQL as on SQLite: without accents ("jose" finds
"José", as FTS5's ``unicode61`` folds them) and by a word joined with an apostrophe ("o'brien").
Lexical-only memory, so that only full-text search can find them."""

from __future__ import annotations

import pytest

from jotty.memory import Memory
from tests.runs.backends import Backend

TEXTS = [
    "Sean O'Brien works at the Dublin office",
    "José Álvarez moved to Seville",
    "the naïve café serves crêpes",
    "l'hôpital rule is taught in calculus",
    "Renée and Chloé went to Nîmes",
]


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("o'brien", 0),
        ("who is o\u2019brien", 0),
        ("jose", 1),
        ("where did Jose Alvarez move", 1),
        ("José", 1),
        ("cafe crepes", 2),
        ("l'hopital", 3),
        ("l'hôpital", 3),
        ("nimes", 4),
        ("Where did Renee go?", 4),
    ],
)
async def test_full_text_search_folds_accents_and_splits_apostrophes_as_sqlite_does(
    backend: Backend, question: str, found: int
) -> None:
    async with Memory(backend.store, scope="words", embedder=False) as mem:
        ids = [(await mem.remember(text)) for text in TEXTS]
        hits = await mem.recall(question, k=3)
    assert hits and hits[0].id == ids[found], [h.text for h in hits]
