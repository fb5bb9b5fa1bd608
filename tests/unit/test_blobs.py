"""The index's copy of every content (``blobs``, ``blob_windows``): kept once, as the bytes of
its windows of lines each packed alone, read back byte for byte whatever its line ends and
encoding, each window's text exactly the one indexed; and older databases upgraded in place."""

import hashlib
import random

import apsw
import pytest
from old_schema import back_to

from codeanalysisd.db import migrations, packing, stored_text
from codeanalysisd.db.store import Store
from codeanalysisd.db.stored_text import WINDOW, byte_windows, stored_lines, stored_windows, window, window_text
from codeanalysisd.index import chunking
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap

FACTS = IndexedFacts("utf-8", parsed=True, problems=(), docstring=None)
SOURCE = b"".join(b"def f_%d(x):\n    return x + %d\n\n" % (i, i) for i in range(200))
# Not text in its encoding, one line, nothing: each kept exactly as it came.
ODD = {"latin.py": b"# caf\xe9\r\nx = 1\r\n", "one.py": b"x = 1", "empty.py": b""}


def update(path: str, source: bytes, facts: IndexedFacts = FACTS) -> FileUpdate:
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), facts)


def kept(store) -> dict[bytes, tuple[int, int, list[bytes]]]:
    """sha256 → (size, alone, its windows packed, in order)."""
    found = {}
    for blob, sha, size, alone in store.db.execute("SELECT id, sha256, size, alone FROM blobs").fetchall():
        windows = [bytes(p) for (p,) in store.db.execute("SELECT packed FROM blob_windows WHERE blob = ? ORDER BY n",
                                                          (blob,))]
        found[bytes(sha)] = (size, alone, windows)
    return found


def file_id(store, path: str) -> int:
    return store.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()[0]


def texts(store, path: str) -> dict[int, str]:
    return {start: text for start, (_, text) in stored_windows(store.db, file_id(store, path)).items()}


def expected_texts(data: bytes, encoding: str = "utf-8") -> dict[int, str]:
    lines = chunking.source_lines(data.decode(encoding))
    return {start: window(lines, start) for start in range(1, len(lines) + 1, WINDOW)}


def test_a_content_is_kept_once_as_its_windows_and_whole_in_the_version_store(store):
    store.writes.files.index("p", [update("m.py", SOURCE)])
    sha = hashlib.sha256(SOURCE).digest()
    ((size, alone, windows),) = kept(store).values()
    # 600 lines: 20 windows, each a part of the file, packed alone; a fraction of the source
    assert (size, alone, len(windows)) == (len(SOURCE), 1, 20)
    assert b"".join(map(stored_text.unpack_window, windows)) == SOURCE
    assert sum(map(len, windows)) < len(SOURCE) / 4
    (history_size, whole), = [(s, bytes(d)) for s, d in store.db.execute("SELECT size, data FROM history.contents")]
    assert history_size == len(SOURCE) and packing.unpack(whole) == SOURCE
    assert store.reads.files.source("p", "m.py")[0] == SOURCE
    assert stored_lines(store.db, file_id(store, "m.py")) == chunking.source_lines(SOURCE.decode())
    assert texts(store, "m.py") == expected_texts(SOURCE)
    hit, = store.reads.files.search("f_123", None, 5)
    assert (hit.line, hit.snippet) == (370, "def f_123(x):")
    assert stored_text.content(store.db, sha) == SOURCE


def test_the_same_content_twice_is_kept_once(store):
    store.writes.files.index("p", [update("a.py", SOURCE), update("b.py", SOURCE)])
    assert len(kept(store)) == 1
    for path in ("a.py", "b.py"):
        assert store.reads.files.source("p", path)[0] == SOURCE
        assert texts(store, path) == expected_texts(SOURCE)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_is_cut_at_the_lines_python_counts_and_kept_byte_for_byte(store, ending):
    source = b"".join(b"name_%d = %d  # caf\xc3\xa9" % (i, i) + ending for i in range(95))
    store.writes.files.index("p", [update("m.py", source)])
    assert store.reads.files.source("p", "m.py")[0] == source
    assert texts(store, "m.py") == expected_texts(source)
    ((_, alone, windows),) = kept(store).values()
    assert alone == 1 and len(windows) == 4
    hit, = store.reads.files.search("name_64", None, 5)
    assert (hit.line, hit.snippet) == (65, "name_64 = 64  # café")


