"""A common word's best windows kept between queries (common_words): the same rows, in the
same order, with the same scores to the bit, as FTS5 ranking every window, through edits,
new files, deleted files and a log cut back; and FTS5 asked again wherever the memo cannot
be sure.

The memo's sizes are made small here (KEPT, MIN_WINDOWS), so that a corpus of a few dozen
files has windows outside it that an edit can bring to the top."""

from __future__ import annotations

import math
import random

import apsw
import pytest

from codeanalysisd.db import common_words, migrations, queries
from codeanalysisd.db.common_words import CommonWords, Memo
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.paths import roots_overlap
from codeanalysisd.tree import Tree

WORDS = ('"self"', '"value"', '"padding"')
LIMITS = (1, 5, 12, 40)


def source(rng: random.Random, lines: int) -> str:
    """Lines saying 'self' and 'value' a random number of times, with padding of random
    length, so windows differ in both tf and D (and some tie)."""
    out = []
    for k in range(lines):
        said = " + ".join(rng.choice(["self.value", "self", "value"]) for _ in range(rng.randrange(0, 4))) or "0"
        out.append(f"v_{k} = {said}  # padding {'x ' * rng.randrange(0, 6)}\n")
    return "".join(out)


class Corpus:
    def __init__(self, tmp_path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.root = tmp_path / "p"
        self.root.mkdir()
        self.store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
        self.closed = False
        self.project = self.store.writes.projects.add(str(self.root), roots_overlap).id
        self.files = [f"m{n}.py" for n in range(24)]
        for rel in self.files:
            (self.root / rel).write_text(source(self.rng, self.rng.randrange(10, 100)))
        self.index(self.files)
        # Another project, so that one project's best windows are not every project's.
        other = tmp_path / "q"
        other.mkdir()
        for n in range(10):
            (other / f"o{n}.py").write_text(source(self.rng, self.rng.randrange(10, 100)))
        self.other = self.store.writes.projects.add(str(other), roots_overlap).id
        self.store.writes.files.index(self.other, [file_update(read_file(Tree(str(other)), f"o{n}.py"), 1 << 20)[0]  # type: ignore[misc]
                                                   for n in range(10)])

    def index(self, rels: list[str]) -> None:
        updates = [file_update(read_file(Tree(str(self.root)), rel), 1 << 20)[0] for rel in rels]
        self.store.writes.files.index(self.project, updates)  # type: ignore[arg-type]

    def edit(self) -> None:
        """One random change: a file rewritten (longer, shorter, or one line), a new file, or a
        file deleted."""
        db_files = self.files
        action = self.rng.choice(["rewrite", "rewrite", "line", "new", "delete"])
        if action == "new" or not db_files:
            rel = f"n{self.rng.randrange(10**6)}.py"
            (self.root / rel).write_text(source(self.rng, self.rng.randrange(5, 90)))
            db_files.append(rel)
            self.index([rel])
        elif action == "delete":
            rel = db_files.pop(self.rng.randrange(len(db_files)))
            (self.root / rel).unlink()
            self.store.writes.files.mark_deleted(self.project, [rel])
        elif action == "line":
            rel = self.rng.choice(db_files)
            lines = (self.root / rel).read_text().splitlines(keepends=True)
            padding = "y " * self.rng.randrange(9)
            lines[self.rng.randrange(len(lines))] = f"self.value = self.value + self  # {padding}\n"
            (self.root / rel).write_text("".join(lines))
            self.index([rel])
        else:
            rel = self.rng.choice(db_files)
            (self.root / rel).write_text(source(self.rng, self.rng.randrange(5, 120)))
            self.index([rel])


@pytest.fixture()
def corpus_of(tmp_path):
    """corpus_of(seed), its store closed after the test."""
    made: list[Corpus] = []

    def make(seed: int) -> Corpus:
        made.append(Corpus(tmp_path, seed))
        return made[-1]

    yield make
    for corpus in made:
        if not corpus.closed:
            corpus.store.close()


@pytest.fixture()
def small_memos(monkeypatch):
    monkeypatch.setattr(common_words, "KEPT", 16)
    monkeypatch.setattr(common_words, "MIN_WINDOWS", 20)


def fts5(db: apsw.Connection, word: str, limit: int) -> list[tuple[int, float]]:
    return [(w, s) for w, s in db.execute(
        "SELECT rowid, bm25(fts) AS s FROM fts WHERE fts MATCH ? ORDER BY s, rowid LIMIT ?", (word, limit))]


def assert_memo_holds(db: apsw.Connection, word: str, memo: Memo) -> None:
    """What a memo stands on: every window holding the word (in its project) that it does not
    keep, and that has not changed since it, had at most its floor's share at its average
    length; and its count and bitmap are those of the windows holding the word."""
    changed = {w for (w,) in db.execute("SELECT window FROM window_changes WHERE seq > ?", (memo.seq,))}
    kept = {w for w, _, _ in memo.best}
    in_scope = None if memo.project is None else {w for (w,) in db.execute(
        "SELECT c.id FROM text_chunks c JOIN files f ON f.id = c.file_id WHERE f.project_id = ?", (memo.project,))}
    holding = 0
    for window, packed in db.execute(f"SELECT rowid, {common_words.STATS}(fts) FROM fts WHERE fts MATCH ?", (word,)):
        holding += 1
        if window in changed:
            continue
        assert memo.had(window)
        if window in kept or (in_scope is not None and window not in in_scope):
            continue
        share = common_words._share(packed >> 32, packed & 0xFFFFFFFF, memo.avgdl)
        assert share <= memo.floor * (1 + common_words.MARGIN), (window, share, memo.floor)
    if not changed:
        assert holding == memo.windows


def test_the_score_is_fts5s_to_the_bit(corpus_of):
    corpus = corpus_of(1)
    db = corpus.store.db
    db.register_fts5_function("parts", lambda api: f"{api.inst_count} {api.column_size(-1)}")
    for word in WORDS:
        rows = list(db.execute("SELECT bm25(fts), parts(fts) FROM fts WHERE fts MATCH ?", (word,)))
        windows, tokens = common_words.averages(db)
        assert windows == corpus.store.db.execute("SELECT count(*) FROM text_chunks").fetchone()[0]
        idf = common_words.idf_of(windows, len(rows))
        for fts_score, parts in rows:
            tf, size = map(int, parts.split())
            assert common_words.score(tf, size, idf, tokens / windows) == fts_score


def test_a_window_outside_the_memo_never_passes_the_ceiling():
    rng = random.Random(7)
    for _ in range(20_000):
        made_at, avgdl = rng.uniform(5, 400), rng.uniform(5, 400)
        tf, size = rng.randrange(1, 60), rng.randrange(1, 2000)
        floor = common_words._share(tf, size, made_at) * rng.uniform(1.0, 1.5)
        assert common_words._share(tf, size, avgdl) <= common_words._ceiling(min(floor, 0.999), made_at, avgdl)


@pytest.mark.usefixtures("small_memos")
def test_many_rare_words_let_go_of_no_memo(monkeypatch, corpus_of):
    monkeypatch.setattr(common_words, "MAX_MEMOS", 2)
    corpus = corpus_of(15)
    db = corpus.store.reader
    common = CommonWords()
    common.best(db, '"self"', 5)
    assert isinstance(common.memo('"self"'), Memo)
    for n in range(50):
        assert common.best(db, f'"absent{n}"', 5) is None
        assert isinstance(common.memo(f'"absent{n}"'), common_words.Rare)
    assert isinstance(common.memo('"self"'), Memo)
    assert common.best(db, '"self"', 5) == fts5(db, '"self"', 5)


def test_a_word_in_few_windows_is_ranked_by_fts5(corpus_of):
    corpus = corpus_of(2)
    common = CommonWords()
    db = corpus.store.reader
    assert common.best(db, '"value"', 5) is None  # not common under MIN_WINDOWS = 2000: no memo
    assert isinstance(common.memo('"value"'), common_words.Rare)
    assert common.best(db, '"value"', 5) is None


@pytest.mark.usefixtures("small_memos")
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_answers_through_edits_are_fts5s(seed, corpus_of):
    corpus = corpus_of(seed)
    db = corpus.store.reader  # the writer has none of the functions a query calls
    common = CommonWords()
    from_memo = 0
    for step in range(60):
        for word in WORDS:
            for limit in LIMITS:
                expected = fts5(db, word, limit)
                # As a search asks: the memo where it can tell, FTS5 (and a new memo) where not.
                assert list(queries._best_windows(db, word, limit, common)) == list(
                    queries._best_windows(db, word, limit)), (step, word, limit)
                memo = common.memo(word)
                if isinstance(memo, Memo):
                    with db:  # one read transaction, as _best_windows runs it
                        assert_memo_holds(db, word, memo)
                        found = common_words.answer(db, word, memo, limit)
                    if found is not None:
                        from_memo += 1
                        assert found == expected, (step, word, limit)
        corpus.edit()
    assert from_memo > 100  # the memo answered, not only FTS5


@pytest.mark.usefixtures("small_memos")
def test_a_memo_cannot_answer_past_what_it_keeps_or_across_a_cut_log(monkeypatch, corpus_of):
    corpus = corpus_of(6)
    db = corpus.store.reader
    memo = common_words.make(db, '"self"')
    assert isinstance(memo, Memo)
    assert common_words.answer(db, '"self"', memo, 5) == fts5(db, '"self"', 5)
    assert common_words.answer(db, '"self"', memo, 17) is None  # more than it keeps
    # More windows changed than a query looks up: FTS5 ranks.
    monkeypatch.setattr(common_words, "MAX_CHANGED", 2)
    for rel in corpus.files[:3]:
        (corpus.root / rel).write_text(source(corpus.rng, 40))
    corpus.index(corpus.files[:3])
    assert common_words.answer(db, '"self"', memo, 5) is None
    # One window written again and again, then another: the log holds more entries than a
    # query reads, so it cannot tell which windows they were.
    monkeypatch.setattr(common_words, "MAX_CHANGED", 3)
    memo = common_words.make(db, '"self"')
    assert isinstance(memo, Memo)
    rel = corpus.files[5]
    for n in range(14):
        (corpus.root / rel).write_text(source(corpus.rng, 20) + f"# {n}\n")
        corpus.index([rel])
    assert len({w for (w,) in db.execute("SELECT window FROM window_changes WHERE seq > ?", (memo.seq,))}) <= 3
    (corpus.root / corpus.files[6]).write_text("self self self self self self self self self\n" * 30)
    corpus.index([corpus.files[6]])
    assert common_words.answer(db, '"self"', memo, 5) is None
    # The log cut back past the memo: it cannot tell what changed.
    monkeypatch.setattr(common_words, "MAX_CHANGED", 10_000)
    monkeypatch.setattr(common_words, "LOG_KEPT", 1)
    for rel in corpus.files[3:5]:
        (corpus.root / rel).write_text(source(corpus.rng, 40))
        corpus.index([rel])
    assert db.execute("SELECT min(seq) FROM window_changes").fetchone()[0] > memo.seq + 1
    assert common_words.answer(db, '"self"', memo, 5) is None
    # A memo made now answers again.
    memo = common_words.make(db, '"self"')
    assert isinstance(memo, Memo)
    assert common_words.answer(db, '"self"', memo, 5) == fts5(db, '"self"', 5)


@pytest.mark.usefixtures("small_memos")
def test_a_reader_on_an_older_state_than_the_memo_asks_fts5(corpus_of):
    corpus = corpus_of(8)
    reader = corpus.store.reader
    reader.execute("BEGIN")
    try:
        before = fts5(reader, '"self"', 5)
        corpus.edit()
        corpus.edit()
        memo = common_words.make(corpus.store.db, '"self"')
        assert isinstance(memo, Memo)
        assert common_words.answer(reader, '"self"', memo, 5) is None
        assert fts5(reader, '"self"', 5) == before
    finally:
        reader.execute("COMMIT")


def test_every_window_written_or_deleted_is_logged(corpus_of):
    corpus = corpus_of(9)
    db = corpus.store.db
    last = db.execute("SELECT max(seq) FROM window_changes").fetchone()[0]
    rel = corpus.files[0]
    windows = {w for (w,) in db.execute(
        "SELECT c.id FROM text_chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ?", (rel,))}
    corpus.store.writes.files.mark_deleted(corpus.project, [rel])
    logged = {w for (w,) in db.execute("SELECT window FROM window_changes WHERE seq > ?", (last,))}
    assert logged == windows
    last = db.execute("SELECT max(seq) FROM window_changes").fetchone()[0]
    (corpus.root / "new.py").write_text(source(corpus.rng, 70))
    corpus.index(["new.py"])
    logged = {w for (w,) in db.execute("SELECT window FROM window_changes WHERE seq > ?", (last,))}
    assert logged == {w for (w,) in db.execute(
        "SELECT c.id FROM text_chunks c JOIN files f ON f.id = c.file_id WHERE f.path = 'new.py'")}
    assert len(logged) == math.ceil(70 / 30)


def test_an_index_of_schema_25_is_logged_once_upgraded(tmp_path, corpus_of):
    from old_schema import back_to

    corpus = corpus_of(10)
    db = corpus.store.db
    back_to(db, migrations.CONTENTS_HELD)
    corpus.store.close()
    corpus.closed = True
    store, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.WINDOW_CHANGES, migrations.LATEST + 1))
        assert store.db.execute("SELECT count(*) FROM window_changes").fetchone()[0] == 0
        file_id = store.db.execute("SELECT id FROM files LIMIT 1").fetchone()[0]
        windows = store.db.execute("SELECT count(*) FROM text_chunks WHERE file_id = ?", (file_id,)).fetchone()[0]
        with store.db:
            store.db.execute("DELETE FROM text_chunks WHERE file_id = ?", (file_id,))
        assert store.db.execute("SELECT count(*) FROM window_changes").fetchone()[0] == windows
    finally:
        store.close()


