"""An unfiltered full-text query ranks windows by FTS5 alone and joins only the best to their
files (queries._best_windows): the same rows, in the same order, as ranking every window
joined to its file, which the filtered queries still do."""

from __future__ import annotations

import pytest

from codeanalysisd.db import queries
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.paths import roots_overlap
from codeanalysisd.tree import Tree

# Every window and file ranked together, joined first: what the query was before.
JOINED = ("SELECT c.id AS chunk, f.project_id, f.path, f.id, c.start_line, bm25(fts) AS score "
          "FROM fts JOIN text_chunks c ON c.id = fts.rowid JOIN files f ON f.id = c.file_id "
          "WHERE fts MATCH ? AND f.state = 'live' ORDER BY score, c.id LIMIT ?")


def source(n: int) -> str:
    """A file of several windows, each saying 'self' a different number of times (some ties)."""
    lines = []
    for k in range(70):
        said = " + ".join(["self.value"] * ((n * 7 + k) % 5)) or "0"
        lines.append(f"v_{k} = {said}  # padding {'x ' * (k % 3)}\n")
    return "".join(lines)


@pytest.fixture()
def store(tmp_path):
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    for p in ("a", "b"):
        root = tmp_path / p
        for n in range(12):
            (root / f"m{n}.py").parent.mkdir(parents=True, exist_ok=True)
            (root / f"m{n}.py").write_text(source(n + (p == "b")))
        project = s.writes.projects.add(str(root), roots_overlap).id
        s.writes.files.index(project, [file_update(read_file(Tree(str(root)), f"m{n}.py"), 1 << 20)[0]  # type: ignore[arg-type]
                                       for n in range(12)])
    yield s
    s.close()


@pytest.mark.parametrize("words", ['"self"', '"value"', '"self" "padding"', '"x"', '"nowhere"'])
@pytest.mark.parametrize("limit", [1, 7, 20, 200])
def test_the_same_rows_in_the_same_order_as_ranking_them_joined(store, words, limit):
    db = store.db
    assert list(queries._best_windows(db, words, limit)) == list(db.execute(JOINED, (words, limit)))


def test_a_window_of_a_file_not_live_is_skipped_and_the_ranking_asked_for_more(store):
    db = store.db
    best = [row[3] for row in db.execute(JOINED, ('"self"', 40))]
    # The windows stay, as no deletion in the index leaves them: the best 20 windows' files.
    with db:
        db.executemany("UPDATE files SET state = 'deleted' WHERE id = ?", [(f,) for f in set(best[:20])])
    for limit in (1, 5, 20):
        expected = list(db.execute(JOINED, ('"self"', limit)))
        assert len(expected) == limit
        assert list(queries._best_windows(db, '"self"', limit)) == expected


def test_search_without_filters_answers_from_the_best_windows(store):
    hits = store.reads.files.search("self", None, 20)
    rows = list(store.db.execute(JOINED, ('"self"', 20)))
    assert [(h.project, h.path, -h.score) for h in hits] == [(r[1], r[2], r[5]) for r in rows]
