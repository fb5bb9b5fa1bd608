"""The index's copy of every content (``blobs``): packed once with the version store's, read
back byte for byte, and packed in place when an older database is upgraded."""

import hashlib

import apsw
import pytest
from old_schema import back_to

from codeanalysisd.db import indexing, migrations, packing
from codeanalysisd.db.store import Store
from codeanalysisd.db.stored_text import stored_lines
from codeanalysisd.index import chunking
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap

FACTS = IndexedFacts("utf-8", parsed=True, problems=(), docstring=None)
SOURCE = b"".join(b"def f_%d(x):\n    return x + %d\n\n" % (i, i) for i in range(200))
# Not text in its encoding, one line, nothing: each kept exactly as it came.
ODD = {"latin.py": b"# caf\xe9\r\nx = 1\r\n", "one.py": b"x = 1", "empty.py": b""}


def update(path: str, source: bytes) -> FileUpdate:
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), FACTS)


def rows(store, table: str) -> dict[bytes, tuple[int, bytes]]:
    return {bytes(sha): (size, bytes(data)) for sha, size, data in store.db.execute(
        f"SELECT sha256, size, data FROM {table}")}


def file_id(store, path: str) -> int:
    return store.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()[0]


def test_a_new_content_is_packed_once_for_the_index_and_the_version_store(store):
    store.writes.files.index("p", [update("m.py", SOURCE)])
    sha = hashlib.sha256(SOURCE).digest()
    (size, data), = rows(store, "blobs").values()
    # the same packed bytes in both databases: packed once, and a fraction of the source
    assert rows(store, "history.contents") == {sha: (size, data)}
    assert size == len(SOURCE) and len(data) < len(SOURCE) / 5
    assert packing.unpack(data) == SOURCE
    assert store.reads.files.source("p", "m.py")[0] == SOURCE
    assert stored_lines(store.db, file_id(store, "m.py")) == chunking.source_lines(SOURCE.decode())
    hit, = store.reads.files.search("f_123", None, 5)
    assert (hit.line, hit.snippet) == (370, "def f_123(x):")


def test_a_content_one_copy_lacks_is_packed_for_that_one_alone(store):
    store.writes.files.index("p", [update("a.py", SOURCE)])
    kept = rows(store, "history.contents")
    with store.db:
        store.db.execute("DELETE FROM blobs")
    store.writes.files.index("p", [update("b.py", SOURCE)])
    assert rows(store, "blobs") == kept == rows(store, "history.contents")
    with store.db:
        store.db.execute("DELETE FROM history.contents")
    store.writes.files.index("p", [update("c.py", SOURCE)])
    assert rows(store, "history.contents") == kept
    for path in ("a.py", "b.py", "c.py"):
        assert store.reads.files.source("p", path)[0] == SOURCE
        assert store.reads.history.version("p", path, "1")[1] == SOURCE


def test_a_deleted_file_reads_back_from_its_packed_copy(store):
    store.writes.files.index("p", [update("m.py", SOURCE)])
    store.writes.files.mark_deleted("p", ["m.py"])
    assert store.reads.files.source("p", "m.py")[:2] == (SOURCE, "deleted")


def plain_schema_13(tmp_path) -> dict[str, bytes]:
    """A database as schema 13 left it, its blobs plain; the files it holds."""
    files = {"m.py": SOURCE, **ODD}
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    store.writes.files.index("p", [update(path, data) for path, data in files.items()])
    back_to(store.db, migrations.PACKED_BLOBS - 1)
    assert sorted(size for size, _ in rows(store, "blobs").values()) == sorted(map(len, files.values()))
    assert {data for _, data in rows(store, "blobs").values()} == set(files.values())
    store.close()
    return files


def test_an_upgrade_packs_every_blob_in_place_and_reads_back_byte_for_byte(tmp_path):
    files = plain_schema_13(tmp_path)
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.PACKED_BLOBS, migrations.LATEST + 1))
        for sha, (size, data) in rows(store, "blobs").items():
            plain = packing.unpack(data)
            assert hashlib.sha256(plain).digest() == sha and size == len(plain)
        for path, data in files.items():
            assert store.reads.files.source("p", path)[0] == data
        assert stored_lines(store.db, file_id(store, "m.py")) == chunking.source_lines(SOURCE.decode())
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        store.close()


def test_an_upgrade_that_fails_leaves_every_blob_as_it_was(tmp_path):
    plain_schema_13(tmp_path)
    db = apsw.Connection(str(tmp_path / "i.db"))
    before = {bytes(sha): bytes(data) for sha, data in db.execute("SELECT sha256, data FROM blobs")}

    def interrupted(db):
        assert indexing.pack_blobs(db) == len(before)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        migrations.migrate(db, steps={migrations.PACKED_BLOBS: interrupted})
    assert migrations.schema_version(db) == migrations.PACKED_BLOBS - 1
    assert {bytes(sha): bytes(data) for sha, data in db.execute("SELECT sha256, data FROM blobs")} == before
    db.close()
