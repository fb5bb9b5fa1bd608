"""Checkpoints of the write-ahead logs, off the write thread.

SQLite checkpoints a log in the commit that takes it past 1,000 pages: that commit also
copies every page written since the last one into the database file and syncs it, and the
file saved waits for it. Over 200 edits of standard-library files written in process
(bench/write_latency.py), the writes took p99 111 ms and at most 315 ms with those
checkpoints, 76 and 93 ms with these. Here a commit only asks: a thread of its own
checkpoints, on a connection of its own, in SQLite's PASSIVE mode (it never waits for a
reader or the writer). Should the log grow past HARD_PAGES all the same (a first index
writes faster than a checkpoint copies), the commit that finds it so checkpoints, as SQLite
would have: the log stays bounded.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable

import apsw

log = logging.getLogger("codeanalysisd.db")

SOFT_PAGES = 1000  # SQLite's own wal_autocheckpoint: past this, a checkpoint is asked for
HARD_PAGES = 8 * SOFT_PAGES  # past this, the committing writer checkpoints (32 MB of 4 KB pages)
TAIL_PAGES = SOFT_PAGES // 4  # left after the thread's checkpoint, the writer copies these itself


class Checkpointer:
    """Takes over the checkpoints of a writer connection's databases (attach); close() waits
    for the one running."""

    def __init__(self, connect: Callable[[], apsw.Connection]) -> None:
        self._connect = connect  # the checkpoint thread's connection, opened there on first use
        self._db: apsw.Connection | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-checkpoint")
        self._running: set[str] = set()  # schemas with a checkpoint asked of the thread and not done
        self._copied: dict[str, int] = {}  # frames of each log the thread's last checkpoint copied
        self._lock = threading.Lock()
        self.background = 0  # checkpoints run on the thread
        self.in_commit = 0  # checkpoints a commit ran: the tail the thread left, or past HARD_PAGES
        self.most_pages = 0  # the longest any log was after a commit

    def attach(self, writer: apsw.Connection, schemas: tuple[str, ...]) -> None:
        for schema in schemas:
            writer.execute(f"PRAGMA {schema}.wal_autocheckpoint = 0")
            # A log that grew past SOFT_PAGES is cut back to that size when it starts again.
            writer.execute(f"PRAGMA {schema}.journal_size_limit = {SOFT_PAGES * 4096}")
        # Replaces SQLite's own hook, which is what wal_autocheckpoint sets.
        writer.set_wal_hook(self._committed)

    def _committed(self, writer: apsw.Connection, schema: str, pages: int) -> int:
        """SQLite's wal hook: after each commit, with the pages now in that schema's log."""
        # Nothing may be raised here: the commit is done, and apsw would report it as failed.
        self.most_pages = max(self.most_pages, pages)
        if pages < self._copied.get(schema, 0):
            # The log started again from its beginning after the thread copied all of it: what
            # the thread copied then is no part of this log. Kept, it would make a log that
            # next passes SOFT_PAGES look like a short tail, for the writer to copy whole.
            with self._lock:
                self._copied[schema] = 0
        if pages < SOFT_PAGES:
            return apsw.SQLITE_OK
        with self._lock:
            running = schema in self._running
            tail = pages - self._copied.get(schema, 0)
            ask = not running and tail > TAIL_PAGES and pages < HARD_PAGES
            if ask:
                self._running.add(schema)
        if ask:
            try:
                self._thread.submit(self._checkpoint, schema)
            except RuntimeError:  # closing: the writer's last checkpoint (Store.close) follows
                with self._lock:
                    self._running.discard(schema)
        elif not running or pages >= HARD_PAGES:
            # The thread copied all but a short tail (or the log is past its bound): the
            # writer copies the rest, and the log starts again from its beginning at the
            # next commit, which it cannot while commits keep landing during a checkpoint.
            try:
                writer.wal_checkpoint(schema)
                self.in_commit += 1
            except apsw.BusyError:
                pass  # the thread's checkpoint is running: the log is being copied already
            except apsw.Error as exc:
                log.warning("checkpoint of %s failed: %s", schema, exc)  # the next commit tries again
            with self._lock:
                self._copied[schema] = 0
        return apsw.SQLITE_OK

    def _checkpoint(self, schema: str) -> None:
        copied = 0
        try:
            if self._db is None:
                self._db = self._connect()
            frames, copied = self._db.wal_checkpoint(schema)
            if copied < frames:
                copied = 0  # a reader holds part of the log: the writer is no nearer the end
            self.background += 1
        except apsw.Error as exc:
            # The next commit past SOFT_PAGES asks again, and past HARD_PAGES the writer
            # checkpoints itself: the log stays bounded whatever failed here.
            log.warning("checkpoint of %s failed: %s", schema, exc)
        finally:
            with self._lock:
                self._running.discard(schema)
                self._copied[schema] = copied

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._db is not None:
            self._db.close()
            self._db = None