def test_contents_that_are_not_text_or_odd_are_kept_whole_or_empty_and_read_back(store):
    store.writes.files.index("p", [update(path, data) for path, data in ODD.items()])
    for path, data in ODD.items():
        assert store.reads.files.source("p", path)[0] == data
    shapes = {size: (alone, len(windows)) for size, alone, windows in kept(store).values()}
    # latin.py is not UTF-8: no text, so one window, the whole; an empty file has no window
    assert shapes == {len(ODD["latin.py"]): (0, 1), 5: (1, 1), 0: (1, 0)}


def test_a_window_that_does_not_decode_alone_as_in_the_whole_keeps_the_content_whole(store):
    # A byte order mark opens the file (utf-8-sig drops it) and also a later window, where
    # decoding that window alone would drop it too: the content is kept whole, and each
    # window's text is cut from it.
    lines = [f"x_{i} = {i}" for i in range(40)]
    lines[30] = "\ufeff" + lines[30]
    source = b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n"
    store.writes.files.index("p", [update("bom.py", source, IndexedFacts("utf-8-sig", True, (), None))])
    ((_, alone, windows),) = kept(store).values()
    assert (alone, len(windows)) == (0, 1)
    assert store.reads.files.source("p", "bom.py")[0] == source
    assert texts(store, "bom.py") == expected_texts(source, "utf-8-sig")
    hit, = store.reads.files.search("x_35", None, 5)
    assert (hit.line, hit.snippet) == (36, "x_35 = 35")


def test_a_content_kept_whole_before_its_text_was_known_is_kept_as_windows_once_it_is(store):
    store.writes.files.index("p", [update("m.py", SOURCE)])
    store.writes.files.mark_deleted("p", ["m.py"])
    with store.db:  # as a deleted file's content comes back from the version store alone
        store.db.execute("DELETE FROM blobs")
        version = store.reads.history.versions("p", "m.py")[-1]
        from codeanalysisd.db import indexing
        store.db.execute("DELETE FROM files")
        indexing.add_deleted(store.db, "p", "m.py", version)
    ((_, alone, windows),) = kept(store).values()
    assert (alone, len(windows)) == (0, 1)
    assert store.reads.files.source("p", "m.py")[:2] == (SOURCE, "deleted")
    store.writes.files.index("p", [update("m.py", SOURCE)])
    ((_, alone, windows),) = kept(store).values()
    assert (alone, len(windows)) == (1, 20)
    assert store.reads.files.source("p", "m.py")[:2] == (SOURCE, "live")
    assert texts(store, "m.py") == expected_texts(SOURCE)
    assert store.db.execute("SELECT count(*) FROM blob_windows").fetchone() == (20,)


def test_a_content_one_copy_lacks_is_kept_in_that_one_alone(store):
    store.writes.files.index("p", [update("a.py", SOURCE)])
    in_history = bytes(store.db.execute("SELECT data FROM history.contents").fetchone()[0])
    in_index = kept(store)
    with store.db:
        store.db.execute("DELETE FROM blobs")
    assert store.db.execute("SELECT count(*) FROM blob_windows").fetchone() == (0,)  # blobs_delete
    store.writes.files.index("p", [update("b.py", SOURCE)])
    assert kept(store) == in_index
    with store.db:
        store.db.execute("DELETE FROM history.contents")
    store.writes.files.index("p", [update("c.py", SOURCE)])
    assert bytes(store.db.execute("SELECT data FROM history.contents").fetchone()[0]) == in_history
    for path in ("a.py", "b.py", "c.py"):
        assert store.reads.files.source("p", path)[0] == SOURCE
        assert store.reads.history.version("p", path, "1")[1] == SOURCE


