"""A regex beside a common word reads only the windows whose terms hold its literal text
(db/fts_terms.py), with the same hits as reading every window, on the index's own SQLite."""

import asyncio
import re
from pathlib import Path

import apsw
import pytest

from codeanalysisd.db import fts_terms, queries
from codeanalysisd.db.fts_terms import MAX_TERMS, TermCache
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.paths import roots_overlap
from codeanalysisd.query_language import parse
from codeanalysisd.tree import Tree

# Every character other than ASCII that a case-insensitive regex matches with an ASCII letter
# (the dotted and dotless i, the long s, the Kelvin sign), found by asking re itself.
SPECIALS = [chr(cp) for cp in range(128, 0x110000) if re.fullmatch("[a-z]", chr(cp), re.IGNORECASE)]
FOLDED = ["é", "Å", "ß", "Ω"]  # letters the index folds its own way (case, diacritics)


def _files() -> dict[str, str]:
    files = {f"common/m{n}.py": f"shared = {n}  # filler line\nvalue_{n} = shared\n" for n in range(60)}
    files["rare.py"] = "shared = xno_such_texty + 1\n"  # inside a longer word
    files["many.py"] = "shared = [" + ", ".join(f"term{n}_tail" for n in range(MAX_TERMS + 5)) + "]\n"
    for n, char in enumerate(SPECIALS + FOLDED):
        files[f"letters/l{n}.py"] = f"shared = 'zz{char}qq{n}'\n"
    return files


