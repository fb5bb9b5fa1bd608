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
        for i in fresh:
            self._keys.append(keys[i])
            self._ids.add(ids[i])
        return len(fresh)

    def nearest(self, query: np.ndarray, count: int) -> list[tuple[bytes, float]]:
        """The ``count`` rows most similar to the unit vector ``query``, best first."""
        n = len(self._keys)
        if n == 0 or count <= 0:
            return []
        scores = self._rows[:n] @ query.astype(np.float32, copy=False)
        if count < n:
            top = np.argpartition(-scores, count - 1)[:count]
            top = top[np.argsort(-scores[top], kind="stable")]
        else:
            top = np.argsort(-scores, kind="stable")
        return [(self._keys[i], float(scores[i])) for i in top]
