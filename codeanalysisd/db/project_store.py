"""The store's projects: which roots are registered, under which ids, in which state."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import apsw

from codeanalysisd.db import history
from codeanalysisd.db.rows import single_int
from codeanalysisd.records import ProjectInfo, ProjectState


class UnknownProject(LookupError):
    pass


class RootTaken(ValueError):
    def __init__(self, project: ProjectInfo, message: str) -> None:
        super().__init__(message)
        self.project = project


_SLUG = re.compile(r"[^a-z0-9._-]+")
_LIVE_FILES = "(SELECT count(*) FROM files f WHERE f.project_id = p.id AND f.state = 'live')"
_COLUMNS = f"p.id, p.name, p.root, {_LIVE_FILES}, p.state, p.owner_uid, p.root_dev, p.root_ino"


def _slug(name: str) -> str:
    slug = _SLUG.sub("-", name.lower()).strip("-.") or "project"
    return slug[:48]


def _info(row: tuple[str, str, str, int, str, int, int, int]) -> ProjectInfo:
    return ProjectInfo(*row)


class ProjectReads:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def list(self) -> list[ProjectInfo]:
        return [_info(row) for row in self.db.execute(f"SELECT {_COLUMNS} FROM projects p ORDER BY p.created, p.id")]

    def find(self, key: str) -> ProjectInfo:
        """A project by id or by root path: one lookup by key (both are unique)."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM projects p WHERE p.id = ? UNION ALL "
                              f"SELECT {_COLUMNS} FROM projects p WHERE p.root = ? LIMIT 1", (key, key)).fetchone()
        if row is None:
            raise UnknownProject(key)
        return _info(row)

    def count(self) -> int:
        return single_int(self.db.execute("SELECT count(*) FROM projects"))

    def owned_by(self, uid: int) -> int:
        """How many projects the uid has registered."""
        return single_int(self.db.execute("SELECT count(*) FROM projects WHERE owner_uid = ?", (uid,)))


class ProjectWrites(ProjectReads):
    """Bound to the writer connection; each method is one transaction."""

    def add(self, root: str, overlaps: Callable[[str, str], bool], owner_uid: int = 0,
            identity: tuple[int, int] = (0, 0)) -> ProjectInfo:
        """Register a canonical root, the directory (device, inode) it names now, for its owner;
        ``overlaps(a, b)`` decides which roots conflict."""
        with self.db:
            for existing in self.list():
                if existing.root == root:
                    raise RootTaken(existing, f"{root} is already registered as project {existing.id!r}")
                if overlaps(existing.root, root):
                    raise RootTaken(
                        existing,
                        f"{root} overlaps project {existing.id!r} at {existing.root}; "
                        "a file can belong to one project only",
                    )
            name = os.path.basename(root.rstrip("/")) or "root"
            in_index = {row[0] for row in self.db.execute("SELECT id FROM projects")}
            # A root its owner registered before gets its id back, and with it its history; a
            # new root (or another user's) never takes an id whose history belongs to another.
            before = history.id_for_root(self.db, root, owner_uid)
            if before is None or before in in_index:
                taken = in_index | history.taken_ids(self.db)
                base = _slug(name)
                pid, n = base, 1
                while pid in taken:
                    n += 1
                    pid = f"{base}-{n}"
            else:
                pid = before
            created = time.time()
            self.db.execute("INSERT INTO projects (id, name, root, created, owner_uid, root_dev, root_ino) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", (pid, name, root, created, owner_uid, *identity))
            history.register_project(self.db, pid, name, root, created, owner_uid)
        return self.find(pid)

    def remove(self, key: str) -> ProjectInfo:
        with self.db:
            project = self.find(key)
            # files rows go with the project (ON DELETE CASCADE); the history stays until pruned.
            self.db.execute("DELETE FROM projects WHERE id = ?", (project.id,))
            history.unregister_project(self.db, project.id)
        return project

    def set_identity(self, project_id: str, identity: tuple[int, int]) -> None:
        """Record the root's identity of a project registered before identities were."""
        with self.db:
            self.db.execute("UPDATE projects SET root_dev = ?, root_ino = ? WHERE id = ? AND root_ino = 0",
                            (*identity, project_id))

    def set_state(self, project_id: str, state: ProjectState) -> bool:
        """True if the state changed."""
        with self.db:
            changed = self.db.execute("UPDATE projects SET state = ? WHERE id = ? AND state != ? RETURNING id",
                                      (str(state), project_id, str(state))).fetchall()
        return bool(changed)
