"""A scope's vectors in this process: a numpy matrix kept in step with the store, with an
inverted-file index once it is large.

Every write bumps the scope's revision and stamps the rows it touched with it, so a cache reloads
only rows newer than the revision it has; ``forget`` bumps the purge counter, which forces a full
reload. Several processes can share a store: each keeps its own cache and catches up on every use.

Below ``IVF_MIN`` rows search is exact cosine over the matrix. From there on the rows are grouped
around about sqrt(n) centroids (spherical k-means on a sample) and the matrix is kept sorted by
group, so a search scores the centroids, then only the rows of the ``probes`` best groups (about a
twentieth of the scope), each a contiguous slice. Rows added since the last sort wait in a tail, each
already labelled with its group; the matrix is re-sorted when the tail grows past a sixteenth, and
the centroids are trained again when the scope has doubled. A filter (levels, time bounds) that
leaves fewer than ``k`` of the probed rows falls back to the exact scan.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from jotty.memory.postings import WordIndex
from jotty.memory.records import STORED_LEVELS
from jotty.memory.store import Brief

LEVEL_CODE = {name: code for code, name in enumerate(STORED_LEVELS)}
IVF_MIN = 5_000
"""From this many rows on, search goes through the inverted-file index."""
PROBE_SHARE = 0.05
"""The share of the groups a search scores (at least ``MIN_PROBES``)."""
MIN_PROBES = 8
NEAR_PROBES = 2
"""Groups searched for near-duplicates of each new vector (they are very close: same group)."""
TRAIN_ITERATIONS = 5
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


def _top(scores: Vector, k: int) -> Vector:
    """Indices of the ``k`` highest finite scores, best first."""
    take = min(k, len(scores))
    if take <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, take - 1)[:take]
    best = best[np.argsort(-scores[best], kind="stable")]
    return best[np.isfinite(scores[best])]


class VectorCache:
    """The embedded memories of one scope: seq, level, time and vector of each."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.rev = -1
        self.purges = -1
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.briefs: dict[int, Brief] = {}
        """What ranking reads of each row of the scope (with or without a vector), by seq."""
        self.words = WordIndex()
        """Which rows hold each word (every row in ``briefs``)."""
        self.n = 0
        self.seqs = np.zeros(0, dtype=np.int64)
        self.levels = np.zeros(0, dtype=np.int8)
        self.times = np.zeros(0, dtype=np.float64)
        self.groups = np.zeros(0, dtype=np.int32)
        self.matrix = np.zeros((0, self.dimension), dtype=np.float32)
        self.position: dict[int, int] = {}
        self.lookup = np.zeros(0, dtype=np.int64)
        """``position`` as an array indexed by seq (-1: no row), for looking up many seqs at once."""
        self.centroids: Vector = None
        self.starts = np.zeros(1, dtype=np.int64)
        """Group ``g`` holds the sorted rows ``starts[g]:starts[g + 1]``; rows from ``sorted`` on are the tail."""
        self.sorted = 0
        self.trained_at = 0

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
        self.groups = np.resize(self.groups, size)
        matrix = np.zeros((size, self.dimension), dtype=np.float32)
        matrix[: self.n] = self.matrix[: self.n]
        self.matrix = matrix

    def recount(self, rows: Iterable[Sequence[Any]]) -> None:
        """Set the recall counts ``(seq, uses)`` of rows held here (a row not held is read in full
        when it is loaded)."""
        briefs = self.briefs
        for seq, uses in rows:
            old = briefs.get(int(seq))
            if old is not None:
                briefs[old.seq] = Brief(old.seq, old.level, old.text, old.created_at, old.salience, int(uses))

    def upsert(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add or update rows ``(seq, level, created_at, embedding bytes[, text, salience, uses])``;
        rows without a vector of this cache's dimension are left out of the matrix. Rows with the
        last three fields are kept in ``briefs`` and ``words`` (whether they have a vector or not)."""
        rows = list(rows)
        for raw in rows:
            if len(raw) > 4:
                seq = int(raw[0])
                if seq not in self.briefs:
                    self.words.add(seq, raw[4])
                self.briefs[seq] = Brief(seq, raw[1], raw[4], float(raw[2]), float(raw[5]), int(raw[6]))
        batch = [r[:4] for r in rows if r[3] is not None and len(r[3]) == 4 * self.dimension]
        if not batch:
            return
        self._grow(len(batch))
        added = []
        for seq, level, created, blob in batch:
            index = self.position.get(int(seq))
            if index is None:
                index = self.n
                self.n += 1
                self.position[int(seq)] = index
                self.seqs[index] = int(seq)
                added.append(index)
            self.matrix[index] = np.frombuffer(blob, dtype=np.float32)
            self.levels[index] = LEVEL_CODE.get(str(level), -1)
            self.times[index] = float(created)
        if added:
            self._index(np.asarray(added, dtype=np.int64))
        if self.centroids is not None and added:
            rows_added = np.asarray(added, dtype=np.int64)
            self.groups[rows_added] = np.argmax(self.matrix[rows_added] @ self.centroids.T, axis=1)
        self._maintain()

    def _index(self, rows: Vector) -> None:
        """Point ``lookup`` at ``rows`` (growing it to their largest seq)."""
        seqs = self.seqs[rows]
        top = int(seqs.max()) + 1
        if top > len(self.lookup):
            grown = np.full(max(top, 2 * len(self.lookup)), -1, dtype=np.int64)
            grown[: len(self.lookup)] = self.lookup
            self.lookup = grown
        self.lookup[seqs] = rows

    def positions_of(self, seqs: Vector) -> Vector:
        """The row of each of ``seqs`` (an int array), -1 where this cache has none."""
        found = np.full(len(seqs), -1, dtype=np.int64)
        inside = (seqs >= 0) & (seqs < len(self.lookup))
        found[inside] = self.lookup[seqs[inside]]
        return found

    # -- the inverted-file index -----------------------------------------------------------------

    def _maintain(self) -> None:
        if self.n < IVF_MIN:
            return
        if self.centroids is None or self.n >= 2 * self.trained_at:
            self._train()
            self._sort()
        elif self.n - self.sorted > max(256, self.n // 16):
            self._sort()

    def _train(self) -> None:
        """Spherical k-means on a sample; every row labelled with its nearest centroid."""
        n = self.n
        count = max(16, int(math.sqrt(n)))
        rng = np.random.default_rng(n)
        sample = self.matrix[np.sort(rng.choice(n, size=min(n, 24 * count), replace=False))]
        centroids = sample[:count].copy()
        for _ in range(TRAIN_ITERATIONS):
            labels = np.argmax(sample @ centroids.T, axis=1)
            order = np.argsort(labels, kind="stable")
            bounds = np.searchsorted(labels[order], np.arange(count + 1))
            sizes = np.diff(bounds)
            filled = np.nonzero(sizes)[0]
            sums = np.add.reduceat(sample[order], bounds[filled], axis=0)
            centroids[filled] = sums
            centroids = normalise(centroids)
        self.centroids = centroids
        self.trained_at = n
        for start in range(0, n, 8192):
            block = self.matrix[start : min(n, start + 8192)]
            self.groups[start : start + len(block)] = np.argmax(block @ centroids.T, axis=1)

    def _sort(self) -> None:
        """Reorder the rows by group (the tail joins its groups)."""
        n = self.n
        order = np.argsort(self.groups[:n], kind="stable")
        self.seqs[:n] = self.seqs[:n][order]
        self.levels[:n] = self.levels[:n][order]
        self.times[:n] = self.times[:n][order]
        self.groups[:n] = self.groups[:n][order]
        self.matrix[:n] = self.matrix[:n][order]
        self.starts = np.searchsorted(self.groups[:n], np.arange(len(self.centroids) + 1))
        self.sorted = n
        self.position = dict(zip(self.seqs[:n].tolist(), range(n), strict=True))
        self._index(np.arange(n))

    def _rows_of(self, groups: Vector) -> Vector:
        """The rows of ``groups``: their sorted slices and their rows in the tail."""
        parts = [np.arange(self.starts[g], self.starts[g + 1]) for g in groups.tolist()]
        parts.append(self._tail_of(groups))
        return np.concatenate(parts)

    def _tail_of(self, groups: Vector) -> Vector:
        if self.sorted >= self.n:
            return np.zeros(0, dtype=np.int64)
        chosen = np.zeros(len(self.centroids), dtype=bool)
        chosen[groups] = True
        return self.sorted + np.flatnonzero(chosen[self.groups[self.sorted : self.n]])

    def _scores_of(self, groups: Vector, vector: Vector) -> tuple[Vector, Vector]:
        """``(rows, cosines)`` of the rows of ``groups``, scoring each group's slice in place."""
        spans = [(int(self.starts[g]), int(self.starts[g + 1])) for g in groups.tolist()]
        tail = self._tail_of(groups)
        rows = np.concatenate([np.arange(start, end) for start, end in spans] + [tail])
        scores = np.concatenate(
            [self.matrix[start:end] @ vector for start, end in spans] + [self.matrix[tail] @ vector]
        )
        return rows, scores

    # -- search ------------------------------------------------------------------------------------

    def _mask(self, rows: Vector | None, levels: Sequence[str], since: float | None, until: float | None) -> Vector:
        where = slice(0, self.n) if rows is None else rows
        allowed = np.zeros(len(LEVEL_CODE) + 1, dtype=bool)  # the last entry is code -1 (unknown)
        allowed[[LEVEL_CODE[name] for name in levels if name in LEVEL_CODE]] = True
        mask = allowed[self.levels[where]]
        if since is not None:
            mask &= self.times[where] >= since
        if until is not None:
            mask &= self.times[where] <= until
        return mask

    def nearest(
        self, query: Vector, k: int, levels: Sequence[str], since: float | None = None, until: float | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(seq, cosine)`` among rows of ``levels`` (and within the time bounds)."""
        if self.n == 0 or k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if self.centroids is not None:
            count = len(self.centroids)
            probes = min(count, max(MIN_PROBES, int(PROBE_SHARE * count)))
            groups = np.argpartition(-(self.centroids @ vector), probes - 1)[:probes]
            rows, scores = self._scores_of(groups, vector)
            scores[~self._mask(rows, levels, since, until)] = -np.inf
            best = _top(scores, k)
            if len(best) >= k:
                return [(int(self.seqs[rows[i]]), float(scores[i])) for i in best]
        scores = self.matrix[: self.n] @ vector
        scores[~self._mask(None, levels, since, until)] = -np.inf
        return [(int(self.seqs[i]), float(scores[i])) for i in _top(scores, k)]

    def cosines(self, queries: Vector, seqs: Iterable[int]) -> list[dict[int, float]]:
        """For each of ``queries`` (rows), its cosine with each of ``seqs`` that has a vector here."""
        vectors = np.asarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        wanted = np.fromiter(seqs, dtype=np.int64)
        rows = self.positions_of(wanted)
        held = rows >= 0
        if not held.any():
            return [{} for _ in vectors]
        scores = (self.matrix[rows[held]] @ vectors.T).T.tolist()
        keys = wanted[held].tolist()
        return [dict(zip(keys, row, strict=True)) for row in scores]

    def similar(self, vectors: Vector, threshold: float, levels: Sequence[str]) -> list[list[tuple[int, float]]]:
        """For each vector, the ``(seq, cosine)`` of rows of ``levels`` at or above ``threshold`` (best first,
        at most 3)."""
        queries = np.asarray(vectors, dtype=np.float32)
        found: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        if self.n == 0 or len(queries) == 0:
            return found
        wanted = self._mask(None, levels, None, None)
        if self.centroids is None:
            for start in range(0, len(queries), 256):
                self._collect(
                    found,
                    start + np.arange(len(queries[start : start + 256])),
                    np.arange(self.n),
                    queries[start : start + 256],
                    threshold,
                    wanted,
                )
        else:
            probes = min(len(self.centroids), NEAR_PROBES)
            near = np.argpartition(-(queries @ self.centroids.T), probes - 1, axis=1)[:, :probes]
            flat = near.reshape(-1)
            order = np.argsort(flat, kind="stable")
            bounds = np.searchsorted(flat[order], np.arange(len(self.centroids) + 1))
            tail = np.arange(self.sorted, self.n)
            tail_order = np.argsort(self.groups[self.sorted : self.n], kind="stable")
            tail_bounds = np.searchsorted(
                self.groups[self.sorted : self.n][tail_order], np.arange(len(self.centroids) + 1)
            )
            for group in np.nonzero(np.diff(bounds))[0].tolist():
                asking = order[bounds[group] : bounds[group + 1]] // probes
                rows = np.concatenate(
                    [
                        np.arange(self.starts[group], self.starts[group + 1]),
                        tail[tail_order[tail_bounds[group] : tail_bounds[group + 1]]],
                    ]
                )
                self._collect(found, asking, rows, queries[asking], threshold, wanted)
        for hits in found:
            hits.sort(key=lambda hit: -hit[1])
            del hits[3:]
        return found

    def _collect(
        self,
        found: list[list[tuple[int, float]]],
        asking: Vector,
        rows: Vector,
        block: Vector,
        threshold: float,
        wanted: Vector,
    ) -> None:
        rows = rows[wanted[rows]]
        if len(rows) == 0:
            return
        scores = block @ self.matrix[rows].T
        hit_q, hit_r = np.nonzero(scores >= threshold)
        for q, r in zip(hit_q.tolist(), hit_r.tolist(), strict=True):
            found[int(asking[q])].append((int(self.seqs[rows[r]]), float(scores[q, r])))
