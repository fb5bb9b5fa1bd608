"""The database, as only the DB owner sees it: one apsw connection, one transaction per operation."""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass

import apsw

from codeanalysisd.db import indexing, migrations, queries


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    root: str
    state: str
    file_count: int


class UnknownProject(LookupError):
    pass


class RootTaken(ValueError):
    def __init__(self, project: Project, message: str) -> None:
        super().__init__(message)
        self.project = project


_SLUG = re.compile(r"[^a-z0-9._-]+")


def _slug(name: str) -> str:
    slug = _SLUG.sub("-", name.lower()).strip("-.") or "project"
    return slug[:48]


class Store:
    def __init__(self, db: apsw.Connection, path: str) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: str) -> tuple[Store, list[int]]:
        """Open (creating if needed) and migrate; raises MigrationError on failure."""
        db = apsw.Connection(path)
        db.setbusytimeout(5000)
        # WAL: readers (integrity checks, backups) never block the single writer.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        try:
            applied = migrations.migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db, path), applied

    def close(self) -> None:
        # A deliberate checkpoint keeps the WAL from growing across restarts.
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    @property
    def schema_version(self) -> int:
        return migrations.schema_version(self.db)

    # ------------------------------------------------------------------ projects
    def list_projects(self) -> list[Project]:
        rows = self.db.execute(
            """
            SELECT p.id, p.name, p.root, p.state,
                   (SELECT count(*) FROM files f WHERE f.project_id = p.id AND f.state = 'live')
            FROM projects p ORDER BY p.created, p.id
            """
        ).fetchall()
        return [Project(*row) for row in rows]

    def find_project(self, key: str) -> Project:
        """A project by id or by root path."""
        for project in self.list_projects():
            if key in (project.id, project.root):
                return project
        raise UnknownProject(key)

    def add_project(self, root: str, overlaps) -> Project:
        """Register a canonical root; ``overlaps(a, b)`` decides which roots conflict."""
        with self.db:
            for existing in self.list_projects():
                if existing.root == root:
                    raise RootTaken(existing, f"{root} is already registered as project {existing.id!r}")
                if overlaps(existing.root, root):
                    raise RootTaken(
                        existing,
                        f"{root} overlaps project {existing.id!r} at {existing.root}; "
                        "a file can belong to one project only",
                    )
            name = os.path.basename(root.rstrip("/")) or "root"
            base = _slug(name)
            taken = {row[0] for row in self.db.execute("SELECT id FROM projects")}
            pid, n = base, 1
            while pid in taken:
                n += 1
                pid = f"{base}-{n}"
            self.db.execute(
                "INSERT INTO projects (id, name, root, created) VALUES (?, ?, ?, ?)",
                (pid, name, root, time.time()),
            )
        return self.find_project(pid)

    def remove_project(self, key: str) -> Project:
        with self.db:
            project = self.find_project(key)
            # files rows go with the project (ON DELETE CASCADE).
            self.db.execute("DELETE FROM projects WHERE id = ?", (project.id,))
        return project

    def set_project_state(self, project_id: str, state: str) -> bool:
        with self.db:
            changed = self.db.execute("UPDATE projects SET state = ? WHERE id = ? AND state != ? RETURNING id",
                                      (state, project_id, state)).fetchall()
        return bool(changed)

    # ------------------------------------------------------------------ index writes (one transaction each)
    def index_files(self, project_id: str, updates: list[indexing.FileUpdate]) -> int:
        with self.db:
            for update in updates:
                indexing.write_file(self.db, project_id, update)
        return len(updates)

    def mark_deleted(self, project_id: str, paths: list[str]) -> int:
        with self.db:
            return indexing.mark_deleted(self.db, project_id, paths)

    def move_file(self, project_id: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
        with self.db:
            return indexing.move(self.db, project_id, old, new, size, mtime_ns)

    def touch_files(self, project_id: str, stats: list[tuple[str, int, int]]) -> None:
        with self.db:
            for path, size, mtime_ns in stats:
                indexing.touch(self.db, project_id, path, size, mtime_ns)

    def syntax_pending(self, project_id: str, limit: int) -> list[tuple[str, bytes]]:
        return indexing.syntax_pending(self.db, project_id, limit)

    def record_syntax(self, project_id: str, verdicts: list[tuple[str, bytes, str]]) -> int:
        with self.db:
            return sum(indexing.record_syntax(self.db, project_id, *v) for v in verdicts)

    def syntax_pending_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM files WHERE syntax IS NULL AND state = 'live' AND parsed = 1"
                               ).fetchone()[0]

    def set_skipped(self, project_id: str, scope: str, entries: list[tuple[str, str]]) -> None:
        with self.db:
            indexing.set_skipped(self.db, project_id, scope, entries)

    def file_states(self, project_id: str) -> list[indexing.FileState]:
        return indexing.states(self.db, project_id)

    # ------------------------------------------------------------------ queries
    def search(self, query: str, project: str | None, limit: int) -> list[queries.Hit]:
        return queries.search(self.db, query, project, limit)

    def find_symbol(self, name: str, project: str | None, kind: str, limit: int) -> list[queries.Symbol]:
        return queries.find_symbol(self.db, name, project, kind, limit)

    def find_references(self, name: str, project: str | None, limit: int) -> list[queries.Usage]:
        return queries.find_references(self.db, name, project, limit)

    def file_source(self, project_id: str, path: str) -> tuple[bytes | None, str, str]:
        return queries.file_source(self.db, project_id, path)

    def problems(self, project: str | None) -> list[tuple[str, str, str]]:
        return queries.problems(self.db, project)

    # ------------------------------------------------------------------ figures
    def files_indexed(self) -> int:
        return self.db.execute("SELECT count(*) FROM files WHERE state = 'live'").fetchone()[0]

    def database_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(self.path + suffix).st_size
        return total
