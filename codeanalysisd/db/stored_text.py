"""A content as the index keeps it, a file's text as the index counts its lines, and the
text of its full-text windows: the one place for each.

The index keeps a content once (``blobs``, by sha256) as the bytes of its windows of WINDOW
lines (``blob_windows``), each packed alone: raw DEFLATE with a preset dictionary of Python
(db/window_dictionary.py). Joined, a content's windows are its bytes; decoded, one window is
the text a search shows and filters on. A query reads thousands of windows in rank order,
from most files, and cutting each from its whole file's bytes made regex queries three to
five times slower (bench/query_language.py); unpacking one window costs a few microseconds.
Before schema 23 the index kept both, every content packed whole and each window's text
packed again beside it (bench/content_windows.py).

A content whose windows do not each decode alone to the text they hold in the whole (a byte
order mark where a window begins, a stateful encoding: ``alone`` 0) is kept as one window,
its whole bytes, and a window's text is cut from them. A window's lines end where Python's
do (\\n, \\r\\n, \\r), so its bytes are cut at the same lines whatever the encoding.

The chunks the vectorizer embeds are cut from a content's lines (stored_lines) by the rule
that cut them at indexing.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Literal, cast

import apsw

from codeanalysisd.db import packing
from codeanalysisd.db.rows import returned_id
from codeanalysisd.db.window_dictionary import DICTIONARY
from codeanalysisd.index import chunking

# Full text is indexed in windows of this many lines (indexing.write_file): small enough to
# point at a line, large enough that BM25 ranks by context and the FTS table stays compact.
WINDOW = 30
# Encodings in which a window's bytes decode to the same text alone as within the whole:
# UTF-8 never has a byte of \\n or \\r inside a character (others are checked, content_rows).
_SELF_SYNCHRONIZING = frozenset({"utf-8", "ascii"})
_LINE_END = re.compile(rb"(\r\n|\r|\n)")

Lines = Callable[[int], "list[str] | None"]
# How a content is kept: since schema 23 as its windows; before, whole in blobs.data, packed
# (schema 14 on) or plain (the migrations' steps before PACKED_BLOBS read it so).
Kept = Literal["windows", "packed", "plain"]


def decoded(source: bytes, encoding: str | None) -> str | None:
    """The text of stored bytes in the encoding found at indexing (None: not text)."""
    if encoding is None:
        return None
    try:
        return source.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def window(lines: list[str] | None, start_line: int) -> str:
    """The text of the window of lines that starts at ``start_line`` (1-based), as it was indexed."""
    return "\n".join(lines[start_line - 1:start_line - 1 + WINDOW]) if lines else ""


def byte_windows(data: bytes) -> list[bytes]:
    """``data`` cut after every WINDOW-th line end (\\n, \\r\\n or \\r, as source_lines counts
    lines): each window's bytes, in order, none empty; joined, they are ``data``."""
    if b"\r" not in data:
        parts = data.split(b"\n")
        ends = [b"\n".join(parts[at:at + WINDOW]) for at in range(0, len(parts), WINDOW)]
        cut = [end + b"\n" for end in ends[:-1]] + ends[-1:]
    else:
        pieces = _LINE_END.split(data)  # line, end, line, end, ..., line
        whole = [line + end for line, end in zip(pieces[0::2], [*pieces[1::2], b""], strict=True)]
        cut = [b"".join(whole[at:at + WINDOW]) for at in range(0, len(whole), WINDOW)]
    return [piece for piece in cut if piece]


def window_text(raw: bytes, encoding: str | None) -> str | None:
    """The text of a window's bytes (byte_windows), as ``window`` gives it from the whole's lines."""
    text = decoded(raw, encoding)
    return None if text is None else "\n".join(chunking.source_lines(text))


def pack_window(raw: bytes) -> bytes:
    """A window's bytes as ``blob_windows`` keeps them: raw DEFLATE (a zlib stream's six bytes
    of header and checksum are a twentieth of a packed window) with DICTIONARY preset, at the
    contents' level (the standard library's windows: 11.8 MB at level 6, 12.4 at level 3,
    bench/db_size.py)."""
    packer = zlib.compressobj(packing.LEVEL, zlib.DEFLATED, -15, zdict=DICTIONARY)
    return packer.compress(raw) + packer.flush()


def unpack_window(packed: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15, zdict=DICTIONARY)
    return unpacker.decompress(packed) + unpacker.flush()


