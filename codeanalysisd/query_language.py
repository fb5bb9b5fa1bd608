"""The full-text query language of Search and HybridSearch, read into a typed ``Query``.

Pure: the owner evaluates a ``Query`` against the index, and ``codeanalysisctl`` reads the
same text with the same parser to highlight what matched. A query is terms separated by
spaces:

- ``word``: every word must occur (words are runs of letters, digits and ``_``; ``self.get(x)``
  is the words self, get, x);
- ``"exact phrase"``: the text, as written, on the line shown (``\\"`` is a quote, ``\\\\`` a
  backslash);
- ``/regex/``: a Python regular expression that the line shown matches (``\\/`` is a slash);
  it filters what the words, phrases, ``sym:`` or ``kind:`` found, never the whole index;
- ``path:GLOB``, ``-path:GLOB``: the file's path relative to its root matches one of the
  globs, and none of the excluded ones (``*`` crosses ``/``; a glob without ``*``, ``?`` or
  ``[`` matches any path containing it);
- ``kind:KIND``: only definition lines of that kind (``function`` includes
  ``async_function``, ``method`` includes ``async_method``);
- ``sym:NAME``: only definition lines whose name contains NAME;
- ``case:yes``: words, phrases, names and regexes match in the case written (default: any);
- ``page:N``: the N-th page of results (the page being the call's limit).

A value may be quoted (``path:"my dir/*"``). Bad syntax is ``BadQuery`` with the 1-based
column where it was found.
"""

from __future__ import annotations

import functools
import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # the stdlib's own regex parser
import warnings
from dataclasses import dataclass

MAX_QUERY_WORDS = 32  # distinct words, after removing repeats (case-insensitive)
MAX_QUERY_CHARS = 1024
MAX_PAGE = 1000
MAX_REGEX_CHARS = 256
# How much of one line a regex reads: with no nested repetition allowed (below), a regex's
# time on a line is bounded by a small power of its length.
REGEX_LINE_CHARS = 2000

# A window longer than this is not scanned whole by a regex (see REGEX_LINE_CHARS).
WINDOW_SCAN_CHARS = 30 * REGEX_LINE_CHARS
# Regex constructs whose match on a line alone can differ from the same line within its
# window (\A and \Z, look-behind): such a regex is checked line by line only.
_LINE_BOUND = re.compile(r"\\[AZ]|\(\?<[=!]")

KINDS = ("class", "function", "async_function", "method", "async_method")
# What each kind: value admits: the plain kinds include their async forms.
KIND_FAMILIES = {"class": ("class",), "function": ("function", "async_function"),
                 "method": ("method", "async_method"), "async_function": ("async_function",),
                 "async_method": ("async_method",)}
OPERATORS = ("path", "-path", "kind", "sym", "case", "page")

_WORD = re.compile(r"\w+")
_OPERATOR = re.compile(r"(-?[A-Za-z]+):")


class BadQuery(ValueError):
    """A query that cannot be run as written; ``column`` (1-based) says where, 0 if nowhere."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(f"column {column}: {message}" if column else message)
        self.column = column


class QueryTooLarge(BadQuery):
    """More words, or more characters, than a full-text query may have (the message says the limit)."""


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()  # distinct (case-insensitive), as first written
    phrases: tuple[str, ...] = ()
    regexes: tuple[re.Pattern[str], ...] = ()
    paths: tuple[str, ...] = ()  # globs, any of which the path matches
    not_paths: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # definition kinds admitted (families expanded)
    syms: tuple[str, ...] = ()
    case: bool = False
    page: int = 1

    @property
    def definitions_only(self) -> bool:
        return bool(self.kinds or self.syms)

    @property
    def filters_chunks(self) -> bool:
        """Whether it restricts which code (file, definition) may answer, beside what text does."""
        return bool(self.paths or self.not_paths or self.definitions_only)

    def fts_words(self) -> list[str]:
        """The distinct words the full-text index is asked for: the words, then the phrases'."""
        seen: dict[str, str] = {}
        for word in (*self.words, *(w for p in self.phrases for w in _WORD.findall(p))):
            seen.setdefault(word.lower(), word)
        return list(seen.values())

    def free_text(self) -> str:
        """What the words describe, operators left out: the text semantic search embeds."""
        return " ".join((*self.words, *self.phrases, *self.syms))

    def path_admits(self, path: str) -> bool:
        if self.paths and not any(glob_match(g, path) for g in self.paths):
            return False
        return not any(glob_match(g, path) for g in self.not_paths)

    def name_admits(self, name: str) -> bool:
        if not self.syms:
            return True
        if self.case:
            return any(s in name for s in self.syms)
        return any(s.lower() in name.lower() for s in self.syms)

    def definition_admits(self, kind: str, name: str) -> bool:
        return (not self.kinds or kind in self.kinds) and self.name_admits(name)

    def line_admits(self, line: str) -> bool:
        """The line-level terms (phrases, regexes) all hold on ``line``."""
        folded = line if self.case else line.lower()
        if not all((p if self.case else p.lower()) in folded for p in self.phrases):
            return False
        return all(r.search(line[:REGEX_LINE_CHARS]) for r in self.regexes)

    def window_may_hold(self, text: str) -> bool:
        """False when no line of ``text`` can hold the phrases and regexes (and, with case:yes,
        the words as written): one scan of the whole window instead of one per line."""
        folded = text if self.case else text.lower()
        if not all((p if self.case else p.lower()) in folded for p in self.phrases):
            return False
        if self.case and self.words and not any(w in text for w in self.words):
            return False
        if len(text) > WINDOW_SCAN_CHARS:
            return True  # a window of very long lines: each line is read up to REGEX_LINE_CHARS instead
        return all(r.search(text) for r in self.regexes if not _LINE_BOUND.search(r.pattern))

    def required_texts(self) -> list[tuple[str, bool]]:
        """Texts every line a phrase or regex admits contains, each with whether it is matched
        in its case: a window holding none of one of them holds no hit."""
        texts = [(p, self.case) for p in self.phrases]
        texts += [(t, not r.flags & re.IGNORECASE) for r in self.regexes if (t := required_text(r))]
        return texts

    def words_in(self, text: str) -> bool:
        """Every word occurs in ``text`` as a whole word, in the case written when case:yes."""
        return all(whole_words((w,), self.case).search(text) for w in self.words)

    def spans(self, line: str) -> list[tuple[int, int]]:
        """Where the words, phrases and regexes match in ``line``, as sorted, merged (start, end)."""
        found: list[tuple[int, int]] = []
        flags = 0 if self.case else re.IGNORECASE
        if self.words:
            found += [m.span() for m in whole_words(self.words, self.case).finditer(line)]
        for phrase in self.phrases:
            found += [m.span() for m in re.finditer(re.escape(phrase), line, flags)]
        for regex in self.regexes:
            found += [m.span() for m in regex.finditer(line[:REGEX_LINE_CHARS]) if m.end() > m.start()]
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


