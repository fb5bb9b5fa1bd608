"""The in-memory search structure: every vector of a model in one float32 matrix.

Exact brute force: with unit vectors a matrix-vector product is every cosine at once, and
at 100k x 384 it takes a few milliseconds, faster than any index would need to be built
and kept right (sqlite-vec's own scan: 51-63 ms). It is derived from the database: filled
from the stored vectors at start, and appended to as new ones are stored.
"""

from __future__ import annotations

import numpy as np


class VectorMatrix:
    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._rows = np.zeros((capacity, dim), np.float32)
        self._keys: list[bytes] = []
        self._ids: set[int] = set()
        self._row_of: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes

    def add(self, ids: list[int], keys: list[bytes], rows: np.ndarray) -> int:
        """Append rows not held yet (by embedding id); returns how many were new."""
        fresh = [i for i, row_id in enumerate(ids) if row_id not in self._ids]
        if not fresh:
            return 0
        n = len(self._keys)
        need = n + len(fresh)
        if need > len(self._rows):
            grown = np.zeros((max(need, 2 * len(self._rows)), self.dim), np.float32)
            grown[:n] = self._rows[:n]
            self._rows = grown
        self._rows[n:need] = rows[fresh]
        for row, i in enumerate(fresh, n):
            self._keys.append(keys[i])
            self._ids.add(ids[i])
            self._row_of[keys[i]] = row
        return len(fresh)

    def nearest(self, query: np.ndarray, count: int, among: list[bytes] | None = None) -> list[tuple[bytes, float]]:
        """The ``count`` rows most similar to the unit vector ``query``, best first; only the
        rows of the keys ``among``, if given (a project's, when it is a small part of all)."""
        n = len(self._keys)
        if among is None:
            rows = None
            scores = self._rows[:n] @ query.astype(np.float32, copy=False)
        else:
            rows = np.fromiter((r for k in among if (r := self._row_of.get(k)) is not None), np.int64)
            scores = self._rows[rows] @ query.astype(np.float32, copy=False)
        if len(scores) == 0 or count <= 0:
            return []
        if count < len(scores):
            top = np.argpartition(-scores, count - 1)[:count]
            top = top[np.argsort(-scores[top], kind="stable")]
        else:
            top = np.argsort(-scores, kind="stable")
        return [(self._keys[i if rows is None else rows[i]], float(scores[i])) for i in top]
