"""A history that fails its full check: REINDEX when only an index is hurt, else salvage into a fresh file."""

import hashlib
import os
import struct

import apsw
import pytest

from codeanalysisd.db import history, integrity
from codeanalysisd.db.store import Store
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate

FACTS = IndexedFacts("utf-8", parsed=True, problems=(), docstring=None)
FILES = 20
ROUNDS = 10  # versions per file: 200 in all
DELETED = ("f03.py", "f11.py", "f17.py")


def update(path: str, source: bytes) -> FileUpdate:
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), FACTS)


def source(i: int, r: int) -> bytes:
    return f"# file {i} round {r}\n".encode() + b"x = %d\n" % (i * 1000 + r)


def build(tmp_path) -> tuple[str, str]:
    index, hist = str(tmp_path / "i.db"), str(tmp_path / "h.db")
    store, _ = Store.open(index, hist)
    store.writes.projects.add("/srv/p", lambda a, b: False)
    for r in range(ROUNDS):
        # Long paths spread the versions table over several pages.
        store.writes.files.index("p", [update(f"deep/{'sub/' * 20}f{i:02}.py", source(i, r)) for i in range(FILES)])
    store.writes.files.mark_deleted("p", [f"deep/{'sub/' * 20}{name}" for name in DELETED])
    store.close()
    return index, hist


def snapshot(hist: str) -> dict[int, tuple[str, int, str, bool, bytes]]:
    """Every version of the history file, by id, with its content's bytes."""
    db = apsw.Connection(hist, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {vid: (path, n, reason, bool(present), bytes(data)) for vid, path, n, reason, present, data in
                db.execute("SELECT v.id, v.path, v.n, v.reason, v.present, c.data FROM versions v "
                           "JOIN contents c ON c.sha256 = v.sha256")}
    finally:
        db.close()


def pages_of(hist: str, name: str) -> list[tuple[int, int]]:
    """(page number, cells) of the leaf pages of table or index ``name``."""
    db = apsw.Connection(hist)
    try:
        return [(p, n) for p, n in db.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (name,))]
    finally:
        db.close()


def leaf_rowids(hist: str, pageno: int) -> list[int]:
    """The rowids in a table b-tree leaf page, read from the page itself."""
    with open(hist, "rb") as f:
        f.seek((pageno - 1) * 4096)
        page = f.read(4096)
    assert page[0] == 0x0D
    (cells,) = struct.unpack(">H", page[3:5])
    rowids = []
    for k in range(cells):
        (at,) = struct.unpack(">H", page[8 + 2 * k:10 + 2 * k])
        _, at = varint(page, at)  # payload size
        rowid, _ = varint(page, at)
        rowids.append(rowid)
    return rowids


