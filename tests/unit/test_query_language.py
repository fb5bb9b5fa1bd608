"""The query language of Search and HybridSearch: every operator, and bad input named with its column."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeanalysisd.query_language import (
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    BadQuery,
    Query,
    QueryTooLarge,
    glob_match,
    parse,
    required_text,
)


def test_plain_words_are_distinct_in_first_seen_order():
    q = parse("Self self.join(path) PATH x_1")
    assert q.words == ("Self", "join", "path", "x_1")
    assert (q.phrases, q.regexes, q.paths, q.not_paths, q.kinds, q.syms, q.case, q.page) == \
        ((), (), (), (), (), (), False, 1)


def test_a_phrase_is_kept_as_written_with_its_escapes():
    q = parse(r'"os.path.join(a,  b)" x "say \"hi\" \\ now"')
    assert q.phrases == ("os.path.join(a,  b)", 'say "hi" \\ now')
    assert q.words == ("x",)
    assert q.fts_words() == ["x", "os", "path", "join", "a", "b", "say", "hi", "now"]


def test_a_regex_is_compiled_case_insensitive_unless_case_yes():
    (r,) = parse(r"word /def\s+\w+\(/").regexes
    assert r.pattern == r"def\s+\w+\(" and r.flags & re.IGNORECASE
    (r,) = parse(r"word /a\/b c/ case:yes").regexes
    assert r.pattern == "a/b c" and not r.flags & re.IGNORECASE


def test_path_and_not_path_keep_each_glob():
    q = parse('x path:email/ path:"my dir/*.py" -path:test_*')
    assert q.paths == ("email/", "my dir/*.py") and q.not_paths == ("test_*",)


def test_kind_expands_to_its_async_form_and_several_kinds_add_up():
    assert parse("kind:function").kinds == ("function", "async_function")
    assert parse("kind:method kind:class").kinds == ("method", "async_method", "class")
    assert parse("kind:async_method").kinds == ("async_method",)
    assert parse("KIND:Class").kinds == ("class",)


def test_sym_case_and_page():
    q = parse("sym:copytree case:yes page:3")
    assert (q.syms, q.case, q.page, q.words) == (("copytree",), True, 3, ())
    assert parse("x case:no").case is False


@pytest.mark.parametrize(("text", "column", "what"), [
    ('x "never closed', 3, "never closed"),
    ("x /never closed", 3, "never closed"),
    ("path: x", 6, "path: needs a value"),
    ("x -path:", 9, "-path: needs a value"),
    ("kind:lambda", 6, "unknown kind 'lambda'"),
    ("x pth:foo", 3, "unknown operator 'pth'"),
    ("x /(a+)+/", 3, "repeats a repetition"),
    (r"x /(\w)\1/", 3, "refers back"),
    ("x /(a/", 4, "not a regular expression: missing )"),
    ("x /ab[c/", 6, "unterminated character set"),
    ("/x+/", 1, "add a word"),
    ("x //", 3, "an empty /regex/"),
    ("x case:maybe", 8, "case: takes yes or no"),
    ("x case:yes case:no", 17, "case: is given twice"),
    ("x page:0", 8, "page: takes a page number"),
    (f"x page:{MAX_PAGE + 1}", 8, "page: takes a page number"),
    ("x page:two", 8, "page: takes a page number"),
    ('"a"b', 4, "expected a space"),
    ('x /a/b', 6, "expected a space"),
    ('"()"', 1, "a phrase needs at least one word"),
])
def test_bad_syntax_says_where_and_what(text, column, what):
    with pytest.raises(BadQuery) as raised:
        parse(text)
    assert raised.value.column == column
    assert str(raised.value).startswith(f"column {column}: ")
    assert what in str(raised.value)


@pytest.mark.parametrize("text", ["", "   ", " () ", "path:x", "-path:x case:yes page:2"])
def test_nothing_to_narrow_by_is_refused(text):
    with pytest.raises(BadQuery, match="nothing to search for"):
        parse(text)


def test_text_that_only_looks_like_an_operator_is_words():
    assert parse("http://example.org").words == ("http", "example", "org")
    assert parse("lambda: x").words == ("lambda", "x")
    assert parse('"lambda:x"').phrases == ("lambda:x",)


def test_the_caps_hold_for_the_language_too():
    assert parse("x" * MAX_QUERY_CHARS).words == ("x" * MAX_QUERY_CHARS,)
    with pytest.raises(QueryTooLarge, match=f"at most {MAX_QUERY_CHARS}"):
        parse("x" * (MAX_QUERY_CHARS + 1))
    at_cap = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS))
    assert len(parse(at_cap).words) == MAX_QUERY_WORDS
    with pytest.raises(QueryTooLarge, match="33 different words"):
        parse(at_cap + ' "one_more"')  # a phrase's words count: the index is asked for them
    with pytest.raises(QueryTooLarge):
        parse("x /" + "a" * 300 + "/")


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("email/", "Lib/email/message.py", True),  # no wildcard: contained
    ("email/", "Lib/mail/x.py", False),
    ("*.py", "a/b/c.py", True),  # * crosses /
    ("a/*.py", "b/a/c.py", False),  # with a wildcard, the whole path
    ("test_?.py", "test_1.py", True),
    ("test_?.py", "test_10.py", False),
    ("[!t]*", "test.py", False),
    ("[!t]*", "main.py", True),
    ("[^t]*", "main.py", True),
    ("[ab]*", "b.py", True),
    ("[unclosed", "[unclosed", True),
    ("a.b*", "axb.py", False),  # a dot is a dot
])
def test_glob(glob, path, matches):
    assert glob_match(glob, path) is matches


def test_what_a_query_admits():
    q = parse('x "Foo(" /ba+r/ path:pkg/ -path:tests kind:class sym:Foo')
    assert q.path_admits("pkg/a.py") and not q.path_admits("pkg/tests/a.py") and not q.path_admits("lib/a.py")
    assert q.definition_admits("class", "MyFoo") and q.definition_admits("class", "myfoo")
    assert not q.definition_admits("function", "Foo") and not q.definition_admits("class", "Bar")
    assert q.line_admits("class Foo(Baaar):") and not q.line_admits("class Foo(Bz):")
    cased = parse('x "Foo(" case:yes sym:Foo')
    assert cased.line_admits("Foo(") and not cased.line_admits("foo(")
    assert not cased.definition_admits("class", "myfoo")


def test_words_in_a_window_by_case():
    assert parse("Join path").words_in("os.path.join(a)")
    assert not parse("Join path case:yes").words_in("os.path.join(a)")
    assert not parse("join pathx").words_in("os.path.join(a)")  # whole words only


def test_spans_mark_words_phrases_and_regexes_merged():
    q = parse(r'join "a, b" /\d+/')
    line = "os.path.JOIN(a, b) + join_all(42)"
    assert q.spans(line) == [(8, 12), (13, 17), (30, 32)]  # join_all is not the word join
    assert parse('"ab" "bc"').spans("abc") == [(0, 3)]


def test_the_text_a_regex_requires():
    def required(regex: str) -> str:
        return required_text(parse(f"x /{regex}/").regexes[0])

    assert required("no_such_text") == "no_such_text"
    assert required(r"self\.\w+ = None$") == " = None"  # the longest row of literals
    assert required(r"^from \.+ import") == " import"
    assert required(r"a(bcd)?e") == "a" and required("ab|cd") == "" and required("[ab]c*") == ""
    assert required(r"\x41B") == "AB"  # as the regex reads it
    assert parse('x "Ph" /(?i)Ab/ case:yes').required_texts() == [("Ph", True), ("Ab", False)]
    assert parse("x /ab|c/ /de/").required_texts() == [("de", False)]


@given(st.text("abAB.+*?()|[]^$\\{}1,", max_size=12), st.text("abAB .\n", max_size=20), st.booleans())
def test_every_match_holds_the_required_text(source, line, case):
    try:
        query = parse(f"x /{source}/" + (" case:yes" if case else ""))
    except BadQuery:
        return
    regex = query.regexes[0]
    text = required_text(regex)
    if regex.search(line):
        assert (text in line) if not regex.flags & re.IGNORECASE else (text.lower() in line.lower())


def test_free_text_leaves_operators_out():
    assert parse('copy tree "whole dir" path:x kind:function sym:copytree page:2').free_text() == \
        "copy tree whole dir copytree"


@given(st.text(max_size=60))
def test_any_text_parses_or_is_a_bad_query_with_a_column_inside_it(text):
    try:
        q = parse(text)
    except BadQuery as exc:
        assert 0 <= exc.column <= len(text) + 1
    else:
        assert isinstance(q, Query) and (q.fts_words() or q.definitions_only)


def test_a_window_is_ruled_out_only_when_no_line_of_it_can_match():
    window = "def f(x):\n    return x + 1\n"
    assert parse(r"x /^\s+return/").window_may_hold(window)  # ^ at each line's start
    assert not parse(r"x /^return/").window_may_hold(window)
    assert parse(r"x /1$/").window_may_hold(window)
    assert not parse('"x + 2"').window_may_hold(window)
    assert parse('"X + 1"').window_may_hold(window) and not parse('"X + 1" case:yes').window_may_hold(window)
    assert not parse("F case:yes").window_may_hold(window)
    # \A and look-behind mean something else in a window than in one line: checked per line only
    assert parse(r"x /\Areturn/").window_may_hold(window)
    assert parse(r"x /(?<![ ])return/").window_may_hold(window)
    assert parse(r'"return" /\Areturn/').line_admits("return x") is True
