"""The database, as only the DB owner sees it.

Two connections: the writer, used by one thread (the write thread once serving), and a
reader for queries (WAL: a read never waits for a write). What each may do is in its
type: ``store.reads`` (``Reads``: projects, files, history, vectors, repair) runs on the
reader, on the caller's thread; ``Writes`` has the same parts bound to the writer, each
method one transaction, and is reached through ``store.write(lambda w: ...)``, which runs
it on the write thread.

``await store.read(lambda r: ...)`` runs a read off the event loop, in a pool of
READ_THREADS threads each with a read-only connection of its own, so reads run side by
side and none holds the loop. Each has a deadline (READ_DEADLINE seconds unless the call
says otherwise): SQLite's progress handler stops a statement still running past it, and
the read raises ``ReadTimeout``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

import apsw

from codeanalysisd.db import history, indexing, integrity, migrations, name_rows, queries, stored_text, vectors
from codeanalysisd.db.checkpoints import Checkpointer
from codeanalysisd.db.common_words import STATS, CommonWords, window_stats
from codeanalysisd.db.file_store import FileReads, FileWrites
from codeanalysisd.db.fts_terms import TermCache
from codeanalysisd.db.history_store import HistoryReads, HistoryWrites
from codeanalysisd.db.project_store import ProjectReads, ProjectWrites, RootTaken, UnknownProject
from codeanalysisd.db.repair_store import RepairReads, RepairWrites
from codeanalysisd.db.structure_store import StructureReads
from codeanalysisd.db.vector_store import VectorReads, VectorWrites

T = TypeVar("T")

READ_DEADLINE = 2.0  # seconds a read may run before it is stopped (Store.read)
log = logging.getLogger("codeanalysisd.store")

READ_THREADS = 2  # reads that can run at once, each on its own connection
# How long building the snapshot of the full-text terms may take (fts_terms: about 0.1 s for
# the standard library's 110,000 terms), or a common word's memo (common_words: about twice
# its query), on a read thread, off any query's path.
TERMS_DEADLINE = 10.0
# SQLite instructions between two looks at the clock: a look costs about 8 µs per 1,000
# instructions (under 1 %), and 1,000 instructions take well under a millisecond. A virtual
# table's step (an FTS5 row with its ranking) is one instruction, however long it takes.
PROGRESS_STEPS = 1000


class ReadTimeout(Exception):
    """A read ran past its deadline; its statement was stopped, and the connection serves on."""

    def __init__(self, seconds: float) -> None:
        shown = f"{seconds:.1f}" if round(seconds, 1) == seconds else f"{seconds:g}"
        super().__init__(f"the query took longer than {shown} s and was stopped; "
                         "narrow it (a project, fewer words)")
        self.seconds = seconds


class StoreClosed(RuntimeError):
    """A read asked of a store that is closed (or closing: a read running then is stopped)."""

    def __init__(self) -> None:
        super().__init__("the index is closed: the DB owner is stopping")


@dataclass
class OpenReport:
    """What opening the databases took, for the journal."""

    applied: list[int] = field(default_factory=list)
    history_applied: list[int] = field(default_factory=list)
    moved_aside: list[tuple[str, str, str]] = field(default_factory=list)  # (file, renamed to, why)
    reindexed: list[tuple[str, str]] = field(default_factory=list)  # (file, what REINDEX fixed in place)
    # What was read back from a history file that was moved aside into the fresh one:
    history_salvaged_from: str = ""  # the moved-aside file ("" when nothing was moved)
    history_salvaged_projects: int = 0
    history_salvaged_contents: int = 0
    history_salvaged_versions: int = 0
    history_lost_versions: int = 0  # known to have been there but unreadable, or without their content
    rebuilt_projects: int = 0  # projects an index recreated from scratch got back from the history
    adopted_files: int = 0  # current contents copied into a history created next to an existing index
    chunked_files: int = 0  # files given their chunks by an upgrade (before semantic search; header chunks)


def _connect(path: str, history_path: str, readonly: bool = False) -> apsw.Connection:
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    db = apsw.Connection(path, flags=flags)
    db.setbusytimeout(5000)
    vectors.load_extension(db)
    db.create_scalar_function("path_glob", queries.path_glob, 2, deterministic=True)
    db.create_scalar_function("window_text", stored_text.WindowText(), 4, deterministic=True)
    db.register_fts5_function(STATS, window_stats)
    db.execute(f"ATTACH DATABASE ? AS {history.SCHEMA}", (history_path,))
    return db


def _open_checked(path: str, schema: str, attach_to: apsw.Connection | None, report: OpenReport) -> apsw.Connection:
    """Open (or attach) one database file, moving it aside first if it is not sound.

    A file suspected of corruption gets the full check; a problem only in indexes is fixed in
    place by REINDEX. The suspicion marker goes only once the check has run and the file was
    found sound, repaired or moved aside: a check cut short runs again at the next start.
    """
    suspect = integrity.peek_suspect(path)
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
            problems = integrity.full_check(db, schema)
            if problems and integrity.index_only(db, schema, problems):
                found = "; ".join(problems[:5])
                problems = integrity.reindex(db, schema)
                if not problems:
                    report.reindexed.append((path, found))
            problem = "; ".join(problems[:5]) or None
        if problem is None:
            integrity.clear_suspect(path)
            return db
        if attach_to is None:
            db.close()
        else:
            db.execute(f"DETACH DATABASE {schema}")
        report.moved_aside.append((path, integrity.move_aside(path), problem))
    raise RuntimeError(f"{path} is unusable even after moving it aside")  # pragma: no cover


def _reporter(what: str) -> Callable[[concurrent.futures.Future[None]], None]:
    """A build off the queries' path that fails leaves them exact, only slower: said in the journal."""
    def report(done: concurrent.futures.Future[None]) -> None:
        error = None if done.cancelled() else done.exception()
        if error is not None and not isinstance(error, StoreClosed):
            log.warning("%s: %s", what, error)

    return report


