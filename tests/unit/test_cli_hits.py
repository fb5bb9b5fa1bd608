"""How codeanalysisctl shows hits: highlighted on a terminal only, grep's -C context."""

import io

from codeanalysisd.cli import hits
from codeanalysisd.cli.main import printable
from codeanalysisd.query_language import parse

M, R = hits.MATCH, hits.RESET


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_color_only_on_a_terminal_without_no_color():
    assert hits.use_color("auto", Tty(), {}) is True
    assert hits.use_color("auto", io.StringIO(), {}) is False  # piped
    assert hits.use_color("auto", Tty(), {"NO_COLOR": "1"}) is False
    assert hits.use_color("auto", Tty(), {"NO_COLOR": ""}) is True  # set but empty: no-color.org says colour
    assert hits.use_color("always", io.StringIO(), {"NO_COLOR": "1"}) is True
    assert hits.use_color("never", Tty(), {}) is False


def test_words_phrases_and_regexes_are_highlighted():
    q = parse(r'join "a, b" /\d+/')
    assert hits.highlight("x.JOIN(a, b) + 42", q, True, printable) == f"x.{M}JOIN{R}({M}a, b{R}) + {M}42{R}"


def test_plain_is_the_line_as_it_is():
    q = parse("join")
    assert hits.highlight("\tx.join(y)", q, False, printable) == "\tx.join(y)"
    assert hits.highlight("\tx.join(y)", None, True, printable) == "\tx.join(y)"


def test_control_characters_are_escaped_inside_and_outside_a_highlight():
    q = parse('"a\x1bb"')
    assert hits.highlight("x a\x1bb \x1b[2J", q, True, printable) == f"x {M}a\\x1bb{R} \\x1b[2J"


def test_a_hit_line_without_colour_is_the_old_format():
    hit = hits.Shown("app", "pkg/m.py", 12, "C.f", "return join(a)")
    assert hits.hit_line(hit, parse("join"), False, printable) == "app:pkg/m.py:12 (C.f): return join(a)"
    coloured = hits.hit_line(hit, parse("join"), True, printable)
    assert f"{M}join{R}" in coloured and "\x1b[35mapp:pkg/m.py" in coloured


SOURCE = [f"line {n}" for n in range(1, 11)]


def test_context_around_a_hit_like_grep():
    hit = hits.Shown("app", "m.py", 5, "", "line 5")
    assert hits.context(hit, SOURCE, 2, parse("line"), False, printable) == [
        "app:m.py-3-line 3", "app:m.py-4-line 4", "app:m.py:5: line 5", "app:m.py-6-line 6", "app:m.py-7-line 7"]


def test_context_stops_at_the_ends_of_the_file():
    first = hits.Shown("app", "m.py", 1, "f", "line 1")
    assert hits.context(first, SOURCE, 2, None, False, printable) == [
        "app:m.py:1 (f): line 1", "app:m.py-2-line 2", "app:m.py-3-line 3"]
    last = hits.Shown("app", "m.py", 10, "", "line 10")
    assert hits.context(last, SOURCE, 1, None, False, printable)[-1] == "app:m.py:10: line 10"


def test_the_hit_line_in_context_is_printed_whole_not_the_stripped_snippet():
    source = ["def f():", "    return join(a)", ""]
    hit = hits.Shown("app", "m.py", 2, "f", "return join(a)")
    assert hits.context(hit, source, 0, None, False, printable) == ["app:m.py:2 (f):     return join(a)"]


def test_without_the_source_the_hit_alone():
    hit = hits.Shown("app", "m.py", 50, "", "x")
    assert hits.context(hit, None, 3, None, False, printable) == ["app:m.py:50: x"]
    assert hits.context(hit, SOURCE, 3, None, False, printable) == ["app:m.py:50: x"]  # file shorter now


def test_source_lines_are_numbered_as_python_numbers_them():
    assert hits.source_lines(b"a\r\nb\rc\x0cd\n\xff\n") == ["a", "b", "c\x0cd", "\\xff"]
