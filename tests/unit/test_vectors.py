"""Chunks, models and vectors in a real database (apsw with sqlite-vec), and the search pieces."""

import hashlib

import apsw
import numpy as np
import pytest
from old_schema import back_to

from codeanalysisd.db import migrations, vectors
from codeanalysisd.db.store import Store
from codeanalysisd.embed.matrix import VectorMatrix
from codeanalysisd.index import ranking
from codeanalysisd.owner.semantic import fuse
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

A = b'"""Module A."""\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n'
B = b"def add(a, b):\n    return a + b\n"  # the same function as in A: one text, one vector


def open_store(tmp_path) -> Store:
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    return store


def index(store: Store, path: str, data: bytes) -> None:
    store.writes.files.index("p", [from_bytes(path, data, len(data), 1, 1 << 20)])


def unit(seed: int, dim: int = 4) -> bytes:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (v / np.linalg.norm(v)).tobytes()


def embed_all(store: Store, model_id: int, dim: int = 4) -> int:
    texts, _ = store.reads.vectors.pending(model_id, 0, 1000)
    return len(store.writes.vectors.store(model_id, [(key, unit(i, dim)) for i, (key, _t) in enumerate(texts)]))


def test_pending_texts_are_distinct_and_cut_from_the_stored_source(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    index(store, "b.py", B)
    model, new = store.writes.vectors.register_model("m", 4)
    assert new and store.reads.vectors.pending_count() == 3
    texts, cursor = store.reads.vectors.pending(model.id, 0, 10)
    assert cursor == 0 and sorted(t for _, t in texts) == [
        '"""Module A."""', "def add(a, b):\n    return a + b", "def sub(a, b):\n    return a - b"]
    assert all(k == hashlib.sha256(t.encode()).digest()[:16] for k, t in texts)
    first, cursor = store.reads.vectors.pending(model.id, 0, 2)
    assert len(first) == 2 and cursor > 0
    rest, cursor = store.reads.vectors.pending(model.id, cursor, 2)
    last, end = store.reads.vectors.pending(model.id, cursor, 2)
    assert last == [] and end == 0  # a page shorter than asked for: the end, start over
    assert {k for k, _ in first + rest} == {k for k, _ in texts}


def test_a_vector_is_stored_once_per_model_and_key(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    model, _ = store.writes.vectors.register_model("m", 4)
    texts, _ = store.reads.vectors.pending(model.id, 0, 10)
    items = [(key, unit(i)) for i, (key, _) in enumerate(texts)]
    assert len(store.writes.vectors.store(model.id, items[:2])) == 2
    # a batch sent again (a restart between storing and hearing the reply) stores only what is new
    assert len(store.writes.vectors.store(model.id, items)) == 1
    assert store.reads.vectors.count(model.id) == 3 and store.reads.vectors.pending_count() == 0
    stored = store.reads.vectors.page(model.id, 0, 10)
    assert [k for _, k, _ in stored] == [k for k, _ in items] and [v for *_, v in stored] == [v for _, v in items]


@pytest.mark.parametrize("bad, why", [((b"k" * 32, unit(1)), "16 bytes of a sha256"),
                                      ((b"k" * 16, unit(1, 5)), "4 dimensions"),
                                      ((b"k" * 16, np.array([np.nan] * 4, np.float32).tobytes()), "NaN")])
def test_bad_vectors_are_refused_and_nothing_is_written(tmp_path, bad, why):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    model, _ = store.writes.vectors.register_model("m", 4)
    good = (store.reads.vectors.pending(model.id, 0, 1)[0][0][0], unit(2))
    with pytest.raises(vectors.BadVector, match=why):
        store.writes.vectors.store(model.id, [good, bad])
    assert store.reads.vectors.count(model.id) == 0


def test_rename_and_reindex_keep_every_vector_and_deletion_hides_it(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    model, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, model.id)
    store.writes.files.move("p", "a.py", "moved.py", len(A), 2)
    index(store, "moved.py", A)  # re-indexed, unchanged
    index(store, "copy.py", B)
    assert store.reads.vectors.pending_count() == 0
    keys = [(k, 1.0) for _, k, _ in store.reads.vectors.page(model.id, 0, 10)]
    assert {m.path for m in store.reads.vectors.matches(keys, "p", 10)} == {"moved.py", "copy.py"}
    store.writes.files.mark_deleted("p", ["moved.py"])
    assert {m.path for m in store.reads.vectors.matches(keys, "p", 10)} == {"copy.py"}
    assert store.reads.vectors.matches(keys, "other", 10) == []
    # the vectors of code no file holds any more go at the next prune, and only those
    assert store.writes.vectors.prune_orphans() == 2 and store.reads.vectors.count(model.id) == 1


def test_a_new_model_keeps_the_old_vectors_until_it_is_complete(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    old, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, old.id)
    assert store.writes.vectors.finish(old.id) == []
    new, created = store.writes.vectors.register_model("m2", 8)
    assert created and store.reads.vectors.pending_count() == 3
    texts, _ = store.reads.vectors.pending(new.id, 0, 1)
    store.writes.vectors.store(new.id, [(texts[0][0], unit(0, 8))])
    assert store.writes.vectors.finish(new.id) == []  # not complete: the old vectors stay
    assert [(m.name, n) for m, n in store.reads.vectors.models()] == [("m", 3), ("m2", 1)]
    embed_all(store, new.id, 8)
    assert [m.name for m in store.writes.vectors.finish(new.id)] == ["m"]
    assert [(m.name, m.complete is not None, n) for m, n in store.reads.vectors.models()] == [("m2", True, 3)]
    assert store.reader.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'vectors_%'").fetchone()[0] > 0
    assert store.reader.execute("SELECT count(*) FROM sqlite_master WHERE name = 'vectors_1'").fetchone()[0] == 0


DOC = b'def copy(src, dst):\n    """Copy src to dst."""\n    data = src.read()\n    dst.write(data)\n'


def test_an_upgrade_cuts_every_file_again_losing_and_duplicating_nothing(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    index(store, "doc.py", DOC)
    expected = store.reader.execute("SELECT file_id, symbol, start_line, end_line, key FROM chunks ORDER BY id"
                                    ).fetchall()
    assert [(s, a, b) for f, s, a, b, k in expected if s == "copy"] == [("copy", 1, 2), ("copy", 1, 4)]
    model, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, model.id)
    # as the version before header chunks left it
    with store.db:
        store.db.execute("DELETE FROM chunks WHERE symbol = 'copy' AND end_line = 2")
    back_to(store.db, migrations.HEADER_CHUNKS - 1)
    store.close()
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    assert report.applied == list(range(migrations.HEADER_CHUNKS, migrations.LATEST + 1))
    assert report.chunked_files == 2
    assert sorted(store.reader.execute("SELECT file_id, symbol, start_line, end_line, key FROM chunks").fetchall()) \
        == sorted(expected)
    # every vector kept (its text is still cut), none wanting: the header's was kept as unused till now
    assert store.reads.vectors.count(model.id) == len({r[4] for r in expected})
    assert store.reads.vectors.pending_count() == 0
    store.close()


def test_a_migration_whose_step_fails_leaves_the_database_as_it_was(tmp_path):
    store = open_store(tmp_path)
    index(store, "doc.py", DOC)
    before = store.reader.execute("SELECT * FROM chunks ORDER BY id").fetchall()
    store.db.execute(f"PRAGMA user_version = {migrations.HEADER_CHUNKS - 1}")

    def fail(db):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        migrations.migrate(store.db, steps={migrations.HEADER_CHUNKS: fail})
    assert migrations.schema_version(store.db) == migrations.HEADER_CHUNKS - 1
    assert store.reader.execute("SELECT * FROM chunks ORDER BY id").fetchall() == before
    store.close()


def test_the_database_passes_integrity_check_without_the_extension(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    model, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, model.id)
    store.close()
    plain = apsw.Connection(str(tmp_path / "i.db"))
    assert plain.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_matrix_ranks_by_cosine_and_skips_rows_it_holds():
    m = VectorMatrix(2, capacity=1)
    rows = np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32)
    assert m.add([1, 2, 3], [b"x", b"y", b"z"], rows) == 3
    assert m.add([3], [b"z"], rows[2:]) == 0 and len(m) == 3
    assert [k for k, _ in m.nearest(np.array([0.0, 1.0]), 2)] == [b"y", b"z"]
    assert [k for k, _ in m.nearest(np.array([1.0, 0.0]), 10)] == [b"x", b"z", b"y"]
    # among some keys only (a small project's); keys without a vector are passed over
    assert [k for k, _ in m.nearest(np.array([1.0, 0.0]), 10, among=[b"y", b"z", b"nope"])] == [b"z", b"y"]
    assert m.nearest(np.array([1.0, 0.0]), 10, among=[b"nope"]) == []


def test_rank_fusion_rewards_agreement():
    from codeanalysisd.db.vectors import Match

    semantic = [Match("p", "a.py", "f", 1, 3, 0.9, "def f"), Match("p", "b.py", "g", 1, 2, 0.8, "def g")]
    # two text hits in g, the second in a later window of it: one definition, counted once
    text = [Match("p", "b.py", "g", 1, 2, -3.0, "g()"), Match("p", "b.py", "g", 26, 50, -2.5, "g()"),
            Match("p", "c.py", "", 9, 9, -2.0, "x")]
    fused = fuse(semantic, text, limit=10)
    assert [(m.path, m.symbol) for m in fused] == [("b.py", "g"), ("a.py", "f"), ("c.py", "")]
    assert fused[0].snippet == "def g" and fused[0].end_line == 2  # the first ranking's row
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)  # the second hit of b.py counts once
    assert fused[2].score == pytest.approx(1 / 63)
    # a ranking that counts for less moves less
    weighted = fuse(semantic, text, limit=10, weights=(1.0, 0.01))
    assert [(m.path, m.symbol) for m in weighted] == [("a.py", "f"), ("b.py", "g"), ("c.py", "")]
    assert weighted[1].score == pytest.approx(1 / 62 + 0.01 / 61)