def test_search_answers_a_common_word_from_its_memo(small_memos, corpus_of):
    corpus = corpus_of(11)
    reads = corpus.store.reads.files
    first = reads.search("self", None, 10)  # ranked by FTS5; the memo made
    assert isinstance(reads.common.memo('"self"'), Memo)
    corpus.edit()
    again = reads.search("self", None, 10)
    # A search with FTS5 alone (no memo), on the same state.
    plain = queries.search(corpus.store.reader, "self", None, 10)
    assert again == plain
    assert len(first) == 10


def test_a_window_outside_the_memo_that_comes_to_outrank_one_in_it_is_not_missed(tmp_path, monkeypatch):
    """Longer windows without the word raise the average length: a long window saying it
    twice, outside the memo, comes to outrank a short one saying it once, inside it."""
    monkeypatch.setattr(common_words, "KEPT", 2)
    monkeypatch.setattr(common_words, "MIN_WINDOWS", 1)
    root = tmp_path / "p"
    root.mkdir()
    texts = {"top.py": "# " + "self " * 9, "a.py": "# self x", "b.py": "# self self a b c d e f g h i",
             **{f"f{n}.py": "# " + " ".join(f"w{i}" for i in range(20)) for n in range(10)}}
    for rel, text in texts.items():
        (root / rel).write_text(text + "\n")
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        project = store.writes.projects.add(str(root), roots_overlap).id

        def index(rels):
            store.writes.files.index(project, [file_update(read_file(Tree(str(root)), rel), 1 << 20)[0]  # type: ignore[arg-type]
                                               for rel in rels])

        index(list(texts))
        db = store.reader
        window = dict(db.execute("SELECT f.path, c.id FROM text_chunks c JOIN files f ON f.id = c.file_id"))
        memo = common_words.make(db, '"self"')
        assert isinstance(memo, Memo)
        assert [w for w, _, _ in memo.best] == [window["top.py"], window["a.py"]]
        assert [w for w, _ in fts5(db, '"self"', 3)] == [window[p] for p in ("top.py", "a.py", "b.py")]
        for n in range(5):
            (root / f"long{n}.py").write_text("# " + " ".join(f"z{i}" for i in range(400)) + "\n")
        index([f"long{n}.py" for n in range(5)])
        assert [w for w, _ in fts5(db, '"self"', 3)] == [window[p] for p in ("top.py", "b.py", "a.py")]
        assert common_words.answer(db, '"self"', memo, 1) == fts5(db, '"self"', 1)
        assert common_words.answer(db, '"self"', memo, 2) is None
        common = CommonWords()
        common.keep(memo, '"self"')
        assert list(queries._best_windows(db, '"self"', 2, common)) == list(queries._best_windows(db, '"self"', 2))
    finally:
        store.close()


