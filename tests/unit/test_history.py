"""The version store (history.sqlite3) through the Store, on real SQLite files."""

import dataclasses
import hashlib
import time

import apsw
import pytest

from codeanalysisd.db import history, migrations
from codeanalysisd.db.store import Store
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap

FACTS = IndexedFacts("utf-8", parsed=True, problems=(), docstring=None)
DAY = 86400.0


def update(path: str, source: bytes) -> FileUpdate:
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), FACTS)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def open_store(tmp_path, retention=None):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"), retention)
    store.writes.projects.add("/srv/p", roots_overlap)
    return store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path)
    yield s
    s.close()


def summary(store, path="m.py"):
    return [(v.n, v.reason, v.present, v.sha256, v.other_path) for v in store.reads.history.versions("p", path)]


def contents(store) -> set[bytes]:
    return {bytes(r[0]) for r in store.db.execute("SELECT sha256 FROM history.contents")}


def test_edits_become_versions_once(store):
    store.writes.files.index("p", [update("m.py", b"one\n")])
    store.writes.files.index("p", [update("m.py", b"one\n")])  # same content: no new version
    store.writes.files.index("p", [update("m.py", b"two\n")])
    assert summary(store) == [(1, "added", True, sha(b"one\n"), ""), (2, "modified", True, sha(b"two\n"), "")]
    assert store.reads.history.versions("p", "m.py")[1].size == 4


def test_delete_points_at_last_content(store):
    store.writes.files.index("p", [update("m.py", b"one\n")])
    assert store.writes.files.mark_deleted("p", ["m.py"]) == 1
    assert store.writes.files.mark_deleted("p", ["m.py"]) == 0
    assert summary(store)[1:] == [(2, "deleted", False, sha(b"one\n"), "")]
    # coming back after a deletion is an addition again
    store.writes.files.index("p", [update("m.py", b"one\n")])
    assert summary(store)[2][:3] == (3, "added", True)


def test_move_recorded_at_both_paths(store):
    store.writes.files.index("p", [update("old.py", b"x = 1\n")])
    assert store.writes.files.move("p", "old.py", "new.py", 6, 2)
    assert summary(store, "old.py")[1:] == [(2, "moved", False, sha(b"x = 1\n"), "new.py")]
    assert summary(store, "new.py") == [(1, "moved", True, sha(b"x = 1\n"), "old.py")]
    assert store.reads.files.source("p", "new.py")[:2] == (b"x = 1\n", "live")


def test_find_by_number_and_sha_prefix(store):
    for data in (b"a\n", b"b\n", b"a\n"):
        store.writes.files.index("p", [update("m.py", data)])
    prefix = sha(b"a\n").hex()[:6]
    assert history.find(store.db, "p", "m.py", " 2 ").n == 2
    assert history.find(store.db, "p", "m.py", prefix.upper()).n == 3  # the newest match
    found, data = store.reads.history.version("p", "m.py", sha(b"b\n").hex())
    assert (found.n, data) == (2, b"b\n")
    assert store.reads.history.version("p", "m.py", "1") == (store.reads.history.versions("p", "m.py")[0], b"a\n")


@pytest.mark.parametrize("spec, message", [
    ("9", r"m.py has no version 9 \(versions 1..1\)"),
    ("0", "has no version 0"),
    ("abcdef0", "has no version with content abcdef0"),
    ("abcde", "bad version 'abcde'"),  # too short a prefix
    ("v1", "bad version"),
    ("-1", "bad version"),
    ("", "bad version"),
])
def test_find_bad_specs(store, spec, message):
    store.writes.files.index("p", [update("m.py", b"only\n")])
    with pytest.raises(LookupError, match=message):
        history.find(store.db, "p", "m.py", spec)


def test_find_superscript_digit_is_a_lookup_error(store):
    store.writes.files.index("p", [update("m.py", b"only\n")])
    with pytest.raises(LookupError):
        history.find(store.db, "p", "m.py", "²")


