"""The store's side of repair: what the index and the version store hold for a path, and
one repair pass (or one batch of the repair worker) carried out as one transaction."""

from __future__ import annotations

from collections.abc import Iterable

import apsw

from codeanalysisd.db import history, reconcile
from codeanalysisd.db.file_store import prune_file
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.repair.plan import InHistory, InIndex, OnDisk, RepairAction


class RepairReads:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def paths(self, project_id: str) -> set[str]:
        """Every path the index or the version store knows in the project."""
        return reconcile.paths(self.db, project_id)

    def facts(self, project_id: str, paths: Iterable[str]) -> dict[str, tuple[InIndex | None, InHistory | None]]:
        return {path: reconcile.facts(self.db, project_id, path) for path in paths}


class RepairWrites(RepairReads):
    """Bound to the writer connection; each method is one transaction."""

    def __init__(self, db: apsw.Connection, retention: history.Retention) -> None:
        super().__init__(db)
        self.retention = retention

    def apply(self, project_id: str, actions: list[tuple[str, RepairAction]], disk: dict[str, OnDisk],
              updates: dict[str, FileUpdate]) -> list[tuple[str, int]]:
        """The actions carried out; the files to restore, each with the version to write back."""
        with self.db:
            restorable = reconcile.apply(self.db, project_id, actions, disk, updates)
            for path in updates:
                prune_file(self.db, self.retention, project_id, path)
        return restorable
