"""From matching chunks to definitions: one row each, placed by its best chunk, with later
body windows and private names marked down (index/ranking.py)."""

import pytest

from codeanalysisd.index.ranking import (
    Candidate,
    Weights,
    adjusted,
    definitions,
    is_private,
    name_parts,
    says_unread_name,
)

W = Weights(window=0.05, private=0.03)


def c(symbol: str, score: float, line: int = 1, window: bool = False, path: str = "m.py") -> Candidate:
    return Candidate("p", path, symbol, line, line + 5, window, score)


@pytest.mark.parametrize("symbol, private", [
    ("_copytree", True), ("Cls._helper", True), ("__init__", False), ("Cls.__eq__", False), ("copytree", False),
    ("_Cls.method", False), ("__private", True), ("", False)])
def test_a_private_name_is_one_with_a_leading_underscore_that_is_not_a_dunder(symbol, private):
    assert is_private(symbol) is private


def test_each_definition_is_one_row_placed_by_its_best_chunk():
    rows = definitions([c("f", 0.5, 1), c("g", 0.7, 30), c("f", 0.8, 1), c("g", 0.6, 30), c("f", 0.4, 26, True)],
                       10, W)
    assert [(r.symbol, r.score, s) for r, s in rows] == [("f", 0.8, 0.8), ("g", 0.7, 0.7)]


def test_the_same_name_in_two_files_or_projects_is_two_definitions():
    rows = definitions([c("f", 0.5), c("f", 0.6, path="n.py"), Candidate("q", "m.py", "f", 1, 2, False, 0.4)], 10, W)
    assert [(r.project, r.path) for r, _ in rows] == [("p", "n.py"), ("p", "m.py"), ("q", "m.py")]


def test_a_public_definition_outranks_its_private_helper_that_says_the_same():
    rows = definitions([c("_copytree", 0.62, 10), c("copytree", 0.60, 40)], 10, W)
    assert [r.symbol for r, _ in rows] == ["copytree", "_copytree"]
    # a private definition of another name that says much more is still first: a mark-down, not a filter
    rows = definitions([c("_copy_entries", 0.70, 10), c("copytree", 0.60, 40)], 10, W)
    assert [r.symbol for r, _ in rows] == ["_copy_entries", "copytree"]


def test_a_public_definition_scores_at_least_its_private_twin_and_comes_first():
    rows = definitions([c("_copytree", 0.70, 10), c("copytree", 0.60, 40), c("other", 0.66, 60)], 10, W)
    assert [(r.symbol, s) for r, s in rows] == [("copytree", pytest.approx(0.67)), ("_copytree", pytest.approx(0.67)),
                                                ("other", 0.66)]
    # twins are in the same scope of the same file: a method's twin is a method of its class
    rows = definitions([c("C._run", 0.70, 10), c("run", 0.60, 40), c("C.run", 0.5, 50),
                        c("_copytree", 0.70, 10, path="a.py"), c("copytree", 0.60, 40, path="b.py")], 10, W)
    assert [(r.path, r.symbol) for r, _ in rows] == [
        ("m.py", "C.run"), ("a.py", "_copytree"), ("m.py", "C._run"), ("b.py", "copytree"), ("m.py", "run")]


def test_a_definition_header_outranks_a_body_window_of_another_that_matched_a_little_better():
    rows = definitions([c("long", 0.64, 26, window=True), c("short", 0.62, 80)], 10, W)
    assert [r.symbol for r, _ in rows] == ["short", "long"]
    assert adjusted(c("long", 0.64, 26, window=True), W) == pytest.approx(0.59)
    assert adjusted(c("_h", 0.64, 26, window=True), W) == pytest.approx(0.56)


def test_ties_are_broken_by_place_and_the_limit_counts_definitions():
    rows = definitions([c("b", 0.5, 20), c("a", 0.5, 10), c("a", 0.5, 3), c("z", 0.1, 1)], 2, W)
    assert [(r.symbol, r.line) for r, _ in rows] == [("a", 3), ("b", 20)]
    assert definitions([], 5, W) == []


KNOWN = frozenset({"split", "a", "path", "into", "file", "default", "temporary", "directory", "the"})


@pytest.mark.parametrize("symbol, query, says", [
    ("gettempdir", "gettempdir default temporary directory", True),
    ("tempfile.gettempdir", "GetTempDir default", True),  # the model lower-cases what it reads
    ("C._get_close", "what does get_close do", True),
    ("posixpath.split", "split a path into its parts", False),  # an English word of the model's
    ("gettempdirb", "gettempdir default", False), ("gettemp", "gettempdir default", False),  # whole names only
    ("", "anything at all", False),
])
def test_a_query_says_a_name_the_model_cannot_read_only_when_the_word_is_the_whole_name(symbol, query, says):
    assert says_unread_name(symbol, query, KNOWN) is says


def test_name_parts_split_snake_and_camel_case():
    assert name_parts("C._copy_tree") == ["copy", "tree"]
    assert name_parts("getHTTPHeaders") == ["get", "http", "headers"]
    assert name_parts("b32decode") == ["b", "32", "decode"]