def content_rows(data: bytes, encoding: str | None, lines: list[str] | None) -> tuple[list[bytes], bool]:
    """A content's rows of ``blob_windows`` (packed, in order) and whether each window is read
    alone (``alone``; if not, the one row is the whole content). ``lines``: its text's, None
    if it is not text."""
    raws = byte_windows(data)
    alone = lines is not None and (encoding in _SELF_SYNCHRONIZING or (
        len(raws) == (len(lines) + WINDOW - 1) // WINDOW
        and all(window_text(raw, encoding) == window(lines, 1 + n * WINDOW) for n, raw in enumerate(raws))))
    return [pack_window(raw) for raw in (raws if alone else [data] if data else [])], alone


def keep_content(db: apsw.Connection, sha256: bytes, data: bytes, encoding: str | None,
                 lines: list[str] | None) -> None:
    """A content kept in the index if it is not yet, with its text's ``lines`` (None: not
    text). One kept whole because its text was not known (a deleted file's, from the version
    store) is kept again as its windows once it is."""
    row = db.execute("SELECT id, alone FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    if row is not None and (row[1] or lines is None):
        return
    rows, alone = content_rows(data, encoding, lines)
    if row is None:
        _add(db, "blobs", sha256, len(data), rows, alone)
    elif alone:
        db.execute("DELETE FROM blob_windows WHERE blob = ?", (row[0],))
        db.execute("UPDATE blobs SET alone = 1 WHERE id = ?", (row[0],))
        _add_windows(db, row[0], rows)


def _add(db: apsw.Connection, table: str, sha256: bytes, size: int, rows: list[bytes], alone: bool) -> None:
    """A content's row of ``table`` (``blobs``; ``blobs_windowed`` in migration 23) and its windows."""
    blob = returned_id(db.execute(f"INSERT INTO {table} (sha256, size, alone) VALUES (?, ?, ?) RETURNING id",
                                  (sha256, size, int(alone))))
    _add_windows(db, blob, rows)


def _add_windows(db: apsw.Connection, blob: int, rows: list[bytes]) -> None:
    db.executemany("INSERT INTO blob_windows (blob, n, packed) VALUES (?, ?, ?)",
                   ((blob, n, packed) for n, packed in enumerate(rows)))


def content(db: apsw.Connection, sha256: bytes, kept: Kept = "windows") -> bytes | None:
    """The bytes of a content the index keeps, or None."""
    if kept != "windows":
        row = db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else packing.unpack(row[0]) if kept == "packed" else bytes(row[0])
    row = db.execute("SELECT id FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return None
    # The types are the columns'.
    rows = cast(Iterable[tuple[bytes]], db.execute("SELECT packed FROM blob_windows WHERE blob = ? ORDER BY n",
                                                   (row[0],)))
    return b"".join(unpack_window(packed) for (packed,) in rows)


def window_rows(db: apsw.Connection, sha256: bytes) -> dict[int, bytes]:
    """A content's windows packed, by number, if each is read alone; {} if not."""
    # The types are the columns'.
    return dict(cast(Iterable[tuple[int, bytes]], db.execute(
        "SELECT w.n, w.packed FROM blobs b JOIN blob_windows w ON w.blob = b.id WHERE b.sha256 = ? AND b.alone",
        (sha256,))))


def stored_lines(db: apsw.Connection, file_id: int, kept: Kept = "windows") -> list[str] | None:
    """The lines of a file's stored content, as its index rows count them (None: not text)."""
    # The types are the columns'.
    row = cast(tuple[bytes, str | None] | None,
               db.execute("SELECT sha256, encoding FROM files WHERE id = ?", (file_id,)).fetchone())
    if row is None:
        return None
    data = content(db, row[0], kept)
    text = decoded(data, row[1]) if data is not None else None
    return chunking.source_lines(text) if text is not None else None


# Files whose lines one call keeps decoded: a page of chunks comes a few files at a time, and
# a page must not hold every file it read.
KEPT_FILES = 64


def lines_of(db: apsw.Connection) -> Lines:
    """stored_lines for the length of one call (a page of chunks), the files read last kept
    decoded: the chunks of one file share them."""
    return functools.lru_cache(maxsize=KEPT_FILES)(functools.partial(stored_lines, db))


# The stored window of a full-text window (``text_chunks c``), as the columns ``text_of``
# reads: its packed bytes, its file's encoding, whether the window was kept alone, its first line.
WINDOW_COLUMNS = "w.packed, f.encoding, b.alone, c.start_line"
WINDOW_JOINS = (f"JOIN files f ON f.id = c.file_id JOIN blobs b ON b.sha256 = f.sha256 "
                f"JOIN blob_windows w ON w.blob = b.id AND w.n = iif(b.alone, (c.start_line - 1) / {WINDOW}, 0)")


def text_of(packed: bytes, encoding: str | None, alone: int, start_line: int) -> str:
    """A full-text window's text from WINDOW_COLUMNS."""
    raw = unpack_window(packed)
    if alone:
        return window_text(raw, encoding) or ""
    text = decoded(raw, encoding)
    return window(chunking.source_lines(text), start_line) if text is not None else ""


def stored_window(db: apsw.Connection, chunk: int) -> str:
    """A full-text window's text, by its id; "" if it has none."""
    row = db.execute(f"SELECT {WINDOW_COLUMNS} FROM text_chunks c {WINDOW_JOINS} WHERE c.id = ?", (chunk,)).fetchone()
    return text_of(*row) if row else ""


def stored_windows(db: apsw.Connection, file_id: int) -> dict[int, tuple[int, str]]:
    """A file's full-text windows as the index keeps them: first line → (window id, text)."""
    # The types are the columns'.
    rows = cast(Iterable[tuple[int, bytes, str | None, int, int]], db.execute(
        f"SELECT c.id, {WINDOW_COLUMNS} FROM text_chunks c {WINDOW_JOINS} WHERE c.file_id = ?", (file_id,)))
    return {start: (chunk, text_of(packed, encoding, alone, start)) for chunk, packed, encoding, alone, start in rows}


def repack_windows(db: apsw.Connection) -> int:
    """Migration WINDOW_DICTIONARY's step: every window of ``window_texts``, each zlib-packed
    alone until then, packed by pack_window; returns how many."""
    # All read before any is written; the types are the columns'.
    rows = cast(list[tuple[int, bytes]], db.execute("SELECT chunk, packed FROM window_texts").fetchall())
    db.executemany("UPDATE window_texts SET packed = ? WHERE chunk = ?",
                   ((pack_window(packing.unpack(packed)), chunk) for chunk, packed in rows))
    return len(rows)


def to_windows(db: apsw.Connection) -> int:
    """Migration CONTENT_WINDOWS's step: every content of ``blobs`` (packed whole) kept as its
    windows, in ``blobs_windowed`` and ``blob_windows``, and the windows' own copy of their
    text (``window_texts``) dropped; returns how many contents. A content no file holds now
    is read as no text: it is kept whole, one window."""
    # All read before any is written; the types are the columns'. files has no index by
    # content: its encodings are read in one pass.
    shas = cast(list[tuple[bytes]], db.execute("SELECT sha256 FROM blobs").fetchall())
    encodings = dict(cast(list[tuple[bytes, str]], db.execute(
        "SELECT sha256, encoding FROM files WHERE encoding IS NOT NULL").fetchall()))
    for (sha256,) in shas:
        data = content(db, sha256, "packed")
        assert data is not None
        encoding = encodings.get(sha256)
        text = decoded(data, encoding)
        rows, alone = content_rows(data, encoding, None if text is None else chunking.source_lines(text))
        _add(db, "blobs_windowed", sha256, len(data), rows, alone)
    db.execute("""
        DROP TABLE blobs;
        ALTER TABLE blobs_windowed RENAME TO blobs;
        CREATE TRIGGER blobs_delete AFTER DELETE ON blobs BEGIN
            DELETE FROM blob_windows WHERE blob = old.id;
        END;
        DROP TRIGGER text_chunks_delete;
        DROP TABLE window_texts;
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
        END;
    """)
    return len(shas)


class WindowText:
    """SQL's window_text(WINDOW_COLUMNS), registered on every connection (store._connect): a
    window's text, for conditions SQLite evaluates on it. A condition names the text several
    times (instr, lower, length) and SQLite calls the function for each; the last window
    read is kept, so a row is unpacked once."""

    def __init__(self) -> None:
        self._read: tuple[apsw.SQLiteValue, ...] = ()
        self._text = ""

    def __call__(self, *args: apsw.SQLiteValue) -> str | None:
        packed, encoding, alone, start_line = args
        if not isinstance(packed, bytes) or not isinstance(start_line, int):
            return None
        if args != self._read:
            self._text = text_of(packed, encoding if isinstance(encoding, str) else None, int(bool(alone)), start_line)
            self._read = args
        return self._text