def test_find_without_history(store):
    with pytest.raises(LookupError, match=r"no history for x\.py"):
        store.reads.history.version("p", "x.py", "1")


def test_max_versions_keeps_newest_and_drops_orphans(tmp_path):
    store = open_store(tmp_path, history.Retention(max_versions=2, max_age=0))
    datas = [f"v{i}\n".encode() for i in range(5)]
    for data in datas:
        store.writes.files.index("p", [update("m.py", data)])
    assert [(n, s) for n, _, _, s, _ in summary(store)] == [(4, sha(datas[3])), (5, sha(datas[4]))]
    assert contents(store) == {sha(datas[3]), sha(datas[4])}
    store.close()


def test_max_age_never_drops_latest(tmp_path):
    store = open_store(tmp_path, history.Retention(max_versions=100, max_age=30 * DAY))
    store.writes.files.index("p", [update("kept.py", b"k1\n"), update("gone.py", b"g1\n")])
    store.writes.files.index("p", [update("kept.py", b"k2\n"), update("gone.py", b"g2\n")])
    store.writes.files.mark_deleted("p", ["gone.py"])
    assert store.writes.history.prune(now=time.time() + DAY) == 0  # nothing old enough yet
    assert store.writes.history.prune(now=time.time() + 31 * DAY) == 3
    assert summary(store, "kept.py") == [(2, "modified", True, sha(b"k2\n"), "")]
    assert summary(store, "gone.py") == [(3, "deleted", False, sha(b"g2\n"), "")]
    # the deleted file's last content stays retrievable
    assert store.reads.history.version("p", "gone.py", "3")[1] == b"g2\n"
    assert contents(store) == {sha(b"k2\n"), sha(b"g2\n")}
    store.close()


def test_removed_project_history_goes_after_max_age(tmp_path):
    store = open_store(tmp_path, history.Retention(max_versions=100, max_age=30 * DAY))
    store.writes.files.index("p", [update("m.py", b"x\n")])
    store.writes.projects.remove("p")
    assert store.writes.history.prune(now=time.time() + DAY) == 0
    assert store.reads.history.versions("p", "m.py") != []
    assert store.writes.history.prune(now=time.time() + 31 * DAY) == 1
    assert store.reads.history.versions("p", "m.py") == [] and contents(store) == set()
    store.close()


def test_record_overwritten(store):
    store.writes.files.index("p", [update("m.py", b"one\n")])
    assert store.writes.history.record_overwritten("p", "m.py", b"one\n") == 1
    assert store.writes.history.record_overwritten("p", "m.py", b"local edit\n") == 2
    assert summary(store)[1] == (2, "overwritten", True, sha(b"local edit\n"), "")
    assert store.reads.history.version("p", "m.py", "2")[1] == b"local edit\n"


def test_restoring_back_and_forth_never_pushes_edits_out(tmp_path):
    # Restores (and what they replace) are not edits: a loop of them cannot empty a file's history.
    store = open_store(tmp_path, history.Retention(max_versions=3, max_age=0))
    edits = [f"edit {i}\n".encode() for i in range(3)]
    for data in edits:
        store.writes.files.index("p", [update("m.py", data)])
    for _ in range(10):
        for data in (edits[0], edits[2]):
            store.writes.history.record_overwritten("p", "m.py", b"local\n")
            store.writes.files.index("p", [update("m.py", data)], "restored")
    assert [s for _n, reason, _p, s, _o in summary(store) if reason not in history.NOT_EDITS] == [
        sha(data) for data in edits]
    assert contents(store) >= {sha(data) for data in edits}
    # a fourth edit pushes out the oldest edit, and only that
    store.writes.files.index("p", [update("m.py", b"edit 3\n")])
    assert [s for _n, reason, _p, s, _o in summary(store) if reason not in history.NOT_EDITS] == [
        sha(edits[1]), sha(edits[2]), sha(b"edit 3\n")]


