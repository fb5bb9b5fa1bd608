"""The database side of repair: what the index and the version store hold for a file, and
carrying out the actions of the repair rule (``codeanalysisd.repair.plan``).

Callers hold the transaction: a whole repair pass, or a whole batch of the repair worker.
"""

from __future__ import annotations

from collections.abc import Iterable

import apsw

from codeanalysisd.db import history, indexing
from codeanalysisd.db.migrations import STRUCTURE
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.records import FileState
from codeanalysisd.repair.plan import NEEDS_CONTENT, InHistory, InIndex, OnDisk, RepairAction


def paths(db: apsw.Connection, project_id: str) -> set[str]:
    """Every path the index or the version store knows in the project."""
    known = {row[0] for row in db.execute("SELECT path FROM files WHERE project_id = ?", (project_id,))}
    return known | set(history.known_paths(db, project_id))


def facts(db: apsw.Connection, project_id: str, path: str) -> tuple[InIndex | None, InHistory | None]:
    row = db.execute(
        "SELECT f.state, f.size, f.mtime_ns, f.sha256, EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256), "
        "NOT (f.parsed = 1 AND f.structure < ?) FROM files f WHERE f.project_id = ? AND f.path = ?",
        (STRUCTURE, project_id, path)).fetchone()
    in_index = InIndex(FileState(row[0]), row[1], row[2], bytes(row[3]), bool(row[4]), bool(row[5])) if row else None
    last = history.latest(db, project_id, path)
    kept = None
    if last is not None:
        holds = in_index is not None and history.holds(db, project_id, path, in_index.sha256)
        kept = InHistory(holds, last.present, last.reason == "moved" and not last.present)
    return in_index, kept


def apply(db: apsw.Connection, project_id: str, actions: Iterable[tuple[str, RepairAction]],
          disk: dict[str, OnDisk], updates: dict[str, FileUpdate]) -> list[tuple[str, int]]:
    """Carry out (path, action) pairs in order. Content actions take their parsed file from
    ``updates``; a path missing there (it changed again meanwhile) is left for the next pass.

    A file to restore is marked deleted like any other gone from disk (its content is in the
    version store by then: a ``preserve`` comes before it); the client writes it back. Returns
    those files with the number of the version holding the content the index had."""
    restorable: list[tuple[str, int]] = []
    for path, action in actions:
        if action in NEEDS_CONTENT:
            update = updates.get(path)
            if update is not None:
                indexing.write_file(db, project_id, update, "repaired")
        elif action == RepairAction.RESTORE:
            if not indexing.mark_deleted(db, project_id, [path]):
                history.record_deleted(db, project_id, path)
            row = db.execute("SELECT sha256 FROM files WHERE project_id = ? AND path = ?",
                             (project_id, path)).fetchone()
            n = history.newest_with(db, project_id, path, bytes(row[0])) if row else None
            if n is not None:
                restorable.append((path, n))
        elif action == RepairAction.TOUCH:
            stat = disk[path]
            indexing.touch(db, project_id, path, stat.size, stat.mtime_ns)
        elif action == RepairAction.PRESERVE:
            row = db.execute("SELECT sha256 FROM files WHERE project_id = ? AND path = ?",
                             (project_id, path)).fetchone()
            if row:
                indexing.preserve(db, project_id, path, bytes(row[0]))
        elif action == RepairAction.MARK_DELETED:
            if not indexing.mark_deleted(db, project_id, [path]):
                history.record_deleted(db, project_id, path)
        elif action == RepairAction.ADD_DELETED:
            last = history.latest(db, project_id, path)
            if last is not None:
                indexing.add_deleted(db, project_id, path, last)
        else:
            raise ValueError(f"unknown repair action {action!r}")
    return restorable
