"""A full-text query asks for each word once, and refuses more words or characters than its caps."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeanalysisd.db import queries
from codeanalysisd.db.queries import MAX_QUERY_CHARS, MAX_QUERY_WORDS, BadQuery, QueryTooLarge
from codeanalysisd.db.store import Store
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.paths import roots_overlap


def test_the_caps():
    assert (MAX_QUERY_WORDS, MAX_QUERY_CHARS) == (32, 1024)


def test_repeats_are_dropped_case_insensitively_in_first_seen_order():
    assert queries.query_words("Self self SELF, join  self.join(path) Path") == ["Self", "join", "path"]


@pytest.mark.parametrize("any_word", [False, True])
def test_the_fts_query_names_each_word_once(any_word):
    match, words = queries._fts_query(" ".join(["self"] * 200) + " Other SELF", any_word)
    assert match == ('"self" OR "Other"' if any_word else '"self" "Other"')
    assert words == ["self", "other"]


@pytest.mark.parametrize("any_word", [False, True])
def test_more_distinct_words_than_the_cap_are_refused(any_word):
    at_cap = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS))
    assert queries._fts_query(at_cap, any_word)[1] == [f"w{i}" for i in range(MAX_QUERY_WORDS)]
    with pytest.raises(QueryTooLarge, match=rf"33 different words; at most {MAX_QUERY_WORDS} are allowed"):
        queries._fts_query(at_cap + " one_more", any_word)
    # repeats do not count towards the cap
    assert len(queries._fts_query(at_cap + " " + at_cap.upper(), any_word)[1]) == MAX_QUERY_WORDS


@pytest.mark.parametrize("any_word", [False, True])
def test_a_query_longer_than_the_cap_is_refused(any_word):
    assert queries._fts_query("x" * MAX_QUERY_CHARS, any_word)[1] == ["x" * MAX_QUERY_CHARS]
    with pytest.raises(QueryTooLarge, match=rf"is {MAX_QUERY_CHARS + 1} characters long; at most {MAX_QUERY_CHARS}"):
        queries._fts_query("x" * (MAX_QUERY_CHARS + 1), any_word)
    with pytest.raises(QueryTooLarge):
        queries._fts_query(" " * (MAX_QUERY_CHARS + 1) + "x", any_word)  # characters, not words, count


def test_too_large_is_a_bad_query_and_no_word_is_not_too_large():
    assert issubclass(QueryTooLarge, BadQuery)  # the owner's table answers both InvalidArgument
    with pytest.raises(BadQuery, match="give at least one word") as raised:
        queries.query_words(" () ")
    assert not isinstance(raised.value, QueryTooLarge)


@given(st.lists(st.sampled_from(["a", "A", "b", "B", "self", "Self", "x_1", "é", "É"]), max_size=150))
def test_words_are_distinct_and_in_first_seen_order(written):
    words = queries.query_words(" ".join(written)) if written else []
    expected: dict[str, str] = {}
    for w in written:
        expected.setdefault(w.lower(), w)
    assert words == list(expected.values())


SOURCE = b"class C:\n    def f(self):\n        return self.g(self)\n\n    def g(self, other):\n        return other\n"


@pytest.fixture
def store(tmp_path):
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    s.writes.projects.add("/srv/p", roots_overlap)
    facts = IndexedFacts("utf-8", True, (), None)
    s.writes.files.index("p", [FileUpdate(f"m{i}.py", len(SOURCE), 1, SOURCE, hashlib.sha256(SOURCE).digest(), facts)
                               for i in range(3)])
    yield s
    s.close()


@pytest.mark.parametrize("any_word", [False, True])
def test_a_repeated_word_finds_what_the_word_once_finds(store, any_word):
    once = store.reads.files.search("self", None, 10, any_word)
    assert len(once) == 3
    assert store.reads.files.search(" ".join(["self", "SELF", "Self"] * 60), None, 10, any_word) == once


def test_the_store_refuses_a_query_beyond_the_cap(store):
    with pytest.raises(QueryTooLarge):
        store.reads.files.search(" ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 1)), None, 10, any_word=True)
