"""The write-ahead logs are checkpointed off the write thread, and stay bounded all the same."""

import hashlib
import os
import threading

import apsw

from codeanalysisd.db import checkpoints
from codeanalysisd.db.store import Store
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap


def big_file(n: int, lines: int = 4000) -> FileUpdate:
    # Words unique to the file: its full text and its blob are new pages in both logs.
    source = "".join(f"value_{n}_{i} = {i}  # {os.urandom(8).hex()}\n" for i in range(lines)).encode()
    return FileUpdate(f"m{n}.py", len(source), 1, source, hashlib.sha256(source).digest(),
                      IndexedFacts("utf-8", True, (), None))


def log_pages(store: Store) -> int:
    return os.path.getsize(store.path + "-wal") // 4096


def settle(store: Store) -> None:
    """Wait for the checkpoint the thread is running, if any."""
    store.checkpoints._thread.submit(lambda: None).result(timeout=30)


def test_commits_ask_the_thread_and_the_log_starts_again(store):
    for n in range(24):
        store.writes.files.index("p", [big_file(n)])
        settle(store)
    assert store.checkpoints.most_pages >= checkpoints.SOFT_PAGES
    assert store.checkpoints.background >= 2   # the log passed SOFT_PAGES again after starting again
    # The thread copied the whole log each time, so no commit copied any of it: not even the
    # one that took the log past SOFT_PAGES again, a little beyond where the thread's last
    # copy had ended in the log before.
    assert store.checkpoints.in_commit == 0
    assert store.checkpoints.most_pages < checkpoints.HARD_PAGES
    # A commit after the thread's last copy starts the log again, whatever the commits before
    # left in it; the file is cut back then (journal_size_limit).
    store.writes.files.index("p", [big_file(99, lines=10)])
    assert log_pages(store) <= checkpoints.SOFT_PAGES + 1
    assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_writer_copies_the_short_tail_a_reader_kept_from_starting_again(store):
    # The thread held until a commit has asked it for a checkpoint, and a reader then reading
    # the whole log: the thread copies all of it, and the reader keeps the next commit from
    # starting the log again, so that commit lands after what was copied: a short tail, which
    # that commit checkpoints itself (as far as the reader lets it) rather than ask the thread.
    release = threading.Event()
    store.checkpoints._thread.submit(release.wait, 60)
    reader = apsw.Connection(store.path)
    try:
        n = 0
        while "main" not in store.checkpoints._running:
            store.writes.files.index("p", [big_file(n)])
            n += 1
            assert n < 50
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM files").fetchall()
        release.set()
        settle(store)
        assert store.checkpoints.background == 1
        store.writes.files.index("p", [big_file(n, lines=400)])
        assert store.checkpoints.in_commit == 1
        assert store.checkpoints.background == 1
    finally:
        release.set()
        if reader.in_transaction:
            reader.execute("COMMIT")
        reader.close()
    # The reader kept the writer from copying the tail; once it is gone the thread copies
    # the log, and the commit after that starts it again.
    store.writes.files.index("p", [big_file(n + 1, lines=400)])
    settle(store)
    store.writes.files.index("p", [big_file(n + 2, lines=400)])
    # It holds this commit's frames alone.
    assert store.db.execute("PRAGMA main.wal_checkpoint(PASSIVE)").fetchone()[1] < checkpoints.TAIL_PAGES


def test_the_writer_checkpoints_past_the_hard_bound_when_the_thread_cannot(store):
    # The thread held busy: no checkpoint of its own can run, as in a first index where
    # commits land faster than one copies.
    release = threading.Event()
    store.checkpoints._thread.submit(release.wait, 60)
    try:
        n = 0
        while store.checkpoints.in_commit == 0:
            store.writes.files.index("p", [big_file(n)])
            n += 1
            assert n < 200, "the log grew past the hard bound without a checkpoint"
        assert store.checkpoints.most_pages >= checkpoints.HARD_PAGES
        assert store.checkpoints.background == 0
        # The log started again from its beginning: the next commits are at its start.
        store.writes.files.index("p", [big_file(n + 1)])
        assert store.db.execute("PRAGMA main.wal_checkpoint(PASSIVE)").fetchone()[1] < checkpoints.SOFT_PAGES
    finally:
        release.set()


def test_a_failed_checkpoint_is_logged_and_the_next_commit_asks_again(tmp_path, caplog):
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    s.writes.projects.add("/srv/p", roots_overlap)
    opened = s.checkpoints._connect

    def unopenable() -> apsw.Connection:
        raise apsw.CantOpenError("unable to open database file")

    s.checkpoints._connect = unopenable
    try:
        n = 0
        while not any("checkpoint of" in r.message for r in caplog.records):
            s.writes.files.index("p", [big_file(n)])
            settle(s)
            n += 1
            assert n < 50
        s.checkpoints._connect = opened
        before = s.checkpoints.background
        s.writes.files.index("p", [big_file(n)])
        settle(s)
        assert s.checkpoints.background == before + 1
    finally:
        s.close()
    db = apsw.Connection(str(tmp_path / "i.db"))
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert os.path.getsize(str(tmp_path / "i.db") + "-wal") == 0   # close() truncates the log
