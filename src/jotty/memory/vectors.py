"""A scope's vectors in this process: a numpy matrix kept in step with the store.

Every write bumps the scope's revision and stamps the rows it touched with it, so a cache reloads
only rows newer than the revision it has; ``forget`` bumps the purge counter, which forces a full
reload. Search is exact cosine over the matrix; above ``TWO_STAGE`` rows it first scores a
contiguous copy of the first ``PREFIX`` dimensions, renormalised (Matryoshka-style embeddings keep
most of their meaning there, at a quarter of the memory traffic) and rescores the best candidates in full.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from jotty.memory.records import STORED_LEVELS

LEVEL_CODE = {name: code for code, name in enumerate(STORED_LEVELS)}
PREFIX = 64
TWO_STAGE = 20_000
Vector = Any


def to_blob(vector: Vector) -> bytes:
    """A vector as float32 bytes."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def normalise(matrix: Vector) -> Vector:
    """Rows scaled to unit length (zero rows stay zero)."""
    array = np.asarray(matrix, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return array / norms


class VectorCache:
    """The embedded memories of one scope: seq, level, time and vector of each."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.rev = -1
        self.purges = -1
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.n = 0
        self.seqs = np.zeros(0, dtype=np.int64)
        self.levels = np.zeros(0, dtype=np.int8)
        self.times = np.zeros(0, dtype=np.float64)
        self.matrix = np.zeros((0, self.dimension), dtype=np.float32)
        self.prefix = np.zeros((0, min(PREFIX, self.dimension)), dtype=np.float32)
        self.position: dict[int, int] = {}

    def reset(self) -> None:
        """Forget everything (before a full reload)."""
        self._clear()
        self.rev = -1

    def _grow(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.seqs):
            return
        size = max(need, 2 * len(self.seqs), 1024)
        self.seqs = np.resize(self.seqs, size)
        self.levels = np.resize(self.levels, size)
        self.times = np.resize(self.times, size)
        matrix = np.zeros((size, self.dimension), dtype=np.float32)
        matrix[: self.n] = self.matrix[: self.n]
        self.matrix = matrix
        prefix = np.zeros((size, self.prefix.shape[1]), dtype=np.float32)
        prefix[: self.n] = self.prefix[: self.n]
        self.prefix = prefix

    def upsert(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add or update rows ``(seq, level, created_at, embedding bytes)``; rows without a vector of
        this cache's dimension are left out."""
        batch = [r for r in rows if r[3] is not None and len(r[3]) == 4 * self.dimension]
        if not batch:
            return
        self._grow(len(batch))
        width = self.prefix.shape[1]
        for seq, level, created, blob in batch:
            index = self.position.get(int(seq))
            if index is None:
                index = self.n
                self.n += 1
                self.position[int(seq)] = index
                self.seqs[index] = int(seq)
            vector = np.frombuffer(blob, dtype=np.float32)
            self.matrix[index] = vector
            head = vector[:width]
            norm = float(np.linalg.norm(head))
            self.prefix[index] = head / norm if norm else head
            self.levels[index] = LEVEL_CODE.get(str(level), -1)
            self.times[index] = float(created)

    def nearest(
        self, query: Vector, k: int, levels: Sequence[str], since: float | None = None, until: float | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(seq, cosine)`` among rows of ``levels`` (and within the time bounds)."""
        if self.n == 0 or k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        mask = np.isin(self.levels[: self.n], [LEVEL_CODE[name] for name in levels if name in LEVEL_CODE])
        if since is not None:
            mask &= self.times[: self.n] >= since
        if until is not None:
            mask &= self.times[: self.n] <= until
        if self.n > TWO_STAGE:
            width = self.prefix.shape[1]
            rough = self.prefix[: self.n] @ normalise(vector[:width])[0]
            rough[~mask] = -np.inf
            pool = min(self.n, max(8 * k, 200))
            candidates = np.argpartition(-rough, pool - 1)[:pool]
            candidates = candidates[np.isfinite(rough[candidates])]
            scores = self.matrix[candidates] @ vector
        else:
            scores = self.matrix[: self.n] @ vector
            scores[~mask] = -np.inf
            candidates = np.arange(self.n)
        take = min(k, len(candidates))
        if take == 0:
            return []
        best = np.argpartition(-scores, take - 1)[:take]
        best = best[np.argsort(-scores[best])]
        return [(int(self.seqs[candidates[i]]), float(scores[i])) for i in best if np.isfinite(scores[i])]

    def cosines(self, query: Vector, seqs: Iterable[int]) -> dict[int, float]:
        """The cosine of ``query`` with each of ``seqs`` that has a vector here."""
        found = [(seq, self.position[seq]) for seq in seqs if seq in self.position]
        if not found:
            return {}
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        scores = self.matrix[[index for _, index in found]] @ vector
        return {seq: float(score) for (seq, _), score in zip(found, scores.tolist(), strict=True)}

    def similar(self, vectors: Vector, threshold: float, levels: Sequence[str]) -> list[list[tuple[int, float]]]:
        """For each vector, the ``(seq, cosine)`` of rows of ``levels`` at or above ``threshold`` (best first,
        at most 3)."""
        queries = np.asarray(vectors, dtype=np.float32)
        found: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        if self.n == 0 or len(queries) == 0:
            return found
        mask = np.isin(self.levels[: self.n], [LEVEL_CODE[name] for name in levels if name in LEVEL_CODE])
        width = self.prefix.shape[1]
        for start in range(0, len(queries), 256):
            block = queries[start : start + 256]
            rough = normalise(block[:, :width]) @ self.prefix[: self.n].T
            rows, cols = np.nonzero(rough >= threshold - 0.1)
            wanted = mask[cols]
            rows, cols = rows[wanted], cols[wanted]
            if len(rows) == 0:
                continue
            exact = np.einsum("ij,ij->i", self.matrix[cols], block[rows])
            keep = exact >= threshold
            for row, col, score in zip(rows[keep].tolist(), cols[keep].tolist(), exact[keep].tolist(), strict=True):
                found[start + row].append((int(self.seqs[col]), float(score)))
        for hits in found:
            hits.sort(key=lambda hit: -hit[1])
            del hits[3:]
        return found