def test_semantic_matches_are_one_row_per_definition_placed_by_its_best_chunk(tmp_path):
    store = open_store(tmp_path)
    body = "".join(f"    x{i} = {i}\n" for i in range(40))
    index(store, "long.py", f'def long(a):\n    """Add things."""\n{body}    return a\n'.encode())
    index(store, "a.py", A)
    model, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, model.id)
    chunks = {(s, a, b): bytes(k) for s, a, b, k in store.reader.execute(
        "SELECT symbol, start_line, end_line, key FROM chunks")}
    assert sorted(c for c in chunks if c[0] == "long") == [("long", 1, 2), ("long", 1, 25), ("long", 26, 43)]
    # the later window of long is the nearest chunk, then add, then long's header
    ranked = [(chunks[("long", 26, 43)], 0.9), (chunks[("add", 3, 4)], 0.88), (chunks[("long", 1, 2)], 0.7),
              (chunks[("long", 1, 25)], 0.6)]
    found = store.reads.vectors.matches(ranked, "p", 10)
    assert [(m.symbol, m.line) for m in found] == [("add", 3), ("long", 26)]
    assert found[1].score == pytest.approx(0.9 - ranking.WEIGHTS.window)
    assert found[1].snippet == "x23 = 23"


def test_an_upgrade_cuts_every_key_and_keeps_every_vector_with_its_chunk(tmp_path):
    store = open_store(tmp_path)
    index(store, "a.py", A)
    index(store, "doc.py", DOC)
    model, _ = store.writes.vectors.register_model("m", 4)
    embed_all(store, model.id)
    vectors_before = {k: v for _, k, v in store.reads.vectors.page(model.id, 0, 100)}
    back_to(store.db, migrations.CHUNK_KEYS - 1)
    # the keys as schema 20 held them: whole sha256s of the chunks' text, for chunk and vector alike
    whole = {k for (k,) in store.reader.execute("SELECT key FROM chunks")}
    assert {len(k) for k in whole} == {32} and {k for _, k, _ in store.reads.vectors.page(model.id, 0, 100)} == whole
    store.close()

    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.CHUNK_KEYS, migrations.LATEST + 1))
        assert {k for (k,) in store.reader.execute("SELECT key FROM chunks")} == {k[:16] for k in whole}
        assert {k: v for _, k, v in store.reads.vectors.page(model.id, 0, 100)} == vectors_before
        assert store.reads.vectors.pending_count() == 0
        index(store, "b.py", B)  # the same function as in a.py: its key, and its vector, found again
        assert store.reads.vectors.pending_count() == 0
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        store.close()