def varint(buf: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = buf[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError  # pragma: no cover


def clobber_page(hist: str, pageno: int) -> None:
    with open(hist, "r+b") as f:
        f.seek((pageno - 1) * 4096)
        f.write(b"\xa5" * 4096)


def problems(hist: str) -> list[str]:
    db = apsw.Connection(hist, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return integrity.full_check(db)
    finally:
        db.close()


def test_damaged_versions_page_is_salvaged_into_a_fresh_history(tmp_path):
    index, hist = build(tmp_path)
    before = snapshot(hist)
    assert len(before) == FILES * ROUNDS + len(DELETED)  # 203: 200 edits, 3 deletions
    leaves = pages_of(hist, "versions")
    assert len(leaves) >= 5
    # A page in the middle, and the last ones, as many as hold the 23 newest versions (each
    # file's last round and the 3 deletions; the table's rightmost path).
    tail: list[tuple[int, int]] = []
    for leaf in reversed(leaves):
        tail.insert(0, leaf)
        if sum(cells for _, cells in tail) >= FILES + len(DELETED):
            break
    damaged = [leaves[len(leaves) // 2], *tail]
    on_page = {rowid for page, _ in damaged for rowid in leaf_rowids(hist, page)}
    assert len(on_page) == sum(cells for _, cells in damaged) == 52  # 25 + 25 + 2
    for page, _ in damaged:
        clobber_page(hist, page)
    assert problems(hist)  # the full check sees it
    integrity.mark_suspect(hist, "corruption while serving")

    store, report = Store.open(index, hist)
    try:
        (moved,) = report.moved_aside
        assert moved[0] == hist and moved[1].startswith(hist + ".corrupt-") and os.path.exists(moved[1])
        assert report.reindexed == []
        assert not os.path.exists(hist + integrity.SUSPECT_SUFFIX)
        assert store.integrity_problems()["history"] == []
        store.db.execute(f"PRAGMA {history.SCHEMA}.wal_checkpoint(TRUNCATE)")
        after = snapshot(hist)
        kept = set(after.values())  # by what they are: the ids of the lost ones are reused by the refill
        lost = {vid for vid, version in before.items() if version not in kept}
        # Only versions on the damaged pages are gone: 52 were there, 151 of 203 were read back.
        # The index's refill then recorded each file's current content again, which gave back
        # two of the 3 deletions exactly as they were (the third's previous version was on a
        # damaged page too, so it came back under another number): 50 lost in the end.
        assert lost <= on_page and len(lost) == 50 < len(on_page)
        for vid, version in before.items():
            if vid not in on_page:
                assert after[vid] == version  # same id, same row, same bytes
        assert report.history_salvaged_from == moved[1]
        assert report.history_salvaged_versions == len(before) - len(on_page) == 151
        assert report.history_lost_versions == len(on_page) == 52  # the figure before the refill
        assert report.history_salvaged_projects == 1
        # The newest versions were on the last pages: the index's current contents filled them back in.
        assert report.adopted_files == FILES
        # The current content of every file is in the history (what the damage took is refilled
        # from the index as a 'repaired' version).
        for i in range(FILES):
            path = f"deep/{'sub/' * 20}f{i:02}.py"
            last = history.latest(store.db, "p", path)
            assert last is not None and history.content(store.db, last.sha256) == source(i, ROUNDS - 1)
            assert last.present == (f"f{i:02}.py" not in DELETED)
    finally:
        store.close()


def unmaintained_index(hist: str) -> None:
    """Make versions_by_age disagree with its rows, its pages intact: while the schema says
    it indexes another table, some rows' ``at`` change under it."""
    db = apsw.Connection(hist)
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'versions_by_age'").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET tbl_name = 'projects', "
               "sql = 'CREATE INDEX versions_by_age ON projects(created)' WHERE name = 'versions_by_age'")
    db.close()
    db = apsw.Connection(hist)
    db.execute("UPDATE versions SET at = at + 1 WHERE id % 7 = 0")
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET tbl_name = 'versions', sql = ? WHERE name = 'versions_by_age'", (sql,))
    db.close()


def test_inconsistent_index_is_fixed_in_place_by_reindex(tmp_path):
    index, hist = build(tmp_path)
    unmaintained_index(hist)
    before = snapshot(hist)
    found = problems(hist)
    assert found and all("versions_by_age" in line for line in found)
    integrity.mark_suspect(hist, "corruption while serving")

    store, report = Store.open(index, hist)
    try:
        assert report.moved_aside == [] and [file for file, _ in report.reindexed] == [hist]
        assert report.history_salvaged_from == "" and report.adopted_files == 0
        assert not os.path.exists(hist + integrity.SUSPECT_SUFFIX)
        assert store.integrity_problems()["history"] == []
        store.db.execute(f"PRAGMA {history.SCHEMA}.wal_checkpoint(TRUNCATE)")
        assert snapshot(hist) == before
    finally:
        store.close()


def test_the_marker_stays_until_the_check_has_run(tmp_path, monkeypatch):
    index, hist = build(tmp_path)
    integrity.mark_suspect(hist, "corruption while serving")
    real = integrity.full_check

    def killed(db, schema="main"):
        raise KeyboardInterrupt  # stands for the start timeout's SIGKILL cutting the check short

    monkeypatch.setattr(integrity, "full_check", killed)
    with pytest.raises(KeyboardInterrupt):
        Store.open(index, hist)
    assert integrity.peek_suspect(hist) == "corruption while serving"

    checked = []

    def counted(db, schema="main"):
        checked.append(schema)
        return real(db, schema)

    monkeypatch.setattr(integrity, "full_check", counted)
    store, report = Store.open(index, hist)
    store.close()
    assert checked == [history.SCHEMA] and report.moved_aside == []
    assert integrity.peek_suspect(hist) is None


def test_damaged_index_page_loses_nothing(tmp_path):
    """REINDEX cannot free a b-tree it cannot read: the file is moved aside, and every row
    comes back from its intact tables."""
    index, hist = build(tmp_path)
    before = snapshot(hist)
    leaves = pages_of(hist, "sqlite_autoindex_versions_1")  # the index of UNIQUE (project_id, path, n)
    clobber_page(hist, leaves[len(leaves) // 2][0])
    assert "wrong # of entries in index sqlite_autoindex_versions_1" in problems(hist)
    integrity.mark_suspect(hist, "corruption while serving")

    store, report = Store.open(index, hist)
    try:
        assert [file for file, _, _ in report.moved_aside] == [hist] and report.reindexed == []
        assert (report.history_salvaged_versions, report.history_lost_versions, report.adopted_files) == (203, 0, 0)
        assert store.integrity_problems()["history"] == []
        store.db.execute(f"PRAGMA {history.SCHEMA}.wal_checkpoint(TRUNCATE)")
        assert snapshot(hist) == before
    finally:
        store.close()
