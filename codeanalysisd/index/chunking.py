"""Which pieces of a file are embedded for semantic search, and their text: the one place for it.

A chunk is a definition (a function or method; a class's header and docstring; a module's
docstring), cut into windows the model can read: MiniLM reads at most 256 tokens, and 94 %
of 40-line pieces of code are longer, so a window is 25 lines, and each window after the
first repeats the definition's first line so it still says what it belongs to. A function
or method with a docstring and more code after it also has a header chunk, its signature and
docstring alone: what the function is for, said once, without its body diluting it (measured:
bench/retrieval.py). Search ranks definitions, not chunks (index/ranking.py).

A chunk is known by the first KEY_BYTES bytes of the sha256 of its text, which holds no path
and no line number: a renamed or moved file, or a re-index of unchanged code, yields the same
keys, and a vector already stored for a key is not computed again.
"""

from __future__ import annotations

import hashlib
import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

WINDOW = 25
# Moves whenever chunks() would cut a stored file differently: files chunked by an older
# version are cut again when the owner opens the database (indexing.rechunk_stale).
VERSION = 1  # 1: header chunks
_FUNCTIONS = frozenset({"function", "async_function", "method", "async_method"})
_NEWLINE = re.compile(r"\r\n|\r|\n")

# 128 bits: two of a billion distinct chunks share a key with odds of about 10^-21, and each
# key is stored with its chunk, its index entry and its vector's row (half a sha256 saves
# 2.7 MB of the standard library's index, bench/db_size.py).
KEY_BYTES = 16


def source_lines(text: str) -> list[str]:
    """The lines of a source as Python counts them (\\n, \\r\\n or \\r), so line numbers
    from ``ast`` index them; str.splitlines also splits at form feeds and other characters
    that Python keeps inside a line."""
    # str.split is ten times the regular expression's speed, and most files hold no \r
    lines = text.split("\n") if "\r" not in text else _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(frozen=True)
class Definition:
    """What chunking needs of a definition (from the parser's facts or the definitions table)."""

    qualname: str
    kind: str
    line: int  # of the def/class keyword
    end_line: int
    decorators: int  # how many; they sit on the lines just above ``line``
    parent: str | None
    documented: bool  # the parser found a docstring: only then is its end looked for in the lines


@dataclass(frozen=True)
class Chunk:
    symbol: str  # qualified name; "" for the module's own chunk
    kind: str  # the definition's kind, or "module"
    start_line: int
    end_line: int
    head_line: int  # 0, or the definition's first line, repeated before a later window
    key: bytes  # the sha256 of text(), its first KEY_BYTES

    def text(self, lines: Sequence[str]) -> str:
        return chunk_text(lines, self.start_line, self.end_line, self.head_line)


def chunk_text(lines: Sequence[str], start: int, end: int, head: int) -> str:
    body = "\n".join(lines[start - 1:end])
    return f"{lines[head - 1]}\n{body}" if head else body


def _chunk(lines: Sequence[str], symbol: str, kind: str, start: int, end: int, head: int = 0) -> Chunk | None:
    # Blank lines at either end change nothing the model reads but would change the key.
    while start <= end and not lines[start - 1].strip():
        start += 1
    while end >= start and not lines[end - 1].strip():
        end -= 1
    if start > end:
        return None
    key = hashlib.sha256(chunk_text(lines, start, end, head).encode("utf-8", "surrogatepass")).digest()[:KEY_BYTES]
    return Chunk(symbol, kind, start, end, head, key)


def chunks(lines: Sequence[str], definitions: Iterable[Definition], module_docstring: bool) -> list[Chunk]:
    """The chunks of a file, in line order."""
    defs = sorted(definitions, key=lambda d: d.line)
    kinds = {d.qualname: d.kind for d in defs}
    count = len(lines)
    out: list[Chunk | None] = []
    if module_docstring:
        first = min((d.line - d.decorators for d in defs), default=count + 1)
        out.append(_chunk(lines, "", "module", 1, min(first - 1, WINDOW, count)))
    for d in defs:
        if d.parent is not None and kinds.get(d.parent) in _FUNCTIONS:
            continue  # a nested definition is read as part of the function around it
        end = min(d.end_line, count)
        if d.kind == "class":
            children = [c.line - c.decorators for c in defs if c.parent == d.qualname]
            header_end = min([end, d.line + WINDOW - 1, *(line - 1 for line in children)])
            out.append(_chunk(lines, d.qualname, d.kind, d.line, header_end))
            continue
        # Where a docstring ends is looked for only in definitions the parser says have one
        # (two in three have none: the owner's write skips them).
        doc_end = _docstring_end(lines, d.line, min(end, d.line + WINDOW - 1)) if d.documented else None
        if doc_end is not None and doc_end < min(end, d.line + WINDOW - 1):
            out.append(_chunk(lines, d.qualname, d.kind, d.line, doc_end))
        for start in range(d.line, end + 1, WINDOW):
            out.append(_chunk(lines, d.qualname, d.kind, start, min(start + WINDOW - 1, end),
                              d.line if start != d.line else 0))
    return [c for c in out if c is not None]


