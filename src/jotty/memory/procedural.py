"""Procedural memory: how to act, which is what the router learned (``jotty.learning``), read as hits.

Each (actor, category) row of the learning table and each (actor, keyword) record becomes a hit
such as ``"coder on bugfix goals: 8 of 10 succeeded (p_success 0.75, mean reward 0.62)"``, scored
by how many of the query's words name its actor, category or keyword, then by experience.
"""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime

from jotty.memory.records import MemoryHit
from jotty.memory.text import terms, words


def _score(query_words: set[str], names: list[str], attempts: int) -> tuple[float, list[str]]:
    matched = [n for n in names if set(words(n)) & query_words]
    experience = min(1.0, math.log1p(attempts) / math.log(101))
    return (0.8 * len(matched) / max(1, len(names)) + 0.2 * experience), matched


def _hit(
    memory_id: str, text: str, query_words: set[str], names: list[str], attempts: int, metadata: dict[str, object]
) -> MemoryHit:
    score, matched = _score(query_words, names, attempts)
    return MemoryHit(
        id=memory_id,
        text=text,
        score=round(score, 6),
        level="procedural",
        metadata=metadata,
        sources=[],
        created_at=datetime.fromtimestamp(time.time(), UTC),
        why={"matched": matched, "lexical": score},
    )


def procedural_hits(store: str | os.PathLike[str] | None, query: str, k: int) -> list[MemoryHit]:
    """The learned routing most related to ``query`` (best first, at most ``k``)."""
    from jotty.learning import learning_table, open_store

    learning = open_store(store)
    try:
        table = learning_table(learning)
    finally:
        learning.close()
    asked = set(terms(query)) or set(words(query))
    hits = []
    for row in table.rows:
        if row.attempts == 0:
            continue
        where = "every goal" if row.category == "(all)" else f"{row.category} goals"
        text = f"{row.actor} on {where}: {row.successes} of {row.attempts} succeeded (p_success {row.p_success:.2f}"
        if row.mean_reward is not None:
            text += f", mean reward {row.mean_reward:.2f}"
        text += ")"
        metadata: dict[str, object] = {
            "actor": row.actor,
            "category": row.category,
            "attempts": row.attempts,
            "successes": row.successes,
            "p_success": row.p_success,
            "q_start": row.q_start,
        }
        hits.append(
            _hit(
                f"procedural:{row.actor}:{row.category}", text, asked, [row.actor, row.category], row.attempts, metadata
            )
        )
    for kw in table.keywords:
        text = f"{kw.actor} on goals about {kw.keyword!r}: {kw.successes} of {kw.attempts} succeeded"
        metadata = {"actor": kw.actor, "keyword": kw.keyword, "attempts": kw.attempts, "successes": kw.successes}
        memory_id = f"procedural:{kw.actor}:keyword:{kw.keyword}"
        hits.append(_hit(memory_id, text, asked, [kw.actor, kw.keyword], kw.attempts, metadata))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:k]
