"""Opening the two databases when one of them is not sound: moved aside, rebuilt from the other."""

import glob
import hashlib
import os

import apsw

from codeanalysisd.db import history, integrity, migrations
from codeanalysisd.db.store import Store
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap

FACTS = IndexedFacts("utf-8", parsed=True, problems=(), docstring=None)
GARBAGE = b"this is not an SQLite database\n" * 200


def update(path: str, source: bytes) -> FileUpdate:
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), FACTS)


def populated(tmp_path) -> tuple[str, str]:
    """Both files: a live file, a deleted one, a moved one, and a removed project."""
    index, hist = str(tmp_path / "i.db"), str(tmp_path / "h.db")
    store, _ = Store.open(index, hist)
    store.writes.projects.add("/srv/p", roots_overlap)
    store.writes.projects.add("/srv/gone", roots_overlap)
    store.writes.files.index("p", [update("live.py", b"live\n"), update("dead.py", b"dead\n"),
                                   update("old.py", b"mv\n")])
    store.writes.files.index("gone", [update("g.py", b"g\n")])
    store.writes.files.mark_deleted("p", ["dead.py"])
    store.writes.files.move("p", "old.py", "new.py", 3, 2)
    store.writes.projects.remove("gone")
    store.close()
    return index, hist


def clobber(path: str) -> None:
    with open(path, "wb") as f:
        f.write(GARBAGE)


def test_garbage_index_is_rebuilt_from_history(tmp_path):
    index, hist = populated(tmp_path)
    clobber(index)
    store, report = Store.open(index, hist)
    (moved,) = report.moved_aside
    assert moved[0] == index and moved[1].startswith(index + ".corrupt-") and "NotADBError" in moved[2]
    with open(moved[1], "rb") as f:
        assert f.read() == GARBAGE
    assert report.applied == [m.version for m in migrations.MIGRATIONS] and report.history_applied == []
    assert report.rebuilt_projects == 1 and [p.id for p in store.reads.projects.list()] == ["p"]
    # everything comes back deleted (the watcher revives what is on disk); old.py moved away
    states = {s.path: s.state for s in store.reads.files.states("p")}
    assert states == {"dead.py": "deleted", "live.py": "deleted", "new.py": "deleted"}
    assert store.reads.files.source("p", "live.py")[:2] == (b"live\n", "deleted")
    assert store.reads.files.source("p", "dead.py")[0] == b"dead\n"
    assert store.reads.files.source("p", "new.py")[0] == b"mv\n"
    assert [v.reason for v in store.reads.history.versions("p", "dead.py")] == ["added", "deleted"]
    store.close()


def test_garbage_history_is_refilled_from_index(tmp_path):
    index, hist = populated(tmp_path)
    clobber(hist)
    store, report = Store.open(index, hist)
    (moved,) = report.moved_aside
    assert moved[0] == hist and os.path.exists(moved[1])
    assert report.applied == [] and report.history_applied == [m.version for m in history.MIGRATIONS]
    assert report.adopted_files == 3  # live.py, dead.py, new.py
    assert [(v.n, v.reason, v.size) for v in store.reads.history.versions("p", "live.py")] == [(1, "repaired", 5)]
    assert store.reads.history.version("p", "new.py", "1")[1] == b"mv\n"
    # a file the index holds as deleted is deleted in the refilled history too
    dead = store.reads.history.versions("p", "dead.py")
    assert [(v.reason, v.present) for v in dead] == [("repaired", True), ("deleted", False)]
    assert history.registered_projects(store.db)[0][:3] == ("p", "p", "/srv/p")
    store.close()


def test_suspect_mark_runs_full_check_and_keeps_a_sound_database(tmp_path):
    index, hist = populated(tmp_path)
    integrity.mark_suspect(index, "corruption while serving")
    integrity.mark_suspect(hist, "")
    assert len(glob.glob(str(tmp_path / ("*" + integrity.SUSPECT_SUFFIX)))) == 2
    store, report = Store.open(index, hist)
    assert report.moved_aside == [] and report.rebuilt_projects == 0 and report.adopted_files == 0
    assert not glob.glob(str(tmp_path / ("*" + integrity.SUSPECT_SUFFIX)))  # taken: checked once
    assert store.reads.files.source("p", "live.py")[:2] == (b"live\n", "live")
    assert store.integrity_problems() == {"index": [], "history": []}
    store.close()


def test_suspect_mark_catches_what_the_probe_misses(tmp_path):
    index, hist = populated(tmp_path)
    # Damage a page past the schema: the cheap probe still reads the file, the full check does not.
    db = apsw.Connection(index)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()[0]
    db.close()
    with open(index, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 64)
    store, report = Store.open(index, hist)
    assert report.moved_aside == []  # not suspected: only probed
    store.close()
    integrity.mark_suspect(index, "corruption while serving")
    store, report = Store.open(index, hist)
    assert [m[0] for m in report.moved_aside] == [index] and report.rebuilt_projects == 1
    assert store.reads.files.source("p", "live.py")[0] == b"live\n"
    store.close()


def test_fresh_open_creates_both_and_reopen_applies_nothing(tmp_path):
    index, hist = str(tmp_path / "i.db"), str(tmp_path / "h.db")
    store, report = Store.open(index, hist)
    assert report.applied == [m.version for m in migrations.MIGRATIONS]
    assert report.history_applied == [m.version for m in history.MIGRATIONS]
    assert (report.moved_aside, report.rebuilt_projects, report.adopted_files) == ([], 0, 0)
    store.close()
    assert os.path.getsize(index) > 0 and os.path.getsize(hist) > 0
    store, report = Store.open(index, hist)
    assert (report.applied, report.history_applied, report.moved_aside) == ([], [], [])
    assert migrations.schema_version(store.db, history.SCHEMA) == history.MIGRATIONS[-1].version
    store.close()
