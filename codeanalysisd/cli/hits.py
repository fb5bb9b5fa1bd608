"""How codeanalysisctl shows a search hit: what matched highlighted on a terminal, and grep's
``-C N`` lines of context around it, from the file's content as the index stores it.

Pure: the caller fetches the source (``GetFileSource``, which answers only what the caller may
read) and decides whether to colour; the spans come from the query language's own reading of
the query (``Query.spans``), so what is highlighted is what the service matched by.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

from codeanalysisd.index import chunking
from codeanalysisd.query_language import Query

# How text from the index is made safe for a terminal: (text, control characters kept)
# -> text; a line of source keeps its tabs (main.printable).
Escape = Callable[[str, str], str]
SOURCE_KEEPS = "\t"

# grep's default colours (GREP_COLORS): matched text bold red, file name magenta, line
# number green, separators cyan.
MATCH, NAME, NUMBER, SEPARATOR, RESET = "\x1b[1;31m", "\x1b[35m", "\x1b[32m", "\x1b[36m", "\x1b[0m"
GROUP_SEPARATOR = "--"
MAX_CONTEXT = 100  # lines each side; more is a file, which `codeanalysisctl show` prints


def use_color(mode: str, stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """``--color``: always, never, or auto: only to a terminal, and never with NO_COLOR set
    to anything (no-color.org)."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    return stream.isatty() and not environ.get("NO_COLOR")


def highlight(line: str, query: Query | None, color: bool, escape: Escape) -> str:
    """``line`` escaped for the terminal (``escape``), what the query matches in it wrapped in
    the match colour when ``color``. Spans are found on the raw text and each piece escaped
    on its own, so an escape never splits a highlight."""
    if not color or query is None:
        return escape(line, SOURCE_KEEPS)
    out, at = [], 0
    for start, end in query.spans(line):
        out += [escape(line[at:start], SOURCE_KEEPS), MATCH, escape(line[start:end], SOURCE_KEEPS), RESET]
        at = end
    out.append(escape(line[at:], SOURCE_KEEPS))
    return "".join(out)


@dataclass(frozen=True)
class Shown:
    """One hit as printed: its location, and the line (or lines, with context)."""

    project: str
    path: str
    line: int
    symbol: str
    text: str


def location(hit: Shown, number: int, separator: str, color: bool, escape: Escape) -> str:
    """``project:path:line`` (``-`` instead of ``:`` on a line of context, as grep writes it)."""
    name = escape(f"{hit.project}:{hit.path}", "")
    if not color:
        return f"{name}{separator}{number}"
    return f"{NAME}{name}{RESET}{SEPARATOR}{separator}{RESET}{NUMBER}{number}{RESET}"


def with_symbol(hit: Shown, escape: Escape) -> str:
    return f" ({escape(hit.symbol, '')})" if hit.symbol else ""


def hit_line(hit: Shown, query: Query | None, color: bool, escape: Escape) -> str:
    """``project:path:line (symbol): text``, the text highlighted."""
    colon = f"{SEPARATOR}:{RESET}" if color else ":"
    return (f"{location(hit, hit.line, ':', color, escape)}{with_symbol(hit, escape)}{colon} "
            f"{highlight(hit.text, query, color, escape)}")


def context(hit: Shown, source: list[str] | None, around: int, query: Query | None, color: bool,
            escape: Escape) -> list[str]:
    """The hit with ``around`` lines before and after it, as grep -C prints them: context as
    ``project:path-N-text``, the hit as ``project:path:N (symbol): text`` and in full. Without
    the source (no longer stored, or not readable) the hit alone, as without -C."""
    if source is None or not 1 <= hit.line <= len(source):
        return [hit_line(hit, query, color, escape)]
    first, last = max(1, hit.line - around), min(len(source), hit.line + around)
    lines = []
    dash = f"{SEPARATOR}-{RESET}" if color else "-"
    for n in range(first, last + 1):
        text = source[n - 1]
        if n == hit.line:
            lines.append(hit_line(Shown(hit.project, hit.path, n, hit.symbol, text), query, color, escape))
        else:
            lines.append(f"{location(hit, n, '-', color, escape)}{dash}{escape(text, SOURCE_KEEPS)}")
    return lines


def source_lines(data: bytes) -> list[str]:
    """A file's stored bytes as lines, numbered as the index numbers them (bytes that are not
    UTF-8 shown escaped)."""
    return chunking.source_lines(data.decode("utf-8", "backslashreplace"))