def test_a_root_gets_its_history_back_only_from_its_own_owner(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    mine = store.writes.projects.add("/srv/app", roots_overlap, 1001)
    store.writes.files.index(mine.id, [update("secret.py", b"token = 1\n")])
    store.writes.projects.remove(mine.id)
    theirs = store.writes.projects.add("/srv/app", roots_overlap, 1002)
    assert theirs.id != mine.id and theirs.owner_uid == 1002
    assert store.reads.history.versions(theirs.id, "secret.py") == []
    store.writes.projects.remove(theirs.id)
    again = store.writes.projects.add("/srv/app", roots_overlap, 1001)
    assert again.id == mine.id and store.reads.history.versions(again.id, "secret.py") != []
    assert history.registered_projects(store.db)[0][4] == 1001
    store.close()


def moded(path: str, source: bytes, mode: int) -> FileUpdate:
    return dataclasses.replace(update(path, source), mode=mode)


def test_a_version_keeps_the_mode_the_file_had(store):
    store.writes.files.index("p", [moded("s.py", b"secret = 1\n", 0o100600 & 0o7777)])
    store.writes.files.index("p", [moded("s.py", b"secret = 2\n", 0o755)])
    store.writes.files.index("p", [update("u.py", b"unknown\n")])  # a worker that did not say
    assert [v.mode for v in store.reads.history.versions("p", "s.py")] == [0o600, 0o755]
    assert store.reads.history.version("p", "s.py", "1")[0].mode == 0o600
    assert store.reads.history.versions("p", "u.py")[0].mode == 0
    # the same content seen with another mode (a chmod): noted on that version, no new one
    store.writes.files.index("p", [moded("s.py", b"secret = 2\n", 0o700)])
    assert [v.mode for v in store.reads.history.versions("p", "s.py")] == [0o600, 0o700]
    # a deletion and a move carry the last mode along
    store.writes.files.mark_deleted("p", ["s.py"])
    assert history.latest(store.db, "p", "s.py").mode == 0o700
    store.writes.files.index("p", [moded("m.py", b"moved\n", 0o640)])
    store.writes.files.move("p", "m.py", "n.py", 6, 2)
    assert [(v.reason, v.mode) for v in store.reads.history.versions("p", "n.py")] == [("moved", 0o640)]
    assert store.writes.history.record_overwritten("p", "n.py", b"local\n", 0o600) == 2
    assert store.reads.history.versions("p", "n.py")[-1].mode == 0o600


def test_history_migration_adds_modes_to_an_existing_history(tmp_path):
    """A history made before modes were recorded: migrated at open, its versions keep their
    content and say mode 0 (not known)."""
    index, hist = str(tmp_path / "i.db"), str(tmp_path / "h.db")
    db = apsw.Connection(index)
    db.execute(f"ATTACH DATABASE ? AS {history.SCHEMA}", (hist,))
    migrations.migrate(db, history.MIGRATIONS[:2], history.SCHEMA)
    db.execute("INSERT INTO history.contents (sha256, size, data) VALUES (?, 3, ?)", (sha(b"v1\n"), b"v1\n"))
    db.execute("INSERT INTO history.versions (project_id, path, n, sha256, at, reason, present) "
               "VALUES ('p', 'm.py', 1, ?, 1.0, 'added', 1)", (sha(b"v1\n"),))
    db.close()
    store, report = Store.open(index, hist)
    try:
        assert report.history_applied == [3, history.PACKED_CONTENTS]
        assert [(v.n, v.mode, v.reason) for v in store.reads.history.versions("p", "m.py")] == [(1, 0, "added")]
        assert store.reads.history.version("p", "m.py", "1")[1] == b"v1\n"
        # the content was packed by the next migration, and reads back as it was
        (stored, size), = store.db.execute("SELECT data, size FROM history.contents").fetchall()
        assert stored != b"v1\n" and size == 3
    finally:
        store.close()
    assert [m.version for m in history.MIGRATIONS] == list(range(1, len(history.MIGRATIONS) + 1))
