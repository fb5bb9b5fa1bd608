"""The store's embeddings: models, chunks waiting for a vector, the vectors themselves."""

from __future__ import annotations

import apsw

from codeanalysisd.db import vectors


class VectorReads:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def model(self, model_id: int) -> vectors.Model:
        """Raises LookupError for an unknown model."""
        return vectors.model(self.db, model_id)

    def models(self) -> list[tuple[vectors.Model, int]]:
        return vectors.models(self.db)

    def count(self, model_id: int) -> int:
        return vectors.stored_count(self.db, model_id)

    def pending(self, model_id: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
        return vectors.pending(self.db, model_id, after, limit)

    def pending_count(self) -> int:
        found = vectors.current(self.db)
        return vectors.pending_count(self.db, found.id if found else None)

    def page(self, model_id: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
        return vectors.vectors(self.db, model_id, after, limit)

    def project_keys(self, project: str) -> list[bytes]:
        return vectors.project_keys(self.db, project)

    def chunk_count(self) -> int:
        return vectors.chunk_count(self.db)

    def chunk_at(self, project: str, path: str, line: int) -> tuple[str, int, int] | None:
        return vectors.chunk_at(self.db, project, path, line)

    def matches(self, scored: list[tuple[bytes, float]], project: str | None, limit: int) -> list[vectors.Match]:
        return vectors.resolve(self.db, scored, project, limit)


class VectorWrites(VectorReads):
    """Bound to the writer connection; each method is one transaction."""

    def register_model(self, name: str, dim: int) -> tuple[vectors.Model, bool]:
        with self.db:
            registered = vectors.register_model(self.db, name, dim)
        return registered

    def store(self, model_id: int, items: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
        with self.db:
            stored = vectors.store(self.db, model_id, items)
        return stored

    def finish(self, model_id: int) -> list[vectors.Model]:
        with self.db:
            dropped = vectors.finish(self.db, model_id)
        return dropped

    def prune_orphans(self) -> int:
        with self.db:
            pruned = vectors.prune_orphans(self.db)
        return pruned
