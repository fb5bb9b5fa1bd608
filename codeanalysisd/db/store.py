"""The database, as only the DB owner sees it: one apsw connection, one transaction per operation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import apsw

from codeanalysisd.db import history, indexing, integrity, migrations, queries, reconcile, vectors


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


T = TypeVar("T")
_SLUG = re.compile(r"[^a-z0-9._-]+")


def _slug(name: str) -> str:
    slug = _SLUG.sub("-", name.lower()).strip("-.") or "project"
    return slug[:48]


@dataclass
class OpenReport:
    """What opening the databases took, for the journal."""

    applied: list[int] = field(default_factory=list)
    history_applied: list[int] = field(default_factory=list)
    moved_aside: list[tuple[str, str, str]] = field(default_factory=list)  # (file, renamed to, why)
    rebuilt_projects: int = 0  # projects an index recreated from scratch got back from the history
    adopted_files: int = 0  # current contents copied into a history created next to an existing index
    chunked_files: int = 0  # files indexed before semantic search existed, given their chunks


def _connect(path: str, history_path: str, readonly: bool = False) -> apsw.Connection:
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    db = apsw.Connection(path, flags=flags)
    db.setbusytimeout(5000)
    vectors.load_extension(db)
    db.execute(f"ATTACH DATABASE ? AS {history.SCHEMA}", (history_path,))
    return db


def _sound(path: str, schema: str, attach_to: apsw.Connection | None, report: OpenReport) -> apsw.Connection:
    """Open (or attach) one database file, moving it aside first if it is not sound."""
    suspect = integrity.take_suspect(path)
    for attempt in (1, 2):
        if attach_to is None:
            db = apsw.Connection(path)
            db.setbusytimeout(5000)
            vectors.load_extension(db)
        else:
            db = attach_to
            try:
                db.execute(f"ATTACH DATABASE ? AS {schema}", (path,))
            except (apsw.CorruptError, apsw.NotADBError) as exc:
                report.moved_aside.append((path, integrity.move_aside(path), f"{type(exc).__name__}: {exc}"))
                continue
        problem = integrity.probe(db, schema)
        if problem is None and suspect and attempt == 1:
            problem = "; ".join(integrity.full_check(db, schema)[:5]) or None
        if problem is None:
            return db
        if attach_to is None:
            db.close()
        else:
            db.execute(f"DETACH DATABASE {schema}")
        report.moved_aside.append((path, integrity.move_aside(path), problem))
    raise RuntimeError(f"{path} is unusable even after moving it aside")  # pragma: no cover


class Store:
    def __init__(self, db: apsw.Connection, path: str, history_path: str,
                 retention: history.Retention | None = None) -> None:
        self.db = db  # the writer: used by one thread at a time, the write thread once serving
        self.path = path
        self.history_path = history_path
        self.retention = retention or history.Retention()
        # Reads go through their own connection (WAL: they never wait for a write), so a
        # query or control call is answered while a batch of files is being written.
        self.reader = _connect(path, history_path, readonly=True)
        self._writes = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")

    async def write(self, operation: Callable[..., T], *args: object) -> T:
        """Run a write operation (one of the methods below that opens a transaction) on the
        write thread: writes are serialized there, one transaction at a time, and the event
        loop goes on answering reads meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._writes, functools.partial(operation, *args))

    @classmethod
    def open(cls, path: str, history_path: str, retention: history.Retention | None = None
             ) -> tuple[Store, OpenReport]:
        """Open (creating if needed), check, and migrate both databases.

        Raises MigrationError when a schema cannot be brought up to date. A file that is not
        a sound database is moved aside and started afresh: a lost index is rebuilt from the
        history (projects, and deleted files' rows; the watcher re-reads what is on disk), a
        lost history is refilled from the index's current contents.
        """
        report = OpenReport()
        db = _sound(path, "main", None, report)
        try:
            # WAL: readers (integrity checks, backups) never block the single writer.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            _sound(history_path, history.SCHEMA, db, report)
            db.execute(f"PRAGMA {history.SCHEMA}.journal_mode = WAL")
            db.execute(f"PRAGMA {history.SCHEMA}.synchronous = NORMAL")
            new_index = migrations.schema_version(db) == 0
            new_history = migrations.schema_version(db, history.SCHEMA) == 0
            report.applied = migrations.migrate(db)
            report.history_applied = migrations.migrate(db, history.MIGRATIONS, history.SCHEMA)
        except BaseException:
            db.close()
            raise
        store = cls(db, path, history_path, retention)
        if new_index and not new_history:
            report.rebuilt_projects = store._rebuild_from_history()
        elif new_history and not new_index:
            report.adopted_files = store._adopt_into_history()
        if 6 in report.applied and not new_index:
            with store.db:
                report.chunked_files = indexing.chunk_existing(store.db)
        return store, report

    def _rebuild_from_history(self) -> int:
        with self.db:
            projects = history.registered_projects(self.db)
            for pid, name, root, created in projects:
                self.db.execute("INSERT INTO projects (id, name, root, created) VALUES (?, ?, ?, ?)",
                                (pid, name, root, created))
                for path in history.known_paths(self.db, pid):
                    last = history.latest(self.db, pid, path)
                    # A path the file moved away from is not a file any more; everything else
                    # starts as deleted and the watcher revives what it finds on disk.
                    if last is not None and not (last.reason == "moved" and not last.present):
                        indexing.add_deleted(self.db, pid, path, last)
        return len(projects)

    def _adopt_into_history(self) -> int:
        count = 0
        with self.db:
            for project in self.list_projects(self.db):
                history.register_project(self.db, project.id, project.name, project.root, time.time())
                for path, sha, state in self.db.execute(
                        "SELECT path, sha256, state FROM files WHERE project_id = ?", (project.id,)).fetchall():
                    count += indexing.preserve(self.db, project.id, path, bytes(sha))
                    if state == "deleted":
                        history.record_deleted(self.db, project.id, path)
        return count

    def close(self) -> None:
        self._writes.shutdown(wait=True)  # a write in progress finishes (or rolls back) first
        self.reader.close()
        # A deliberate checkpoint keeps the WAL from growing across restarts.
        try:
            self.db.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
            self.db.execute(f"PRAGMA {history.SCHEMA}.wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    @property
    def schema_version(self) -> int:
        return migrations.schema_version(self.reader)

    # ------------------------------------------------------------------ projects
    def list_projects(self, db: apsw.Connection | None = None) -> list[Project]:
        rows = (db or self.reader).execute(
            """
            SELECT p.id, p.name, p.root, p.state,
                   (SELECT count(*) FROM files f WHERE f.project_id = p.id AND f.state = 'live')
            FROM projects p ORDER BY p.created, p.id
            """
        ).fetchall()
        return [Project(*row) for row in rows]

    def find_project(self, key: str, db: apsw.Connection | None = None) -> Project:
        """A project by id or by root path."""
        for project in self.list_projects(db):
            if key in (project.id, project.root):
                return project
        raise UnknownProject(key)

    def add_project(self, root: str, overlaps) -> Project:
        """Register a canonical root; ``overlaps(a, b)`` decides which roots conflict."""
        with self.db:
            for existing in self.list_projects(self.db):
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
            # A root registered before gets its id back, and with it its history; a new
            # root never takes an id whose history belongs to another.
            pid = history.id_for_root(self.db, root)
            if pid is None or pid in in_index:
                taken = in_index | history.taken_ids(self.db)
                base = _slug(name)
                pid, n = base, 1
                while pid in taken:
                    n += 1
                    pid = f"{base}-{n}"
            created = time.time()
            self.db.execute("INSERT INTO projects (id, name, root, created) VALUES (?, ?, ?, ?)",
                            (pid, name, root, created))
            history.register_project(self.db, pid, name, root, created)
        return self.find_project(pid, self.db)

    def remove_project(self, key: str) -> Project:
        with self.db:
            project = self.find_project(key, self.db)
            # files rows go with the project (ON DELETE CASCADE); the history stays until pruned.
            self.db.execute("DELETE FROM projects WHERE id = ?", (project.id,))
            history.unregister_project(self.db, project.id)
        return project

    def set_project_state(self, project_id: str, state: str) -> bool:
        with self.db:
            changed = self.db.execute("UPDATE projects SET state = ? WHERE id = ? AND state != ? RETURNING id",
                                      (state, project_id, state)).fetchall()
        return bool(changed)

    # ------------------------------------------------------------------ index writes (one transaction each)
    def index_files(self, project_id: str, updates: list[indexing.FileUpdate], reason: str | None = None) -> int:
        with self.db:
            for update in updates:
                indexing.write_file(self.db, project_id, update, reason)
                self._prune_file(project_id, update.path)
        return len(updates)

    def _prune_file(self, project_id: str, path: str) -> None:
        if history.over_limit(self.db, project_id, path, self.retention):
            history.prune(self.db, self.retention, project_id=project_id, path=path)

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
        return indexing.syntax_pending(self.reader, project_id, limit)

    def record_syntax(self, project_id: str, verdicts: list[tuple[str, bytes, str]]) -> int:
        with self.db:
            return sum(indexing.record_syntax(self.db, project_id, *v) for v in verdicts)

    def syntax_pending_count(self) -> int:
        return self.reader.execute("SELECT count(*) FROM files WHERE syntax IS NULL AND state = 'live' AND parsed = 1"
                               ).fetchone()[0]

    def set_skipped(self, project_id: str, scope: str, entries: list[tuple[str, str]]) -> None:
        with self.db:
            indexing.set_skipped(self.db, project_id, scope, entries)

    def file_states(self, project_id: str) -> list[indexing.FileState]:
        return indexing.states(self.reader, project_id)

    # ------------------------------------------------------------------ queries
    def search(self, query: str, project: str | None, limit: int, any_word: bool = False) -> list[queries.Hit]:
        return queries.search(self.reader, query, project, limit, any_word)

    def find_symbol(self, name: str, project: str | None, kind: str, limit: int) -> list[queries.Symbol]:
        return queries.find_symbol(self.reader, name, project, kind, limit)

    def find_references(self, name: str, project: str | None, limit: int) -> list[queries.Usage]:
        return queries.find_references(self.reader, name, project, limit)

    def file_source(self, project_id: str, path: str) -> tuple[bytes | None, str, str]:
        return queries.file_source(self.reader, project_id, path)

    # ------------------------------------------------------------------ history
    def versions(self, project_id: str, path: str) -> list[history.Version]:
        return history.versions(self.reader, project_id, path)

    def version(self, project_id: str, path: str, spec: str) -> tuple[history.Version, bytes]:
        """A version by number or by (a prefix of) its sha256; raises LookupError."""
        found = history.find(self.reader, project_id, path, spec)
        data = history.content(self.reader, found.sha256)
        if data is None:
            raise LookupError(f"the content of version {found.n} is no longer stored")
        return found, data

    def record_overwritten(self, project_id: str, path: str, data: bytes) -> int:
        """Content about to be replaced by a restore becomes a version first (unless it is the
        latest version already); returns the number of the version that holds it."""
        with self.db:
            return history.record_content(self.db, project_id, path, hashlib.sha256(data).digest(), data,
                                          "overwritten")

    def prune_history(self, now: float | None = None) -> int:
        with self.db:
            return history.prune(self.db, self.retention, now)

    # ------------------------------------------------------------------ semantic search
    def register_model(self, name: str, dim: int) -> tuple[vectors.Model, bool]:
        with self.db:
            return vectors.register_model(self.db, name, dim)

    def pending_chunks(self, model_id: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
        return vectors.pending(self.reader, model_id, after, limit)

    def store_vectors(self, model_id: int, items: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
        with self.db:
            return vectors.store(self.db, model_id, items)

    def model_vectors(self, model_id: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
        return vectors.vectors(self.reader, model_id, after, limit)

    def vector_count(self, model_id: int) -> int:
        return vectors.stored_count(self.reader, model_id)

    def finish_model(self, model_id: int) -> list[vectors.Model]:
        with self.db:
            return vectors.finish(self.db, model_id)

    def prune_vectors(self) -> int:
        with self.db:
            return vectors.prune_orphans(self.db)

    def chunks_pending(self) -> int:
        found = vectors.current(self.reader)
        return vectors.pending_count(self.reader, found.id if found else None)

    def models(self) -> list[tuple[vectors.Model, int]]:
        return vectors.models(self.reader)

    def project_keys(self, project: str) -> list[bytes]:
        return vectors.project_keys(self.reader, project)

    def chunk_count(self) -> int:
        return vectors.chunk_count(self.reader)

    def chunk_at(self, project: str, path: str, line: int) -> tuple[str, int, int] | None:
        return vectors.chunk_at(self.reader, project, path, line)

    def semantic_matches(self, scored: list[tuple[bytes, float]], project: str | None, limit: int
                         ) -> list[vectors.Match]:
        return vectors.resolve(self.reader, scored, project, limit)

    def history_bytes(self) -> int:
        return history.stored_bytes(self.reader)

    # ------------------------------------------------------------------ repair
    def repair_paths(self, project_id: str) -> set[str]:
        return reconcile.paths(self.reader, project_id)

    def repair_facts(self, project_id: str, paths: Iterable[str]) -> dict[str, tuple]:
        return {path: reconcile.facts(self.reader, project_id, path) for path in paths}

    def apply_repair(self, project_id: str, actions: list[tuple[str, str]], disk: dict,
                     updates: dict[str, indexing.FileUpdate]) -> None:
        """One repair pass (or one batch of the repair worker) as one transaction."""
        with self.db:
            reconcile.apply(self.db, project_id, actions, disk, updates)
            for path in updates:
                self._prune_file(project_id, path)

    def stored_content(self, project_id: str, path: str) -> bytes | None:
        """The bytes the index holds for a file (its current, or last, content)."""
        data, _state, _problems = queries.file_source(self.reader, project_id, path)
        return data

    # ------------------------------------------------------------------ integrity
    def integrity_problems(self) -> dict[str, list[str]]:
        db = _connect(self.path, self.history_path, readonly=True)
        try:
            return {"index": integrity.full_check(db, "main"), "history": integrity.full_check(db, history.SCHEMA)}
        finally:
            db.close()

    def problems(self, project: str | None) -> list[tuple[str, str, str]]:
        return queries.problems(self.reader, project)

    # ------------------------------------------------------------------ figures
    def files_indexed(self) -> int:
        return self.reader.execute("SELECT count(*) FROM files WHERE state = 'live'").fetchone()[0]

    def database_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(self.path + suffix).st_size
        return total
