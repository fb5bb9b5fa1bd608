"""The full-text windows' text, kept as the windows of the file's content beside a contentless
index (``blob_windows``): what a search shows and filters on is each window exactly as it was
indexed, an edited window leaves no old word behind, and an older database is upgraded in place."""

import zlib

import apsw
import pytest
from old_schema import back_to

from codeanalysisd.db import indexing, migrations, stored_text
from codeanalysisd.db.store import Store
from codeanalysisd.db.stored_text import (
    WINDOW,
    WINDOW_JOINS,
    WindowText,
    pack_window,
    stored_window,
    stored_windows,
    unpack_window,
    window,
)
from codeanalysisd.index import chunking
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

# 100 lines: four windows, each with words of its own.
SOURCE = "".join(f"def f_{i}(x):  # window_{i // WINDOW + 1} café\n" for i in range(100)).encode()
ODD = {"latin.py": b"# -*- coding: latin-1 -*-\n# caf\xe9 latin_word\nx = 1\n", "empty.py": b"", "one.py": b"x = 1"}


def index(store: Store, path: str, data: bytes) -> None:
    store.writes.files.index("p", [from_bytes(path, data, len(data), 1, 1 << 20)])


def windows(store: Store, path: str) -> dict[int, tuple[int, bytes]]:
    """start line → (window id, its bytes packed)."""
    return {start: (chunk, bytes(packed)) for chunk, start, packed in store.db.execute(
        f"SELECT c.id, c.start_line, w.packed FROM text_chunks c {WINDOW_JOINS} WHERE f.path = ?", (path,))}


def kept_windows(store: Store) -> int:
    """Windows whose text the index keeps."""
    return store.db.execute(f"SELECT count(*) FROM text_chunks c {WINDOW_JOINS}").fetchone()[0]


def texts(store: Store, path: str) -> dict[int, str]:
    (file_id,) = store.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
    return {start: text for start, (_, text) in stored_windows(store.db, file_id).items()}


def expected(data: bytes) -> dict[int, str]:
    lines = chunking.source_lines(data.decode())
    return {start: window(lines, start) for start in range(1, len(lines) + 1, WINDOW)}


@pytest.fixture
def store(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    yield store
    store.close()


def test_each_window_is_kept_packed_and_the_index_holds_no_text_of_its_own(store):
    index(store, "m.py", SOURCE)
    assert texts(store, "m.py") == expected(SOURCE)
    assert {text for (text,) in store.db.execute("SELECT text FROM fts")} == {None}
    assert store.db.execute("SELECT count(*) FROM fts").fetchone()[0] == 4
    [hit] = store.reads.files.search("window_3 f_70", None, 10)  # at the window's first line with a word
    assert (hit.path, hit.line, hit.snippet) == ("m.py", 61, "def f_60(x):  # window_3 café")
    [hit] = store.reads.files.search("f_70", None, 10)
    assert (hit.path, hit.line, hit.snippet) == ("m.py", 71, "def f_70(x):  # window_3 café")


def test_an_edited_window_leaves_no_old_word_and_the_others_stay_as_they_were(store):
    index(store, "m.py", SOURCE)
    before = windows(store, "m.py")
    edited = SOURCE.replace(b"def f_40(x):", b"def renamed_40(x):")
    index(store, "m.py", edited)
    after = windows(store, "m.py")
    assert texts(store, "m.py") == expected(edited)
    assert {s: after[s] for s in (1, 61, 91)} == {s: before[s] for s in (1, 61, 91)}  # not written again
    assert after[31][0] == before[31][0] and after[31][1] != before[31][1]
    assert store.reads.files.search("f_40", None, 10) == []
    assert [h.line for h in store.reads.files.search("renamed_40", None, 10)] == [41]
    store.db.execute("INSERT INTO fts (fts) VALUES ('integrity-check')")  # raises if the tokens are not the texts'


def test_a_shorter_file_drops_its_last_windows_text_and_tokens(store):
    index(store, "m.py", SOURCE)
    index(store, "m.py", SOURCE[:SOURCE.index(b"def f_35(")])
    assert sorted(texts(store, "m.py")) == [1, 31]
    assert store.reads.files.search("window_4", None, 10) == []
    assert kept_windows(store) == store.db.execute("SELECT count(*) FROM fts").fetchone()[0] == 2


def test_a_filtered_query_past_its_first_batch_filters_each_windows_text_in_sql(store):
    # One window in 40 holds the word as case:yes asks for it: the first batch of ranked
    # windows (FIRST_CANDIDATES_PER_ROW to a row asked for) lacks it, and the rest of the
    # candidates are filtered by SQLite on window_text(...).
    for n in range(40):
        word = "Needle" if n == 27 else "needle"
        index(store, f"m{n:02}.py", f"x = 1  # {word} in file {n}\n".encode())
    [hit] = store.reads.files.search("Needle case:yes", None, 1)
    assert (hit.path, hit.snippet) == ("m27.py", "x = 1  # Needle in file 27")
    assert [h.path for h in store.reads.files.search('"in file 3" needle', None, 5)] == ["m03.py"]


def test_window_text_unpacks_a_row_once_however_often_a_condition_names_it(monkeypatch):
    unpacked: list[bytes] = []

    def counted(packed: bytes) -> bytes:
        unpacked.append(packed)
        return unpack_window(packed)

    monkeypatch.setattr(stored_text, "unpack_window", counted)
    a, b = pack_window(b"first window\r\n"), pack_window("second ü\n".encode())
    text = WindowText()
    first, second = (a, "utf-8", 1, 1), (b, "utf-8", 1, 31)
    assert [text(*first), text(*first), text(*second), text(*second), text(*first)] == \
        ["first window"] * 2 + ["second ü"] * 2 + ["first window"]
    assert unpacked == [a, b, a]
    assert text(None, "utf-8", 1, 1) is None
    # a content kept whole: the window is cut from it at its first line
    whole = pack_window("".join(f"line {n}\n" for n in range(1, 61)).encode())
    assert text(whole, "utf-8", 0, 31) == "\n".join(f"line {n}" for n in range(31, 61))


def schema_15(tmp_path) -> dict[str, object]:
    """A database as schema 15 left it (FTS5 keeping the windows' text), with what it answers."""
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    for path, data in {"m.py": SOURCE, **ODD}.items():
        index(store, path, data)
    answers = answers_of(store)
    back_to(store.db, migrations.WINDOW_TEXTS - 1)
    store.close()
    return answers


def answers_of(store: Store) -> list[object]:
    queries = ("window_3 f_70", "café", "latin_word", "Window case:yes", "window_2 /f_4\\d\\(/", "sym:f_9")
    return [[(h.path, h.line, h.symbol, h.snippet) for h in store.reads.files.search(q, None, 20)] for q in queries]


def test_an_upgrade_packs_every_windows_text_and_answers_as_before(tmp_path):
    answers = schema_15(tmp_path)
    plain = apsw.Connection(str(tmp_path / "i.db"))
    held = dict(plain.execute("SELECT rowid, text FROM fts"))
    plain.close()
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.WINDOW_TEXTS, migrations.LATEST + 1))
        assert {chunk: stored_window(store.db, chunk) for chunk in held} == held
        assert texts(store, "m.py") == expected(SOURCE)
        assert answers_of(store) == answers
        assert {text for (text,) in store.db.execute("SELECT text FROM fts")} == {None}
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        index(store, "m.py", SOURCE.replace(b"def f_40(x):", b"def renamed_40(x):"))
        assert store.reads.files.search("f_40", None, 10) == []
        store.writes.files.mark_deleted("p", list(ODD))
        store.writes.projects.remove("p")
        assert store.db.execute("SELECT (SELECT count(*) FROM text_chunks) + (SELECT count(*) FROM fts)"
                                ).fetchone() == (0,)
    finally:
        store.close()