def _index(store: Store, root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (project,) = store.reads.projects.list()
    store.writes.files.index(project.id, [file_update(read_file(Tree(str(root)), rel), 1 << 20)[0]  # type: ignore[arg-type]
                                          for rel in files])


@pytest.fixture
def indexed(tmp_path, monkeypatch):
    # A cost rule, not one of correctness: this corpus is a hundred windows, not thousands.
    monkeypatch.setattr(queries, "MIN_WINDOWS_TO_NARROW", 20)
    root = tmp_path / "proj"
    root.mkdir()
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add(str(root), roots_overlap)
    _index(store, root, _files())
    yield store, root
    store.close()


def hits(store: Store, text: str, terms: TermCache | None) -> list[tuple[str, int, str]]:
    return [(h.path, h.line, h.snippet) for h in queries.search(store.reader, parse(text), None, 200, terms=terms)]


def narrowing(store: Store, text: str, terms: TermCache) -> str:
    query = parse(text)
    _, words = queries._fts_query(query)
    sql, _ = queries._term_filter(store.reader, query, words, False, terms)
    return sql


def test_only_windows_with_a_term_holding_the_text_are_read_and_the_hits_are_the_same(indexed):
    store, _ = indexed
    cache = TermCache()
    for query in ["shared /no_such_text/", "shared /o_such_t/", "shared /xno_such_texty \\+ 1$/",
                  "shared /no_such_text_anywhere/", "shared /NO_SUCH/ case:yes", "shared /no_such/ case:yes",
                  "shared /(a|b)no_such/", "shared /[a-z]+_such_/"]:
        assert hits(store, query, cache) == hits(store, query, None), query
        assert narrowing(store, query, cache), query  # the terms narrowed it
    assert hits(store, "shared /o_such_t/", cache) == [("rare.py", 1, "shared = xno_such_texty + 1")]
    assert hits(store, "shared /no_such_text_anywhere/", cache) == []


def test_a_text_in_too_many_terms_or_without_word_characters_reads_every_window(indexed):
    store, _ = indexed
    cache = TermCache()
    for query in ["shared /_tail/", "shared / \\+ /", "shared /filler/"]:
        assert hits(store, query, cache) == hits(store, query, None), query
    assert narrowing(store, "shared /_tail/", cache) == ""  # MAX_TERMS + 5 terms hold it
    assert narrowing(store, "shared / \\+ /", cache) == ""
    # the terms holding the text are in as many windows as the word: nothing to gain
    assert narrowing(store, "filler /filler line/", cache) == ""
    # a word in fewer than MIN_WINDOWS_TO_NARROW windows: each is read
    assert narrowing(store, "xno_such_texty /no_such/", cache) == ""
    assert hits(store, "xno_such_texty /no_such/", cache) == [("rare.py", 1, "shared = xno_such_texty + 1")]
    assert len(hits(store, "shared /_tail/", cache)) == 1


@pytest.mark.parametrize("letter_case", [str.lower, str.upper])
def test_letters_the_index_folds_its_own_way_are_found_as_a_regex_finds_them(indexed, letter_case):
    """Case-insensitive, /zzKqq/ matches the Kelvin sign, /zzsqq/ the long s: the terms
    holding them are compared as the regex compares, whatever the tokenizer made of them."""
    store, _ = indexed
    cache = TermCache()
    for n, char in enumerate(SPECIALS + FOLDED):
        letter = next((c for c in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(c, char, re.IGNORECASE)), char)
        for query in [f"shared /zz{letter_case(letter)}qq{n}'/", f"shared /zz{char}qq{n}'/",
                      f"shared /zz{letter_case(letter)}qq{n}'/ case:yes"]:
            expected = hits(store, query, None)
            assert hits(store, query, cache) == expected, (query, expected)
        assert hits(store, f"shared /zz{char}qq{n}'/", cache) == [(f"letters/l{n}.py", 1, f"shared = 'zz{char}qq{n}'")]


def test_a_write_after_the_snapshot_is_found_even_by_a_query_that_was_given_the_old_one(indexed):
    """The snapshot is checked against the index inside the query's own statement: a write
    between the check and the statement makes the statement read every window."""
    store, root = indexed
    cache = TermCache()
    old = cache.fresh(store.reader)
    assert old is not None and old.containing("brand_new_word") == []

    class Stale(TermCache):  # as if the write landed just after fresh() answered
        def fresh(self, db):
            return old

    _index(store, root, {"late.py": "shared = brand_new_word_here\n", "later.py": "shared = no_such_text_late\n"})
    assert hits(store, "shared /brand_new_word/", Stale()) == [("late.py", 1, "shared = brand_new_word_here")]
    # the old snapshot knows one term holding this text, not the new window's
    assert old.containing("no_such_text") == [("xno_such_texty", 1)]
    assert sorted(hits(store, "shared /no_such_text/", Stale())) == [
        ("later.py", 1, "shared = no_such_text_late"), ("rare.py", 1, "shared = xno_such_texty + 1")]
    assert cache.fresh(store.reader) is not None  # rebuilt: the structure changed
    assert cache.fresh(store.reader).containing("brand_new_word") == [("brand_new_word_here", 1)]  # type: ignore[union-attr]


def test_a_stale_snapshot_is_rebuilt_once_where_the_cache_is_told():
    builds: list[object] = []
    cache = TermCache()
    cache.schedule = builds.append
    db = apsw.Connection(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = \"unicode61 tokenchars '_'\")")
    db.execute("INSERT INTO fts (rowid, text) VALUES (1, 'one two')")
    assert cache.fresh(db) is None and cache.fresh(db) is None
    assert len(builds) == 1  # one build at a time
    cache.build(db)
    assert cache.fresh(db) is not None
    db.execute("INSERT INTO fts (rowid, text) VALUES (2, 'three')")
    assert cache.fresh(db) is None and len(builds) == 2


def test_containing_and_windows():
    db = apsw.Connection(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = \"unicode61 tokenchars '_'\")")
    for n, text in enumerate(["alpha beta_x", "xbetay Alpha", "\u212aelvin alpha", "caf\u00e9 gamma"], 1):
        db.execute("INSERT INTO fts (rowid, text) VALUES (?, ?)", (n, text))
    terms = fts_terms.read_terms(db)
    assert terms.containing("BETA") == [("beta_x", 1), ("xbetay", 1)]
    assert terms.containing("elvin") == terms.containing("kelvin") == [("kelvin", 1)]  # folded by the index
    assert terms.containing("caf") == [("cafe", 1)]
    assert terms.containing("delta") == []
    assert (terms.windows("alpha"), terms.windows("ALPHA"), terms.windows("gamma"), terms.windows("delta")) == \
        (3, 3, 1, 0)
    assert terms.windows("caf\u00e9") is None  # the index's folding of it is its own
    db.execute("INSERT INTO fts (rowid, text) VALUES (9, ?)", (" ".join(f"t{n}x" for n in range(MAX_TERMS + 1)),))
    many = fts_terms.read_terms(db)
    assert many.containing("x") is None
    assert many.containing("1x") is not None and len(many.containing("1x") or []) < MAX_TERMS


def test_runs_are_the_word_characters_longest_first():
    assert fts_terms.runs(" = None$") == ["None"]
    assert fts_terms.runs("a.b_cd(ef") == ["b_cd", "ef", "a"]


def test_the_store_builds_a_stale_snapshot_on_a_read_thread_and_its_reads_use_it(indexed):
    store, root = indexed

    async def narrowed_after_a_while() -> bool:
        query = parse("shared /no_such_text/")
        assert await store.read(lambda r: r.files.search(query, None, 10))  # found the slow way; a build asked
        for _ in range(200):
            if await store.read(lambda r: bool(narrowing_of(r.files.db, "shared /no_such_text/", r.files.terms))):
                return True
            await asyncio.sleep(0.01)
        return False

    def narrowing_of(db, text, terms):
        query = parse(text)
        return queries._term_filter(db, query, queries._fts_query(query)[1], False, terms)[0]

    assert asyncio.run(narrowed_after_a_while())
    _index(store, root, {"later.py": "shared = no_such_text_later\n"})  # the snapshot is stale again
    found = asyncio.run(store.read(lambda r: r.files.search(parse("shared /no_such_text/"), None, 10)))
    assert {h.path for h in found} == {"rare.py", "later.py"}
