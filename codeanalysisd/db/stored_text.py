"""A file's text as the index counts its lines, read back from its stored bytes, and the
text of its full-text windows.

The chunks the vectorizer embeds are cut from the stored bytes (``blobs``) by the rule that
cut them at indexing, and the full-text windows by the same ``window``. Each window's text is
kept on its own, packed (``window_texts``), not cut from its file's bytes when a query reads
it: a query reads thousands of windows in rank order, from most files, and cutting each from
its file's bytes made regex queries three to five times slower (``bench/query_language.py``);
unpacking a window alone costs a few microseconds (``bench/window_text.py``).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable
from typing import cast

import apsw

from codeanalysisd.db import packing
from codeanalysisd.db.window_dictionary import DICTIONARY
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


def stored_lines(db: apsw.Connection, file_id: int, packed: bool = True) -> list[str] | None:
    """The lines of a file's stored content, as its index rows count them (None: not text).
    ``packed`` False: read where blobs are not packed yet (a migration before PACKED_BLOBS)."""
    row = db.execute("SELECT b.data, f.encoding FROM files f JOIN blobs b ON b.sha256 = f.sha256 WHERE f.id = ?",
                     (file_id,)).fetchone()
    text = decoded(packing.unpack(row[0]) if packed else bytes(row[0]), row[1]) if row else None
    return chunking.source_lines(text) if text is not None else None


# Files whose lines one call keeps decoded: a page of chunks comes a few files at a time, and
# a page must not hold every file it read.
KEPT_FILES = 64


def lines_of(db: apsw.Connection) -> Lines:
    """stored_lines for the length of one call (a page of chunks), the files read last kept
    decoded: the chunks of one file share them."""
    return functools.lru_cache(maxsize=KEPT_FILES)(functools.partial(stored_lines, db))


def window(lines: list[str] | None, start_line: int) -> str:
    """The text of the window of lines that starts at ``start_line`` (1-based), as it was indexed."""
    return "\n".join(lines[start_line - 1:start_line - 1 + WINDOW]) if lines else ""


def pack_window(text: str) -> bytes:
    """A window's text as ``window_texts`` keeps it: raw DEFLATE (a zlib stream's six bytes of
    header and checksum are a twentieth of a packed window) with DICTIONARY preset."""
    packer = zlib.compressobj(packing.LEVEL, zlib.DEFLATED, -15, zdict=DICTIONARY)
    return packer.compress(text.encode()) + packer.flush()


def unpack_window(packed: bytes) -> str:
    unpacker = zlib.decompressobj(-15, zdict=DICTIONARY)
    return (unpacker.decompress(packed) + unpacker.flush()).decode()


def repack_windows(db: apsw.Connection) -> int:
    """Migration WINDOW_DICTIONARY's step: every window of ``window_texts``, each zlib-packed
    alone until then, packed by pack_window; returns how many."""
    # All read before any is written; the types are the columns'.
    rows = cast(list[tuple[int, bytes]], db.execute("SELECT chunk, packed FROM window_texts").fetchall())
    db.executemany("UPDATE window_texts SET packed = ? WHERE chunk = ?",
                   ((pack_window(packing.unpack(packed).decode()), chunk) for chunk, packed in rows))
    return len(rows)


def stored_windows(db: apsw.Connection, file_id: int) -> dict[int, tuple[int, str]]:
    """A file's full-text windows as the index keeps them: first line → (window id, text)."""
    # The types are the columns'.
    rows = cast(Iterable[tuple[int, int, bytes]], db.execute(
        "SELECT c.id, c.start_line, w.packed FROM text_chunks c JOIN window_texts w ON w.chunk = c.id "
        "WHERE c.file_id = ?", (file_id,)))
    return {start: (chunk, unpack_window(packed)) for chunk, start, packed in rows}


class WindowText:
    """SQL's window_text(packed), registered on every connection (store._connect): a window's
    text, for conditions SQLite evaluates on it. A condition names the text several times
    (instr, lower, length) and SQLite calls the function for each; the last window unpacked
    is kept, so a row is unpacked once."""

    def __init__(self) -> None:
        self._packed = b""
        self._text = ""

    def __call__(self, *args: apsw.SQLiteValue) -> str | None:
        (packed,) = args
        if not isinstance(packed, bytes):
            return None
        if packed != self._packed:
            self._text, self._packed = unpack_window(packed), packed
        return self._text