_TERMS_FAILED = _reporter("cannot read the full-text index's terms (regex queries read every candidate window)")
_MEMO_FAILED = _reporter("cannot keep a common word's best windows (its queries are ranked by FTS5 each time)")


class Reads:
    """Every part of the store, bound to the reader connection."""

    def __init__(self, db: apsw.Connection, terms: TermCache | None = None, common: CommonWords | None = None
                 ) -> None:
        self.projects = ProjectReads(db)
        self.files = FileReads(db, terms, common)
        self.history = HistoryReads(db)
        self.vectors = VectorReads(db)
        self.repair = RepairReads(db)
        self.structure = StructureReads(db)


class _Reader:
    """One reader thread's connection, its parts, and the deadline its progress handler keeps."""

    def __init__(self, db: apsw.Connection, terms: TermCache, common: CommonWords) -> None:
        self.db = db
        self.reads = Reads(db, terms, common)
        self.deadline = math.inf  # time.monotonic() past which a statement is stopped; none between reads
        self.stopped = False  # set by Store.close: whatever runs now is stopped
        db.set_progress_handler(self._stop, PROGRESS_STEPS)

    def _stop(self) -> bool:
        return self.stopped or time.monotonic() > self.deadline


class Writes:
    """Every part of the store, bound to the writer connection: each method one transaction."""

    def __init__(self, db: apsw.Connection, retention: history.Retention) -> None:
        self.projects = ProjectWrites(db)
        self.files = FileWrites(db, retention)
        self.history = HistoryWrites(db, retention)
        self.vectors = VectorWrites(db)
        self.repair = RepairWrites(db, retention)

    def retain(self, retention: history.Retention) -> None:
        self.files.retention = self.history.retention = self.repair.retention = retention


