"""Answers sized for an agent: bounded in characters, paged with an opaque cursor, never cut
without saying so.

Every answer is one JSON object; its text (the compact JSON an agent reads) is at most
``max_chars`` characters. What does not fit comes with the next page (``more``,
``next_cursor``); a result too long to fit alone has its longest text cut, and says where;
a line of a file too long to fit is continued on the next page from where it was cut.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from codeanalysisd.cli.mcp.args import invalid

DEFAULT_CHARS = 8_000
MAX_CHARS = 40_000
MIN_CHARS = 1_000
CURSOR_VERSION = 1
NOTE_ROOM = 200  # characters a page's own note and cursor may add to an answer without items
MAX_CURSOR = 4_096  # characters: a cursor holds a query (at most ~1,100) and a position

Answer = dict[str, Any]
Item = dict[str, Any]


# One encoder for every answer: json.dumps with options builds a new one on each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """The text of an answer: compact JSON, characters as they are (so its length is what
    an agent reads)."""
    return _ENCODER.encode(value)


def note(answer: Answer, text: str) -> None:
    answer.setdefault("notes", []).append(text)


# --------------------------------------------------------------------- cursors
@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the query it continues (the arguments that define what is
    answered) and the position in the answer."""

    tool: str
    query: dict[str, Any]
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # a tool's own position (a column, a version)

    def encode(self) -> str:
        raw = dumps({"v": CURSOR_VERSION, "t": self.tool, "q": self.query, "o": self.offset, "x": self.extra})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, tool: str, text: str) -> Cursor:
        """A cursor this tool handed out; anything else is a bad argument."""
        bad = invalid("cursor is not one this tool handed out: pass next_cursor from its last answer unchanged, "
                      "or leave cursor out to start from the beginning")
        if len(text) > MAX_CURSOR:
            raise bad
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, binascii.Error):
            raise bad from None
        if not (isinstance(raw, dict) and raw.get("v") == CURSOR_VERSION and isinstance(raw.get("q"), dict)
                and isinstance(raw.get("x", {}), dict) and isinstance(raw.get("o"), int)
                and not isinstance(raw.get("o"), bool) and raw["o"] >= 0):
            raise bad
        if raw.get("t") != tool:
            raise invalid(f"cursor continues {raw.get('t')!r}, not {tool}: pass it to that tool")
        return cls(tool, raw["q"], raw["o"], raw.get("x", {}))


def resume(tool: str, args: Mapping[str, Any], given: Mapping[str, Any], query_keys: Sequence[str]
           ) -> tuple[dict[str, Any], int, dict[str, Any]]:
    """The query to answer and where to start: from ``cursor`` when one is given (an argument
    also given must then be the cursor's), else from the arguments at the start. ``args`` are
    the checked arguments with defaults, ``given`` what the caller actually passed."""
    text = args.get("cursor") or ""
    if not text:
        return {k: args[k] for k in query_keys}, 0, {}
    cursor = Cursor.decode(tool, text)
    if set(cursor.query) != set(query_keys):
        raise invalid("cursor is not one this tool handed out: leave cursor out to start from the beginning")
    differ = [k for k in query_keys if k in given and given[k] is not None and given[k] != cursor.query[k]]
    if differ:
        raise invalid(f"cursor continues another query ({', '.join(differ)} differ); give the same arguments "
                      "with it, or leave cursor out to start a new one")
    return cursor.query, cursor.offset, cursor.extra


# --------------------------------------------------------------------- paths
def path_matcher(glob: str) -> Callable[[str], bool]:
    """A glob on the path relative to the project root. ``*`` matches across directories
    (``tests/*`` is everything under tests/), and a glob ending in ``/`` is a directory."""
    if not glob:
        return lambda path: True
    pattern = glob.lstrip("/")
    if pattern.endswith("/"):
        pattern += "*"
    return lambda path: fnmatch.fnmatchcase(path, pattern)


# --------------------------------------------------------------------- bounding
def fits(answer: Answer, max_chars: int) -> bool:
    return len(dumps(answer)) <= max_chars