@functools.lru_cache(maxsize=256)
def whole_words(words: tuple[str, ...], case: bool) -> re.Pattern[str]:
    """Where one of ``words`` stands as a whole word: all of a run of letters, digits and _
    (in the case written if ``case``). Longer words first, so that of two words one of which
    begins the other, the longer is tried where both start."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", 0 if case else re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and (end := glob.find("]", i + 2 if glob[i + 1:i + 2] in ("!", "^") else i + 1)) > 0:
            body = glob[i + 1:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def glob_match(glob: str, path: str) -> bool:
    """Whether a ``path:`` glob matches a relative path: ``*`` any characters (``/`` too),
    ``?`` one, ``[abc]``/``[!abc]`` one of (not of) them; a glob without any of these matches
    a path that contains it."""
    if not any(c in glob for c in "*?["):
        return glob in path
    return _glob_regex(glob).fullmatch(path) is not None


def query_words(query: str) -> list[str]:
    """The distinct words of plain text in the order first seen, repeats (in any case) dropped;
    BadQuery when there is none, QueryTooLarge beyond MAX_QUERY_CHARS or MAX_QUERY_WORDS."""
    _check_length(query)
    seen: dict[str, str] = {}
    for word in _WORD.findall(query):
        seen.setdefault(word.lower(), word)
    if not seen:
        raise BadQuery(f"nothing to search for in {query!r}: give at least one word")
    _check_words(len(seen))
    return list(seen.values())


def _check_length(query: str) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooLarge(f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are allowed")


def _check_words(count: int) -> None:
    if count > MAX_QUERY_WORDS:
        raise QueryTooLarge(f"the query has {count} different words; at most {MAX_QUERY_WORDS} are allowed")


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The text of a quoted string whose opening quote is at ``start``, and the index after
    its closing quote."""
    out, i = [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise BadQuery('this quote is never closed (a " inside a phrase is written \\")', start + 1)


def _regex_source(text: str, start: int) -> tuple[str, int]:
    """The source of a /regex/ whose opening slash is at ``start`` (``\\/`` a slash in it),
    and the index after its closing slash."""
    out, i = [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1] if text[i + 1] == "/" else text[i:i + 2])
            i += 2
            continue
        if c == "/":
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise BadQuery("this /regex/ is never closed (a / inside it is written \\/)", start + 1)