@pytest.mark.usefixtures("small_memos")
@pytest.mark.parametrize("seed", [12, 13])
def test_searches_in_one_project_through_edits_are_those_ranked_joined(seed, corpus_of):
    corpus = corpus_of(seed)
    db = corpus.store.reader
    common = CommonWords()
    from_memo = 0
    for step in range(40):
        for word in ("self", "value"):
            for project in (corpus.project, corpus.other, None):
                for limit in (1, 6, 30):
                    assert queries.search(db, word, project, limit, common=common) == queries.search(
                        db, word, project, limit), (step, word, project, limit)
                    memo = common.memo(f'"{word}"', project)
                    if isinstance(memo, Memo):
                        with db:
                            assert_memo_holds(db, f'"{word}"', memo)
                            from_memo += common_words.answer(db, f'"{word}"', memo, limit) is not None
        corpus.edit()
    assert from_memo > 100


@pytest.mark.usefixtures("small_memos")
def test_the_stores_read_threads_make_the_memo_off_the_querys_path(corpus_of):
    import asyncio

    corpus = corpus_of(14)
    store = corpus.store

    async def searches():
        first = await store.read(lambda r: r.files.search("self", None, 10))
        for _ in range(200):  # the memo is made on a read thread, as the next read
            if isinstance(store.common.memo('"self"'), Memo):
                break
            await asyncio.sleep(0.01)
        assert isinstance(store.common.memo('"self"'), Memo)
        again = await store.read(lambda r: r.files.search("self", None, 10))
        return first, again

    first, again = asyncio.run(searches())
    assert first == again == queries.search(store.reader, "self", None, 10)