def _largest(count: int, ok: Callable[[int], bool]) -> int:
    """The largest n in 0..count with ok(n), for ok true up to some n and false after."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _cut_first(item: Item, cuttable: Sequence[str], too_long: Callable[[Item], int]) -> Item | None:
    """The item with its longest cuttable text shortened until the answer fits (saying so in
    ``cut``), or None if even an empty text does not fit."""
    fields = [f for f in cuttable if isinstance(item.get(f), str) and item[f]]
    if not fields:
        return None
    name = max(fields, key=lambda f: len(item[f]))
    full: str = item[name]

    def shortened(keep: int) -> Item:
        return {**item, name: full[:keep], "cut": f"{name}: the first {keep} of {len(full)} characters"}

    keep = _largest(len(full), lambda k: too_long(shortened(k)) <= 0)
    return shortened(keep) if too_long(shortened(keep)) <= 0 else None


def page_answer(items: Sequence[Item], shown: list[Item], max_chars: int,
                build: Callable[[list[Item], bool], Answer], compact: bool) -> Answer:
    """The answer showing ``shown``, the first of ``items``, with the notes fit adds."""
    out = build(shown, compact)
    if compact:
        note(out, "freshness is shortened to fit max_chars; index_status tells why a project is stale")
    left = len(items) - len(shown)
    if left:
        note(out, f"{left} more result(s) of this page did not fit in max_chars={max_chars}; "
                  "next_cursor continues with them")
    return out


class _Lengths:
    """The length of the text of the answer showing the first n items, for any n, each item
    serialized once: the answer is serialized with its list of items empty, and the items'
    own texts added (JSON puts nothing but commas between them). Serializing whole answers to
    find how many fit cost half of a long tool call's time in the server."""

    def __init__(self, items: Sequence[Item], answer: Callable[[list[Item]], Answer]) -> None:
        self.items, self.answer = items, answer
        self.ends = [0]  # self.ends[n]: the characters of the first n items' texts together

    def text_of_items(self, n: int) -> int:
        while len(self.ends) <= n:
            self.ends.append(self.ends[-1] + len(dumps(self.items[len(self.ends) - 1])))
        return self.ends[n] + max(n - 1, 0)

    def __call__(self, n: int) -> int:
        shown = list(self.items[:n])
        out = self.answer(shown)
        key = next((k for k, v in out.items() if v is shown), None)
        if key is None:  # a build that copies the items: its answer measured whole
            return len(dumps(out))
        return len(dumps({**out, key: []})) + self.text_of_items(n)


def fit(items: Sequence[Item], max_chars: int, build: Callable[[list[Item], bool], Answer],
        cuttable: Sequence[str] = ()) -> Answer:
    """The answer holding as many of ``items`` (in order) as fit in ``max_chars``.

    ``build(shown, compact)`` makes the whole answer for the items shown, with ``more`` and
    ``next_cursor`` continuing after the last of them; ``compact`` asks it to say less of
    the rest (freshness without the reasons) when even an answer without items is too long.
    """
    compact = not fits(build([], False), max_chars)

    def answer(shown: list[Item]) -> Answer:
        return page_answer(items, shown, max_chars, build, compact)

    length = _Lengths(items, answer)
    # Each item's own length (and its comma) puts the count within a step or two of the
    # answer; the answer's length confirms it. Items past the first that cannot fit are never
    # serialized: of a page of 50 long rows, a dozen may fit.
    room = max_chars - length(0) - NOTE_ROOM
    count = 0
    while count < len(items) and length.text_of_items(count + 1) <= room:
        count += 1
    if count == len(items) and length(count) <= max_chars:
        return answer(list(items))
    while count and length(count) > max_chars:
        count -= 1
    while count < len(items) and length(count + 1) <= max_chars:
        count += 1
    if count or not items:
        return answer(list(items[:count]))
    first = _cut_first(items[0], cuttable, lambda item: len(dumps(answer([item]))) - max_chars)
    if first is not None:
        return answer([first])
    out = answer([])
    note(out, f"the next result alone is longer than max_chars={max_chars}; ask again with a larger max_chars "
              f"(at most {MAX_CHARS})")
    return out


# --------------------------------------------------------------------- lines
def lines_of(text: str) -> list[str]:
    """The lines of a file as Python numbers them (ending in \\n, \\r\\n or \\r), each with its end."""
    return io.StringIO(text, newline="").readlines()


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (1-based), the first from ``column`` on; ``next`` is where the
    following page starts, (line, column), or None at the end of what was asked for."""

    text: str
    first: int
    last: int
    column: int
    next: tuple[int, int] | None


def fit_lines(lines: Sequence[str], first: int, column: int, last: int, max_chars: int,
              build: Callable[[Span], Answer]) -> Answer:
    """As many whole lines from ``first`` (its text from ``column``) up to ``last`` as fit; if
    not even that one does, as much of it as fits, the next page going on from there."""
    def span(count: int) -> Span:
        end = first + count - 1
        text = lines[first - 1][column:] + "".join(lines[first:end])
        return Span(text, first, end, column, (end + 1, 0) if end < last else None)

    count = _largest(last - first + 1, lambda n: n == 0 or fits(build(span(n)), max_chars))
    if count:
        return build(span(count))
    line = lines[first - 1]

    def part(keep: int) -> Answer:
        out = build(Span(line[column:column + keep], first, first, column, (first, column + keep)))
        note(out, f"line {first} is {len(line)} characters long: shown from column {column + 1} to "
                  f"{column + keep}; next_cursor continues it")
        return out

    return part(_largest(len(line) - column, lambda k: fits(part(k), max_chars)))