def _nested_repeat(parsed: object, inside: bool = False) -> bool:
    """Whether a parsed regex repeats something that itself repeats without bound, or refers
    back to a group: the shapes whose matching time can explode on one line."""
    for op, arg in parsed:  # type: ignore[attr-defined]
        name = str(op)
        if name == "GROUPREF" or name == "GROUPREF_EXISTS":
            return True
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _low, high, sub = arg
            unbounded = high == sre_parse.MAXREPEAT or high > 100
            if unbounded and inside:
                return True
            if _nested_repeat(sub, inside or unbounded):
                return True
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            if _nested_repeat(arg[-1], inside):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(b, inside) for b in arg[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT") and _nested_repeat(arg[1], inside):
            return True
    return False


def required_text(regex: re.Pattern[str]) -> str:
    """The longest run of characters that every match of ``regex`` holds (its longest row of
    literal characters outside any group, alternative or repetition; "" if none), in the
    regex's own case rule."""
    best = run = ""
    for op, arg in sre_parse.parse(regex.pattern, regex.flags):
        if str(op) == "LITERAL":
            run += chr(arg)
            best = max(best, run, key=len)
        else:
            run = ""
    return best


def _compile(source: str, column: int, case: bool) -> re.Pattern[str]:
    if not source:
        raise BadQuery("an empty /regex/ matches everything: write what to match between the slashes", column)
    if len(source) > MAX_REGEX_CHARS:
        raise QueryTooLarge(f"a /regex/ may have at most {MAX_REGEX_CHARS} characters", column)
    try:
        # A caller's pattern is theirs to write: Python's notes on what a future version may
        # read differently ("Possible nested set") would only fill the owner's journal.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            # MULTILINE: ^ and $ at each line's ends, so a window's text can be searched whole
            compiled = re.compile(source, re.MULTILINE | (0 if case else re.IGNORECASE))
            parsed = sre_parse.parse(source, compiled.flags)
    except re.error as exc:
        where = column + 1 + (exc.pos or 0)
        raise BadQuery(f"not a regular expression: {exc.msg}", where) from None
    if _nested_repeat(parsed):
        raise BadQuery("this /regex/ repeats a repetition (like (a+)+) or refers back to a group: its time "
                       "could explode; write it without", column)
    return compiled


def parse(text: str) -> Query:
    """Read a query (see the module's text); BadQuery says what is wrong and at which column.
    It must have something the index can narrow by: a word, a phrase with a word, sym: or kind:."""
    _check_length(text)
    words: dict[str, str] = {}
    phrases: list[str] = []
    regexes: list[tuple[str, int]] = []
    fields: dict[str, list[tuple[str, int]]] = {op: [] for op in OPERATORS}
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] == '"':
            phrase, i = _quoted(text, i)
            if not _WORD.search(phrase):
                raise BadQuery("a phrase needs at least one word (letters, digits or _) to look for", start + 1)
            phrases.append(phrase)
        elif text[i] == "/":
            source, i = _regex_source(text, i)
            regexes.append((source, start + 1))
        elif (op := _OPERATOR.match(text, i)) and op.group(1).lower() in OPERATORS:
            name, i = op.group(1).lower(), op.end()
            if i < len(text) and text[i] == '"':
                value, i = _quoted(text, i)
            else:
                end = i
                while end < len(text) and not text[end].isspace():
                    end += 1
                value, i = text[i:end], end
            if not value:
                raise BadQuery(f"{name}: needs a value right after the colon", op.end() + 1)
            fields[name].append((value, op.end() + 1))
        elif (op := _OPERATOR.match(text, i)) and text[op.end():op.end() + 1] not in ("", "/", ":") \
                and not text[op.end()].isspace():
            known = ", ".join(f"{o}:" for o in OPERATORS)
            raise BadQuery(f"unknown operator {op.group(1)!r}: the operators are {known} (to search for "
                           f'the text, put the term in quotes: "{op.group(0)}...")', start + 1)
        else:
            while i < len(text) and not text[i].isspace():
                i += 1
            for word in _WORD.findall(text[start:i]):
                words.setdefault(word.lower(), word)
            continue
        if i < len(text) and not text[i].isspace():
            raise BadQuery("expected a space here, after the end of the term", i + 1)
    case = _single(fields["case"], "case", {"yes": True, "no": False})
    page = 1
    if fields["page"]:
        value, column = fields["page"][-1]
        _single(fields["page"], "page", None)
        if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
            raise BadQuery(f"page: takes a page number from 1 to {MAX_PAGE}, not {value!r}", column)
        page = int(value)
    kinds: list[str] = []
    for value, column in fields["kind"]:
        family = KIND_FAMILIES.get(value.lower())
        if family is None:
            raise BadQuery(f"unknown kind {value!r}; kinds are {', '.join(KINDS)}", column)
        kinds += [k for k in family if k not in kinds]
    query = Query(
        words=tuple(words.values()), phrases=tuple(phrases),
        regexes=tuple(_compile(source, column, bool(case)) for source, column in regexes),
        paths=tuple(v for v, _ in fields["path"]), not_paths=tuple(v for v, _ in fields["-path"]),
        kinds=tuple(kinds), syms=tuple(v for v, _ in fields["sym"]), case=bool(case), page=page)
    _check_words(len(query.fts_words()))
    if not query.fts_words() and not query.definitions_only:
        if regexes:
            raise BadQuery("a /regex/ only filters what the index found: add a word, a \"phrase\", sym: or "
                           "kind: beside it", regexes[0][1])
        raise BadQuery(f"nothing to search for in {text!r}: give at least one word, a \"phrase\", sym: or kind:")
    return query


def _single(given: list[tuple[str, int]], name: str, values: dict[str, bool] | None) -> bool | None:
    if len(given) > 1:
        raise BadQuery(f"{name}: is given twice", given[1][1])
    if not given or values is None:
        return None
    value, column = given[0]
    if value.lower() not in values:
        raise BadQuery(f"{name}: takes {' or '.join(values)}, not {value!r}", column)
    return values[value.lower()]
