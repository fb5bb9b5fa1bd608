"""The store's version history: every content a file had, kept apart from the index."""

from __future__ import annotations

import hashlib

import apsw

from codeanalysisd.db import history


class HistoryReads:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def versions(self, project_id: str, path: str) -> list[history.Version]:
        return history.versions(self.db, project_id, path)

    def version(self, project_id: str, path: str, spec: str) -> tuple[history.Version, bytes]:
        """A version by number or by (a prefix of) its sha256; raises LookupError."""
        found = history.find(self.db, project_id, path, spec)
        data = history.content(self.db, found.sha256)
        if data is None:
            raise LookupError(f"the content of version {found.n} is no longer stored")
        return found, data

    def stored_bytes(self) -> int:
        return history.stored_bytes(self.db)


class HistoryWrites(HistoryReads):
    """Bound to the writer connection; each method is one transaction."""

    def __init__(self, db: apsw.Connection, retention: history.Retention) -> None:
        super().__init__(db)
        self.retention = retention

    def record_overwritten(self, project_id: str, path: str, data: bytes, mode: int = 0) -> int:
        """Content a restore replaced becomes a version (unless it is the latest version
        already); returns the number of the version that holds it."""
        with self.db:
            n = history.record_content(self.db, project_id, path, hashlib.sha256(data).digest(), data, "overwritten",
                                       mode)
        return n

    def prune(self, now: float | None = None) -> int:
        with self.db:
            removed = history.prune(self.db, self.retention, now)
        return removed