def test_a_deleted_file_reads_back_from_its_windows(store):
    store.writes.files.index("p", [update("m.py", SOURCE)])
    store.writes.files.mark_deleted("p", ["m.py"])
    assert store.reads.files.source("p", "m.py")[:2] == (SOURCE, "deleted")


@pytest.mark.parametrize("seed", range(30))
def test_windows_of_any_bytes_join_to_them_and_hold_the_lines_python_counts(seed):
    rnd = random.Random(seed)
    pieces = [b"\n", b"\r\n", b"\r", b"x", b"\xc3\xa9", b" ", b"\x0c", b"\xe2\x80\xa8"]
    data = b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(400)))
    cut = byte_windows(data)
    assert b"".join(cut) == data and all(cut)
    lines = chunking.source_lines(data.decode())
    assert len(cut) == (len(lines) + WINDOW - 1) // WINDOW
    assert [window_text(raw, "utf-8") for raw in cut] == [window(lines, start) for start in range(1, len(lines) + 1,
                                                                                                    WINDOW)]


def schema_13(tmp_path) -> dict[str, bytes]:
    """A database as schema 13 left it, its contents whole and plain; the files it holds."""
    files = {"m.py": SOURCE, **ODD}
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    store.writes.files.index("p", [update(path, data) for path, data in files.items()])
    back_to(store.db, migrations.PACKED_BLOBS - 1)
    assert sorted(store.db.execute("SELECT data FROM blobs")) == sorted((data,) for data in files.values())
    store.close()
    return files


def test_a_database_of_schema_13_upgrades_and_reads_back_byte_for_byte(tmp_path):
    files = schema_13(tmp_path)
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.PACKED_BLOBS, migrations.LATEST + 1))
        for sha, (size, _, windows) in kept(store).items():
            data = b"".join(map(stored_text.unpack_window, windows))
            assert hashlib.sha256(data).digest() == sha and size == len(data)
        for path, data in files.items():
            assert store.reads.files.source("p", path)[0] == data
        assert texts(store, "m.py") == expected_texts(SOURCE)
        assert stored_lines(store.db, file_id(store, "m.py")) == chunking.source_lines(SOURCE.decode())
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        store.close()