class Store:
    def __init__(self, db: apsw.Connection, path: str, history_path: str,
                 retention: history.Retention | None = None) -> None:
        self.db = db  # the writer
        self.path = path
        self.history_path = history_path
        self._retention = retention or history.Retention()
        # Reads go through their own connection (WAL: they never wait for a write), so a
        # query or control call is answered while a batch of files is being written.
        self.reader = _connect(path, history_path, readonly=True)
        self.reads = Reads(self.reader)
        # Used directly only while nothing else runs (opening, tests); serving, only on the
        # write thread, through write().
        self.writes = Writes(db, self._retention)
        self._write_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        # Store.read's threads: each opens its connection on its first read (_reader).
        self._read_threads = concurrent.futures.ThreadPoolExecutor(max_workers=READ_THREADS,
                                                                   thread_name_prefix="db-reader")
        self._thread_reader = threading.local()
        self.checkpoints = Checkpointer(lambda: _connect(path, history_path))
        self.checkpoints.attach(db, ("main", history.SCHEMA))
        self._readers: list[_Reader] = []  # every connection the read threads opened, closed by close()
        self._readers_lock = threading.Lock()
        self._closed = False
        # Shared by the read threads' connections; a stale one is rebuilt on one of them.
        self.terms = TermCache()
        self.terms.schedule = functools.partial(self._off_path, _TERMS_FAILED)
        self.common = CommonWords()
        self.common.schedule = functools.partial(self._off_path, _MEMO_FAILED)

    @property
    def retention(self) -> history.Retention:
        return self._retention

    @retention.setter
    def retention(self, retention: history.Retention) -> None:
        self._retention = retention
        self.writes.retain(retention)

    async def write(self, operation: Callable[[Writes], T]) -> T:
        """Run ``operation(writes)`` on the write thread: writes are serialized there, one
        transaction at a time, and the event loop goes on answering reads meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._write_thread, operation, self.writes)

    async def read(self, operation: Callable[[Reads], T], deadline: float = READ_DEADLINE) -> T:
        """Run ``operation(reads)`` on one of the read threads, on that thread's own read-only
        connection, and return what it returns (which must not need the connection later: a
        list, not a cursor). The event loop goes on meanwhile, and up to READ_THREADS reads run
        at once; more wait for a thread.

        A statement still running ``deadline`` seconds after the operation started is stopped
        and the read raises ReadTimeout; the next read is answered as usual. A read asked
        after close(), or running when it is called, raises StoreClosed.
        """
        if self._closed:
            raise StoreClosed
        try:
            done = self._read_threads.submit(self._run_read, operation, deadline)
        except RuntimeError as exc:  # closed by another thread since the check: the pool takes no more
            raise StoreClosed from exc
        return await asyncio.wrap_future(done)

    def _run_read(self, operation: Callable[[Reads], T], deadline: float) -> T:
        reader = self._reader()
        reader.deadline = time.monotonic() + deadline
        try:
            return operation(reader.reads)
        except apsw.InterruptError as exc:
            if reader.stopped:
                raise StoreClosed from exc
            if time.monotonic() >= reader.deadline:
                raise ReadTimeout(deadline) from exc
            raise
        finally:
            reader.deadline = math.inf

    def _off_path(self, report: Callable[[concurrent.futures.Future[None]], None],
                  build: Callable[[apsw.Connection], None]) -> None:
        """The schedule of fts_terms.TermCache and common_words.CommonWords: the build runs on
        a read thread, as the next read."""
        try:
            done = self._read_threads.submit(self._run_read, lambda reads: build(reads.files.db), TERMS_DEADLINE)
        except RuntimeError:  # closed: no read runs again
            return
        done.add_done_callback(report)

    def _reader(self) -> _Reader:
        """This read thread's connection, opened on its first read."""
        reader: _Reader | None = getattr(self._thread_reader, "reader", None)
        if reader is None:
            with self._readers_lock:
                if self._closed:
                    raise StoreClosed
                reader = _Reader(_connect(self.path, self.history_path, readonly=True), self.terms, self.common)
                self._readers.append(reader)
            self._thread_reader.reader = reader
        if reader.stopped:
            raise StoreClosed
        return reader

    @classmethod
    def open(cls, path: str, history_path: str, retention: history.Retention | None = None
             ) -> tuple[Store, OpenReport]:
        """Open (creating if needed), check, and migrate both databases.

        Raises MigrationError when a schema cannot be brought up to date. A file that is not
        a sound database is moved aside and started afresh: a lost index is rebuilt from the
        history (projects, and deleted files' rows; the watcher re-reads what is on disk), a
        lost history gets back whatever can still be read of the moved-aside file, and is
        refilled from the index's current contents.
        """
        report = OpenReport()
        db = _open_checked(path, "main", None, report)
        try:
            # WAL: readers (integrity checks, backups) never block the single writer.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            _open_checked(history_path, history.SCHEMA, db, report)
            db.execute(f"PRAGMA {history.SCHEMA}.journal_mode = WAL")
            db.execute(f"PRAGMA {history.SCHEMA}.synchronous = NORMAL")
            new_index = migrations.schema_version(db) == 0
            new_history = migrations.schema_version(db, history.SCHEMA) == 0
            def cut_again(db: apsw.Connection) -> None:
                # Before PACKED_BLOBS in the same run: the blobs are still plain.
                report.chunked_files = indexing.chunk_existing(db, kept="plain")

            report.applied = migrations.migrate(db, steps={migrations.HEADER_CHUNKS: cut_again,
                                                           migrations.COMPACT_NAMES: name_rows.rewrite_renamed,
                                                           migrations.PACKED_BLOBS: indexing.pack_blobs,
                                                           migrations.WINDOW_TEXTS: indexing.pack_window_texts,
                                                           migrations.PACKED_REFS: name_rows.pack_references,
                                                           migrations.PACKED_USES: name_rows.pack_uses,
                                                           migrations.DEFLATED_NAMES: name_rows.deflate_long_rows,
                                                           migrations.WINDOW_DICTIONARY: stored_text.repack_windows,
                                                           migrations.CONTENT_WINDOWS: stored_text.to_windows})
            report.history_applied = migrations.migrate(db, history.MIGRATIONS, history.SCHEMA,
                                                        steps={history.PACKED_CONTENTS: history.pack_existing})
        except BaseException:
            db.close()
            raise
        store = cls(db, path, history_path, retention)
        salvaged = False
        moved = [renamed for file, renamed, _ in report.moved_aside if file == history_path]
        if new_history and moved:
            salvaged = store._salvage_history(moved[0], report)
        if new_index and (not new_history or salvaged):
            report.rebuilt_projects = store._rebuild_from_history()
        elif new_history and not new_index:
            report.adopted_files = store._adopt_into_history()
        if migrations.CHUNKS in report.applied and not new_index:
            with store.db:
                report.chunked_files = indexing.chunk_existing(store.db)
        return store, report

    def _salvage_history(self, old_path: str, report: OpenReport) -> bool:
        """Read back what can be read of a moved-aside history; True if anything was."""
        found = history.salvage(self.db, old_path, functools.partial(stored_text.content, self.db))
        report.history_salvaged_from = old_path
        report.history_salvaged_projects = found.projects
        report.history_salvaged_contents = found.contents
        report.history_salvaged_versions = found.versions
        report.history_lost_versions = found.lost_versions
        return bool(found.projects or found.versions)

    def _rebuild_from_history(self) -> int:
        with self.db:
            projects = history.registered_projects(self.db)
            for pid, name, root, created, owner_uid in projects:
                self.db.execute("INSERT INTO projects (id, name, root, created, owner_uid) VALUES (?, ?, ?, ?, ?)",
                                (pid, name, root, created, owner_uid))
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
            for project in self.writes.projects.list():
                history.register_project(self.db, project.id, project.name, project.root, time.time(),
                                         project.owner_uid)
                # The types are the columns' (path TEXT, sha256 BLOB, state TEXT).
                files = cast(list[tuple[str, bytes, str]], self.db.execute(
                    "SELECT path, sha256, state FROM files WHERE project_id = ?", (project.id,)).fetchall())
                for path, sha, state in files:
                    count += indexing.preserve(self.db, project.id, path, bytes(sha))
                    if state == "deleted":
                        history.record_deleted(self.db, project.id, path)
        return count

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            for reader in self._readers:
                reader.stopped = True  # a read running now is stopped at its next look at the clock
        self._read_threads.shutdown(wait=True)  # reads still queued fail with StoreClosed at once
        for reader in self._readers:
            reader.db.close()
        self._write_thread.shutdown(wait=True)  # a write in progress finishes (or rolls back) first
        self.checkpoints.close()
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

    def integrity_problems(self) -> dict[str, list[str]]:
        """PRAGMA integrity_check of both files, on a connection of its own (callers run it in a thread)."""
        db = _connect(self.path, self.history_path, readonly=True)
        try:
            return {"index": integrity.full_check(db, "main"), "history": integrity.full_check(db, history.SCHEMA)}
        finally:
            db.close()

    def database_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(self.path + suffix).st_size
        return total


__all__ = ["READ_DEADLINE", "READ_THREADS", "OpenReport", "ReadTimeout", "Reads", "RootTaken", "Store", "StoreClosed",
           "UnknownProject", "Writes"]
