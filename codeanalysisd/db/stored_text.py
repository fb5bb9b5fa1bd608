"""A file's text as the index counts its lines, read from its stored bytes.

The index keeps a file's content once, in ``blobs``: the full-text index holds only its
tokens (a contentless FTS5 table), so a hit's line, a window a filter reads and a chunk the
vectorizer embeds are all cut from the stored bytes, by the rule that cut them at indexing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import apsw

from codeanalysisd.index import chunking

# Full text is indexed in windows of this many lines (indexing.write_file): small enough to
# point at a line, large enough that BM25 ranks by context and the FTS table stays compact.
WINDOW = 30

Lines = Callable[[int], "list[str] | None"]


def decoded(source: bytes, encoding: str | None) -> str | None:
    """The text of stored bytes in the encoding found at indexing (None: not text)."""
    if encoding is None:
        return None
    try:
        return source.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def stored_source(db: apsw.Connection, file_id: int) -> str | None:
    """A file's stored content as text (None: not text)."""
    row = db.execute("SELECT b.data, f.encoding FROM files f JOIN blobs b ON b.sha256 = f.sha256 WHERE f.id = ?",
                     (file_id,)).fetchone()
    return decoded(bytes(row[0]), row[1]) if row else None


def stored_lines(db: apsw.Connection, file_id: int) -> list[str] | None:
    """The lines of a file's stored content, as its index rows count them (None: not text)."""
    text = stored_source(db, file_id)
    return chunking.source_lines(text) if text is not None else None


# Files whose lines one call keeps decoded: a query's hits and a page of chunks come a few
# files at a time, and a query that reads thousands of windows must not hold them all.
KEPT_FILES = 64


def lines_of(db: apsw.Connection) -> Lines:
    """stored_lines for the length of one call (a query, a page of chunks), the files read
    last kept decoded: hits and windows of one file share them."""
    return functools.lru_cache(maxsize=KEPT_FILES)(functools.partial(stored_lines, db))


def window(lines: list[str] | None, start_line: int) -> str:
    """The text of the window of lines that starts at ``start_line`` (1-based), as it was indexed."""
    return "\n".join(lines[start_line - 1:start_line - 1 + WINDOW]) if lines else ""
