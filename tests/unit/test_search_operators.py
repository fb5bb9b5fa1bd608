"""Each operator of the query language, evaluated by the index's own SQLite on real files."""

import pytest
from query_corpus import COPY_FILES

from codeanalysisd.db import indexing, queries
from codeanalysisd.db.store import Store
from codeanalysisd.db.vectors import Match
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.paths import roots_overlap
from codeanalysisd.query_language import parse
from codeanalysisd.tree import Tree

FILES = {
    **COPY_FILES,
    "pkg/big.py": "".join(f"value_{n} = {n}  # filler\n" for n in range(100)) + "needle = 'found at the end'\n",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    s, _ = Store.open(str(root.parent / "i.db"), str(root.parent / "h.db"))
    project = s.writes.projects.add(str(root), roots_overlap).id
    s.writes.files.index(project, [file_update(read_file(Tree(str(root)), rel), 1 << 20)[0]  # type: ignore[arg-type]
                                   for rel in FILES])
    yield s
    s.close()


def found(store, text, limit=50, any_word=False):
    return [(h.path, h.line) for h in store.reads.files.search(parse(text), None, limit, any_word)]


def test_every_word_must_occur_in_the_window(store):
    assert found(store, "copytree makedirs") == [("pkg/shutil_like.py", 4)]  # the first line with a word
    assert found(store, "copytree no_such_word") == []


def test_a_phrase_is_exact_and_points_at_its_line(store):
    assert found(store, '"_copytree(src, dst)"') == [("pkg/shutil_like.py", 6), ("pkg/shutil_like.py", 9)]
    assert found(store, '"copytree(src,dst)"') == []  # the words are there, the text is not


def test_path_and_not_path(store):
    assert {p for p, _ in found(store, "copytree path:tests/")} == {"tests/test_copy.py"}
    assert {p for p, _ in found(store, "copytree -path:tests/")} == {"pkg/shutil_like.py"}
    assert {p for p, _ in found(store, "copytree path:*.py -path:pkg/*")} == {"tests/test_copy.py"}


def test_each_line_a_line_level_term_admits_is_a_hit_if_it_holds_a_word(store):
    assert sorted(found(store, "def kind:function")) == [("pkg/shutil_like.py", 4), ("pkg/shutil_like.py", 9),
                                                        ("pkg/shutil_like.py", 18), ("tests/test_copy.py", 4)]
    assert found(store, "recursively kind:function") == [("pkg/shutil_like.py", 4)]  # none holds it: the first
    assert found(store, "def kind:function path:shutil", limit=2) == [("pkg/shutil_like.py", 4),
                                                                      ("pkg/shutil_like.py", 9)]


def test_kind_keeps_definition_lines_of_that_kind(store):
    assert found(store, "copytree kind:function -path:tests") == [("pkg/shutil_like.py", 4)]
    assert found(store, "copy kind:method") == [("pkg/shutil_like.py", 14)]
    assert found(store, "copy_later kind:function") == [("pkg/shutil_like.py", 18)]  # async too
    assert found(store, "copy_later kind:async_method") == []


def test_sym_without_words_lists_definitions_by_name_shortest_first(store):
    assert found(store, "sym:copytree") == [("pkg/shutil_like.py", 4), ("pkg/shutil_like.py", 9),
                                           ("tests/test_copy.py", 4)]
    assert found(store, "sym:Copier kind:class") == [("pkg/shutil_like.py", 13)]
    assert found(store, "sym:Copier case:yes") == [("pkg/shutil_like.py", 13)]
    assert found(store, "sym:copier case:yes") == []


def test_case_yes(store):
    assert found(store, "copy tree") and found(store, "Copy tree")
    assert found(store, "Copy tree case:yes") == [("pkg/shutil_like.py", 5)]  # tree, in the docstring
    assert found(store, "COPY case:yes") == []


def test_a_regex_filters_the_lines_the_words_found(store):
    assert found(store, r"copytree /return\s+_?copytree\(src, (dst|src)/") == [("pkg/shutil_like.py", 15)]
    assert found(store, r"_copytree /return\s+_?copytree\(src, (dst|src)/") == [("pkg/shutil_like.py", 6)]
    assert found(store, r"copytree /^\s+copytree\(/") == [("tests/test_copy.py", 5)]
    assert found(store, r"sym:copy /async/") == [("pkg/shutil_like.py", 18)]


def test_a_hit_past_the_first_window_points_at_its_line(store):
    assert found(store, "needle") == [("pkg/big.py", 101)]
    assert found(store, '"found at the end"') == [("pkg/big.py", 101)]


def test_any_word_for_hybrid_keeps_the_filters(store):
    assert {p for p, _ in found(store, "makedirs copytree path:tests", any_word=True)} == {"tests/test_copy.py"}


def test_the_limit_counts_hits_that_passed_the_filters(store):
    everything = found(store, "copytree", limit=50)
    assert found(store, "copytree", limit=1) == everything[:1]
    assert found(store, '"copytree("', limit=2) == found(store, '"copytree("', limit=50)[:2]


def test_a_str_is_read_by_the_parser(store):
    assert store.reads.files.search("copytree path:tests/", None, 10) == \
        store.reads.files.search(parse("copytree path:tests/"), None, 10)


def test_admitted_chunks_for_hybrids_semantic_side(store):
    (project,) = store.reads.projects.list()
    chunks = [Match(project.id, "pkg/shutil_like.py", "copytree", 4, 7, 0.9, ""),
              Match(project.id, "pkg/shutil_like.py", "TreeCopier.copy", 14, 15, 0.8, ""),
              Match(project.id, "tests/test_copy.py", "test_copytree", 4, 5, 0.7, ""),
              Match(project.id, "pkg/shutil_like.py", "", 1, 2, 0.6, "")]

    def kept(text):
        return [m.symbol for m in store.reads.files.admitted(parse(text), chunks)]

    assert kept("x path:pkg/") == ["copytree", "TreeCopier.copy", ""]
    assert kept("x -path:pkg/") == ["test_copytree"]
    assert kept("x kind:method") == ["TreeCopier.copy"]
    assert kept("x sym:copytree") == ["copytree", "test_copytree"]


def test_the_window_size_is_the_indexers():
    assert indexing.WINDOW == queries.WINDOW == 30