def _docstring_end(lines: Sequence[str], start: int, end: int) -> int | None:
    """The last line of the docstring of the function whose ``def`` is on line ``start``,
    if it has one that ends by line ``end``."""
    found = _plain_docstring_end(lines, start, end)
    return _tokenized_docstring_end(lines, start, end) if isinstance(found, _Unsure) else found


class _Unsure:
    """The plain scan's "ask the tokenizer": None is an answer of its own (no docstring)."""


_UNSURE = _Unsure()
_HEADER_ODD = re.compile(r"['\"#\\]")  # a header line with these is left to the tokenizer
_HEADER_MARKS = re.compile(r"[()\[\]{}:]")
_STRING_START = re.compile(r"([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


def _plain_docstring_end(lines: Sequence[str], start: int, end: int) -> int | _Unsure | None:
    """_tokenized_docstring_end's answer without the tokenizer, for the plain case (96 % of
    the standard library's documented functions): a header holding no string, comment
    or backslash, and a docstring that is the first thing on a line of its own; _UNSURE for
    anything else. Python's lexical rules make it exact there: the header ends at its first
    ":" outside brackets, and a string at its first closing quote not after a backslash."""
    depth, line = 0, start
    header_end = -1
    while header_end < 0:
        if line > end:
            return None  # the header is longer than the lines given, as the tokenizer finds
        text = lines[line - 1]
        if _HEADER_ODD.search(text):
            return _UNSURE
        for mark in _HEADER_MARKS.finditer(text):
            c = mark[0]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif depth == 0:
                header_end = mark.start()
                break
        else:
            line += 1
    if text[header_end + 1:].strip():
        return _UNSURE  # a body on the header's line
    for body in range(line + 1, end + 1):
        text = lines[body - 1].strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("\\"):
            return _UNSURE  # a line continued: the tokenizer joins it to the next
        opening = _STRING_START.match(text)
        if opening is None:
            return None  # code, not a string, comes first
        if "f" in opening[1].lower():
            return None  # an f-string is not a docstring
        return _string_end(lines, body, end, len(lines[body - 1]) - len(lines[body - 1].lstrip()) + opening.end(),
                           opening[2])
    return None


def _string_end(lines: Sequence[str], line: int, end: int, at: int, quote: str) -> int | _Unsure | None:
    """The line on which the string opened by ``quote`` just before column ``at`` of ``line`` closes."""
    while line <= end:
        text = lines[line - 1]
        i = at
        while (close := text.find(quote, i)) >= 0:
            escape = text.find("\\", i, close)
            if escape < 0:
                return line
            i = escape + 2
        escape = text.find("\\", i)
        while escape >= 0 and escape + 1 < len(text):
            escape = text.find("\\", escape + 2)
        if len(quote) == 1 or escape >= 0:
            return _UNSURE  # a one-quote string left open or continued by a backslash
        line, at = line + 1, 0
    return None  # a docstring longer than the lines given


def _tokenized_docstring_end(lines: Sequence[str], start: int, end: int) -> int | None:
    """_docstring_end by Python's tokenizer: the rule, for any lines (six times the plain
    scan's time on the standard library's docstrings)."""
    indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
    # dedented by the def line's indent, so the tokenizer meets no unexpected indent
    text = "".join(line[min(indent, len(line) - len(line.lstrip())):] + "\n" for line in lines[start - 1:end])
    depth, header_done = 0, False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if not header_done:
                if tok.type == tokenize.OP and tok.string in "([{":
                    depth += 1
                elif tok.type == tokenize.OP and tok.string in ")]}":
                    depth -= 1
                elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
                    header_done = True
                continue
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT):
                continue
            if tok.type == tokenize.STRING and "f" not in tok.string.split(tok.string[-1], 1)[0].lower():
                return start + tok.end[0] - 1
            return None
    except (tokenize.TokenError, SyntaxError):
        pass  # a docstring longer than the lines given, or code the tokenizer refuses: no header
    return None