def schema_22(tmp_path) -> tuple[dict[str, bytes], list[object], bytes]:
    """A database as schema 22 left it (each content whole in blobs, each window's text again
    in window_texts), with a deleted file and an old version's content no file holds any
    more; the files it holds, what it answers, and that old content."""
    files = {"m.py": SOURCE, **ODD, "crlf.py": SOURCE.replace(b"\n", b"\r\n"), "deleted.py": b"x = 'deleted'\n"}
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    old = b"def gone():\n    pass\n"
    store.writes.files.index("p", [update(path, data) for path, data in files.items()])
    store.writes.files.mark_deleted("p", ["deleted.py"])
    answers = [[(h.path, h.line, h.snippet) for h in store.reads.files.search(q, None, 20)]
               for q in ("f_123", "return x", "f_1 case:yes", "return /x \\+ 19\\d$/")]
    assert all(answers) and len(answers[3]) == 20  # each query finds, the regex in both files
    back_to(store.db, migrations.CONTENT_WINDOWS - 1)
    with store.db:  # as an index of schema 22 kept every content it had seen
        store.db.execute("INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                         (hashlib.sha256(old).digest(), len(old), packing.pack(old)))
    assert store.db.execute("SELECT count(*) FROM blobs").fetchone() == (len(files) + 1,)
    store.close()
    return files, answers, old


def test_a_database_of_schema_22_keeps_each_content_once_and_answers_as_before(tmp_path):
    files, answers, old = schema_22(tmp_path)
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.CONTENT_WINDOWS, migrations.LATEST + 1))
        tables = {name for (name,) in store.db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        assert "window_texts" not in tables and "blobs_windowed" not in tables
        for path, data in files.items():
            assert store.reads.files.source("p", path)[0] == data
        assert texts(store, "m.py") == expected_texts(SOURCE)
        assert texts(store, "crlf.py") == expected_texts(SOURCE.replace(b"\n", b"\r\n"))
        assert [[(h.path, h.line, h.snippet) for h in store.reads.files.search(q, None, 20)]
                for q in ("f_123", "return x", "f_1 case:yes", "return /x \\+ 19\\d$/")] == answers
        # the old content, held by no file, let go (migration 25); the deleted file's kept
        assert stored_text.content(store.db, hashlib.sha256(old).digest()) is None
        assert store.reads.files.source("p", "deleted.py")[:2] == (files["deleted.py"], "deleted")
        assert len(kept(store)) == len(files)
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        store.writes.files.index("p", [update("m.py", SOURCE.replace(b"def f_40(x)", b"def g_40(x)"))])
        assert [h.line for h in store.reads.files.search("g_40", None, 5)] == [121]
    finally:
        store.close()


def test_an_upgrade_that_fails_leaves_every_content_as_it_was(tmp_path):
    schema_22(tmp_path)
    db = apsw.Connection(str(tmp_path / "i.db"))
    schema = db.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall()
    before = sorted(db.execute("SELECT sha256, data FROM blobs"))
    texts_before = sorted(db.execute("SELECT chunk, packed FROM window_texts"))

    def interrupted(db):
        assert stored_text.to_windows(db) == len(before)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        migrations.migrate(db, steps={migrations.CONTENT_WINDOWS: interrupted})
    assert migrations.schema_version(db) == migrations.CONTENT_WINDOWS - 1
    assert db.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall() == schema
    assert sorted(db.execute("SELECT sha256, data FROM blobs")) == before
    assert sorted(db.execute("SELECT chunk, packed FROM window_texts")) == texts_before
    db.close()


def test_the_index_keeps_a_content_while_a_file_holds_it_and_the_history_keeps_every_one(store):
    versions = [SOURCE + b"# edit %d\n" % n for n in range(5)]
    for data in versions:
        store.writes.files.index("p", [update("m.py", data)])
    # one content in the index, the file's; every one in the history
    assert [sha for sha in kept(store)] == [hashlib.sha256(versions[-1]).digest()]
    assert store.db.execute("SELECT count(*) FROM history.contents").fetchone() == (5,)
    assert store.reads.history.version("p", "m.py", "2")[1] == versions[1]
    # an edit back to an earlier content keeps it again, and searches it
    store.writes.files.index("p", [update("m.py", versions[0])])
    assert list(kept(store)) == [hashlib.sha256(versions[0]).digest()]
    assert texts(store, "m.py") == expected_texts(versions[0])
    # a content two files hold stays while either does
    store.writes.files.index("p", [update("copy.py", versions[0])])
    store.writes.files.index("p", [update("m.py", versions[1])])
    assert set(kept(store)) == {hashlib.sha256(versions[0]).digest(), hashlib.sha256(versions[1]).digest()}
    assert store.reads.files.source("p", "copy.py")[0] == versions[0]
    # a deleted file's row holds its content; a file moved onto its path lets it go
    store.writes.files.mark_deleted("p", ["copy.py"])
    assert store.reads.files.source("p", "copy.py")[:2] == (versions[0], "deleted")
    assert store.writes.files.move("p", "m.py", "copy.py", len(versions[1]), 2)
    assert list(kept(store)) == [hashlib.sha256(versions[1]).digest()]
    assert store.db.execute("SELECT count(*) FROM blob_windows").fetchone() == (len(expected_texts(versions[1])),)
    # a removed project's contents leave the index, not the history
    store.writes.projects.remove("p")
    assert kept(store) == {}
    assert store.db.execute("SELECT count(*) FROM blob_windows").fetchone() == (0,)
    assert store.db.execute("SELECT count(*) FROM history.contents").fetchone() == (5,)
    assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