def test_an_upgrade_that_fails_leaves_the_windows_as_they_were(tmp_path):
    schema_15(tmp_path)
    db = apsw.Connection(str(tmp_path / "i.db"))
    before = db.execute("SELECT rowid, text FROM fts ORDER BY rowid").fetchall()
    schema = db.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall()

    def interrupted(db):
        assert indexing.pack_window_texts(db) == len(before)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        migrations.migrate(db, steps={migrations.WINDOW_TEXTS: interrupted})
    assert migrations.schema_version(db) == migrations.WINDOW_TEXTS - 1
    assert db.execute("SELECT rowid, text FROM fts ORDER BY rowid").fetchall() == before
    assert db.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall() == schema
    db.close()


def test_packing_a_window_keeps_every_character():
    for text in ("", "x = 1", "# café ü 🐍\r\n\tz = '\\x00'", "a\n" * 5000):
        assert unpack_window(pack_window(text.encode())) == text.encode()
    assert len(pack_window(b"def f(self):\n    return self.value\n" * 30)) < 200


def test_an_upgrade_packs_every_window_again_with_the_dictionary_and_answers_as_before(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    for path, data in {"m.py": SOURCE, **ODD}.items():
        index(store, path, data)
    answers = answers_of(store)
    fresh = {chunk: stored_window(store.db, chunk) for (chunk,) in store.db.execute("SELECT id FROM text_chunks")}
    back_to(store.db, migrations.WINDOW_DICTIONARY - 1)
    # as schema 21 held them: each window's text a zlib stream of its own
    alone = dict(store.db.execute("SELECT chunk, packed FROM window_texts"))
    assert {c: zlib.decompress(p).decode() for c, p in alone.items()} == fresh
    # schema 22 alone: each packed with the dictionary, and shorter
    migrations.migrate(store.db, migrations.MIGRATIONS[:migrations.WINDOW_DICTIONARY],
                       steps={migrations.WINDOW_DICTIONARY: stored_text.repack_windows})
    repacked = dict(store.db.execute("SELECT chunk, packed FROM window_texts"))
    assert {c: unpack_window(p).decode() for c, p in repacked.items()} == fresh
    assert sum(map(len, alone.values())) > sum(map(len, repacked.values()))
    store.close()

    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.CONTENT_WINDOWS, migrations.LATEST + 1))
        assert {chunk: stored_window(store.db, chunk) for chunk in fresh} == fresh
        assert answers_of(store) == answers
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        store.close()


@pytest.mark.parametrize("text", ["", "x", "def f(self):\n    return self.x\n", "née ü 日本 \udcff".encode(
    "utf-8", "surrogatepass").decode("utf-8", "replace"), "\n".join(f"line {i}" for i in range(30))])
def test_a_window_comes_back_as_it_was_packed(text):
    assert unpack_window(pack_window(text.encode())) == text.encode()
