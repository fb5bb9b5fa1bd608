"""How the index rows of a file are written: the one place for it.

Callers hold the transaction (one per logical operation: a whole batch of files); these
functions only issue the statements. A file keeps its row (its identity) across edits,
moves and deletion; what is derived from its content is replaced, so re-indexing never
leaves duplicates: definitions, imports, bindings and chunks as a whole, the name rows and
the windows of text where they differ from the old (a large file edited in one line keeps
most of them, and a save is written in a fraction of the time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import apsw

from codeanalysisd.db import common_words, history, name_rows, packing, stored_text
from codeanalysisd.db.migrations import STRUCTURE
from codeanalysisd.db.rows import insert_many, returned_id
from codeanalysisd.db.stored_text import WINDOW, Kept, decoded, stored_lines, window
from codeanalysisd.index import chunking, expressions
from codeanalysisd.index.facts import Definition, parent_of
from codeanalysisd.index.record import NO_CONTENT, FileUpdate
from codeanalysisd.index.syntax import NOT_VERIFIED, passed_over
from codeanalysisd.records import FileState


@dataclass(frozen=True)
class StoredFile:
    """What the index holds of a file's stat and content, to compare with disk."""

    path: str
    size: int
    mtime_ns: int
    sha256: bytes  # NO_CONTENT if its bytes could not be read
    state: FileState


def _clear_derived(db: apsw.Connection, file_id: int) -> None:
    _clear_replaced(db, file_id)
    db.execute("DELETE FROM text_chunks WHERE file_id = ?", (file_id,))
    name_rows.delete(db, file_id)


def _clear_replaced(db: apsw.Connection, file_id: int, keep_definitions: bool = False) -> None:
    """What a new content replaces whole: the rest (name rows, windows of text) is rewritten
    where it differs. ``keep_definitions``: those its showing wrote stay."""
    for table in ("imports", "chunks", "bindings") if keep_definitions else ("definitions", "imports", "chunks",
                                                                              "bindings"):
        db.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))


def write_file(db: apsw.Connection, project_id: str, update: FileUpdate, reason: str | None = None) -> int:
    """Index a whole file; its content also becomes a version (``reason`` None: an ordinary edit)."""
    facts = update.facts
    file_id, was, lines, shown = _file_row(db, project_id, update, reason, STRUCTURE)
    replacing = was is not None
    if replacing:
        _clear_replaced(db, file_id, keep_definitions=shown)
    if not shown:
        _insert_definitions(db, file_id, facts.definitions)
    db.executemany(
        "INSERT INTO imports (file_id, module, name, alias, level, line, col) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((file_id, i.module, i.name, i.alias, i.level, i.line, i.column) for i in facts.imports))
    db.executemany(
        "INSERT INTO bindings (file_id, scope, name, kind, value, key, line, col) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ((file_id, b.scope, b.name, b.kind, b.value, expressions.key(b.value), b.line, b.column)
         for b in facts.bindings))
    name_rows.write(db, file_id, facts.references, facts.uses, replacing=replacing)
    _write_chunks(db, file_id, lines, (chunking.Definition(d.qualname, d.kind, d.line, d.end_line, len(d.decorators),
                                                           d.parent, d.docstring is not None)
                                       for d in facts.definitions),
                  facts.docstring is not None)
    if not shown:
        _write_windows(db, file_id, lines, was, update.sha256)
    return file_id


# A file shown ahead of its facts has structure 0, as one indexed by an extractor that took
# no bindings and uses: if the rest of its facts never come (the owner or the watcher ended
# in between), it is read and indexed again (``states``; the repair's ``current``).
SHOWN = 0


def show_file(db: apsw.Connection, project_id: str, update: FileUpdate) -> int:
    """A saved file's content, version, definitions and windows of text: all that ``Search``
    and ``FindSymbol`` answer from, written ahead of the rest of its facts (``update.facts``
    holds its definitions alone: ``reading.outline_facts``), which ``write_file`` writes
    next. Its imports, bindings, names and chunks stay those of its content before until then."""
    file_id, was, lines, _ = _file_row(db, project_id, update, None, SHOWN)
    if was is not None:
        db.execute("DELETE FROM definitions WHERE file_id = ?", (file_id,))
    _insert_definitions(db, file_id, update.facts.definitions)
    _write_windows(db, file_id, lines, was, update.sha256)
    return file_id


def _file_row(db: apsw.Connection, project_id: str, update: FileUpdate, reason: str | None, structure: int
              ) -> tuple[int, dict[int, bytes] | None, list[str], bool]:
    """The file's content kept, its version recorded and its row written: (its id, the
    windows of its content before, packed, by number, if it had a row (``_write_windows``;
    that content goes once no file holds it: migrations.CONTENTS_HELD), its lines, whether
    that row is a showing of this same content as an ordinary edit, whose content, version,
    definitions and windows of text are written, and whose verdict of libcst, if a parser
    unit gave one in between, holds for it)."""
    facts = update.facts
    row = db.execute("SELECT id, sha256, structure, state, encoding FROM files WHERE project_id = ? AND path = ?",
                     (project_id, update.path)).fetchone()
    # Only facts from a whole walk: one cut short (too deep) holds fewer definitions than shown.
    shown = (row is not None and reason is None and structure != SHOWN and facts.parsed and not facts.problems
             and not facts.unreadable and (bytes(row[1]), row[2], row[3]) == (update.sha256, SHOWN, "live"))
    text = None if facts.unreadable else decoded(update.source, facts.encoding)
    lines = chunking.source_lines(text) if text is not None else []
    if not facts.unreadable and not shown:
        _keep_content(db, update.sha256, update.source, facts.encoding, None if text is None else lines)
        history.record_content(db, project_id, update.path, update.sha256, update.source, reason, update.mode)
    values = (update.size, update.mtime_ns, update.sha256, time.time(), facts.encoding, int(facts.parsed),
              "\n".join(facts.problems), len(lines), facts.docstring, structure, facts.nodes)
    # (a showing's own verdict stays: iif below)
    verdict = _verdict_on(db, update.sha256) if facts.parsed and not shown else None
    if row:
        file_id: int = row[0]
        # Read before the row changes: the content it held may go with it. A showing's
        # windows are written already.
        was = stored_text.window_rows(db, bytes(row[1])) if row[4] == facts.encoding and not shown else {}
        db.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, sha256 = ?, indexed_at = ?, encoding = ?, parsed = ?, "
            "problems = ?, lines = ?, docstring = ?, structure = ?, nodes = ?, state = 'live', "
            "syntax = iif(?, syntax, ?) "
            "WHERE id = ?", (*values, shown, verdict, file_id))
        return file_id, was, lines, shown
    return returned_id(db.execute(
        "INSERT INTO files (size, mtime_ns, sha256, indexed_at, encoding, parsed, problems, lines, docstring, "
        "structure, nodes, project_id, path, syntax) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (*values, project_id, update.path, verdict))), None, lines, False


def _verdict_on(db: apsw.Connection, sha256: bytes) -> str | None:
    """libcst's verdict on these bytes, if a file holding them has one: a verdict is of the
    bytes alone, so another copy of a file (a second checkout, a vendored module, an empty
    ``__init__.py``) is not verified again. Not one passing a file over for its size, which
    depends on the bound at the time (``reopen_verdicts``)."""
    row = db.execute("SELECT syntax FROM files WHERE sha256 = ?1 AND syntax IS NOT NULL "
                     "AND substr(syntax, 1, length(?2)) != ?2 LIMIT 1", (sha256, NOT_VERIFIED)).fetchone()
    return None if row is None else cast(str, row[0])


def _insert_definitions(db: apsw.Connection, file_id: int, definitions: Iterable[Definition]) -> None:
    # Several to a statement: each fires the trigger that feeds the trigram index of names,
    # and FTS5 writes a segment at every statement that fires one (_write_windows).
    # A definition's parent is its qualified name's (facts.parent_of), and its bases are in its
    # signature: neither is kept apart.
    insert_many(db, "definitions (file_id, qualname, name, kind, line, col, end_line, decorators, signature,"
                " docstring)",
                [(file_id, d.qualname, d.name, d.kind, d.line, d.column, d.end_line, _json_list(d.decorators),
                  d.signature, d.docstring) for d in definitions])


def _json_list(texts: tuple[str, ...]) -> str:
    # Most definitions have no decorator and no base, and json.dumps costs 4 µs even for
    # nothing: a sixth of a save's first write (indexing.show_file) over _pyio.py.
    return json.dumps(texts) if texts else "[]"


def _write_windows(db: apsw.Connection, file_id: int, lines: list[str], was: dict[int, bytes] | None,
                   sha256: bytes) -> None:
    """The file's windows of text for full-text search, of its content ``sha256``; ``was``:
    the windows of the content it had before in the same encoding, packed, if it had a row
    ({} if in another encoding, or kept whole). A window whose bytes are unchanged stays as
    it is: replacing it would tokenize its text again, for every window of a large file
    after an edit of one line.

    Written last of the file's rows, all together: FTS5 writes what it holds pending as a new
    segment of its index whenever SQLite opens a statement savepoint (for a statement that
    fires a trigger or deletes many rows, as the next file's first ones do), and a segment
    per window cost more in merging them than the windows themselves."""
    # The types are the columns'.
    old = dict(cast(list[tuple[int, int]], db.execute(
        "SELECT start_line, id FROM text_chunks WHERE file_id = ?", (file_id,)).fetchall())) if was is not None else {}
    # A window is compared packed: the same bytes pack the same.
    before = was or {}
    now = stored_text.window_rows(db, sha256) if before else {}
    new: list[tuple[int, str]] = []
    changed: list[tuple[str, int]] = []
    for start in range(1, len(lines) + 1, WINDOW):
        chunk = old.pop(start, None)
        if chunk is None:
            chunk = returned_id(db.execute("INSERT INTO text_chunks (file_id, start_line) VALUES (?, ?) RETURNING id",
                                           (file_id, start)))
            new.append((chunk, window(lines, start)))
        elif (n := (start - 1) // WINDOW) not in before or before[n] != now.get(n):
            changed.append((window(lines, start), chunk))
    for chunk in old.values():
        db.execute("DELETE FROM text_chunks WHERE id = ?", (chunk,))  # and its tokens (text_chunks_delete)
    # Logged before the windows' tokens are written: a statement that deletes many rows opens
    # a savepoint, which would write the tokens held pending as a segment of their own.
    common_words.log_changes(db, [chunk for chunk, _ in new] + [chunk for _, chunk in changed])
    db.executemany("INSERT INTO fts (rowid, text) VALUES (?, ?)", new)
    # The index holds no text to take out: contentless_delete drops the window's old tokens.
    db.executemany("UPDATE fts SET text = ? WHERE rowid = ?", changed)


def _write_chunks(db: apsw.Connection, file_id: int, lines: list[str],
                  definitions: Iterable[chunking.Definition], module_docstring: bool) -> None:
    db.executemany(
        "INSERT INTO chunks (file_id, symbol, kind, start_line, end_line, head_line, key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((file_id, c.symbol, c.kind, c.start_line, c.end_line, c.head_line, c.key)
         for c in chunking.chunks(lines, definitions, module_docstring)))


def chunk_existing(db: apsw.Connection, kept: Kept = "windows") -> int:
    """Chunks for the live files that have none, from their stored rows: an upgrade (files
    indexed before chunks existed; every file, when a migration cuts them again). ``kept``:
    how contents are kept at the migration (stored_lines)."""
    count = 0
    # All read before any is written; the types are the columns' (id INTEGER, docstring TEXT).
    unchunked = cast(list[tuple[int, str | None]], db.execute(
        "SELECT id, docstring FROM files WHERE state = 'live' AND NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.file_id = files.id)").fetchall())
    for file_id, docstring in unchunked:
        lines = stored_lines(db, file_id, kept)
        if lines is None:
            continue
        definitions = [chunking.Definition(q, k, ln, e, len(json.loads(dec)), parent_of(q), documented)
                       for q, k, ln, e, dec, documented in db.execute(
                           "SELECT qualname, kind, line, end_line, decorators, docstring IS NOT NULL "
                           "FROM definitions WHERE file_id = ?", (file_id,))]
        _write_chunks(db, file_id, lines, definitions, docstring is not None)
        count += 1
    return count


def _keep_content(db: apsw.Connection, sha256: bytes, data: bytes, encoding: str | None,
                  lines: list[str] | None) -> None:
    """The index's copy of a content (stored_text: as its windows) and the version store's
    (packed whole), each if not kept yet; ``lines``: its text's, None if it is not text."""
    stored_text.keep_content(db, sha256, data, encoding, lines)
    if not history.has_content(db, sha256):
        history.keep_packed(db, sha256, len(data), packing.pack(data))


def _pack_in_place(db: apsw.Connection, table: str, key: str, column: str) -> int:
    """Pack every value of ``table``'s ``column`` in place, a row at a time (a migration's
    step, in its transaction); returns how many."""
    # All keys read before any row is written; the types are the columns'.
    keys = cast(list[tuple[object]], db.execute(f"SELECT {key} FROM {table}").fetchall())
    for (value,) in keys:
        (plain,) = cast(tuple[bytes], db.execute(f"SELECT {column} FROM {table} WHERE {key} = ?",
                                                 (value,)).fetchone())
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (packing.pack(plain), value))
    return len(keys)


def pack_blobs(db: apsw.Connection) -> int:
    """Pack every content of ``blobs`` (migrations.PACKED_BLOBS); returns how many."""
    return _pack_in_place(db, "blobs", "sha256", "data")


def pack_window_texts(db: apsw.Connection) -> int:
    """Pack every window's text (migrations.WINDOW_TEXTS); returns how many. The migration
    copied each as its UTF-8, which pack_window packs the same."""
    return _pack_in_place(db, "window_texts", "chunk", "packed")


def preserve(db: apsw.Connection, project_id: str, path: str, sha256: bytes) -> bool:
    """Make sure the version store keeps the content the index holds for a file (it may not,
    if the history was lost or pruned by hand): True if it had to be copied there."""
    if sha256 == NO_CONTENT or history.holds(db, project_id, path, sha256):
        return False
    data = stored_text.content(db, sha256)
    if data is None:
        return False
    history.record_content(db, project_id, path, sha256, data, "repaired")
    return True


def mark_deleted(db: apsw.Connection, project_id: str, paths: Iterable[str]) -> int:
    """The file is gone from disk: it leaves every result; its row, source and history stay.

    Its last content is secured in the version store before the row says deleted, so no
    later step (a prune, a lost index) can leave a deleted file without its bytes.
    """
    count = 0
    for path in paths:
        row = db.execute("SELECT id, sha256 FROM files WHERE project_id = ? AND path = ? AND state = 'live'",
                         (project_id, path)).fetchone()
        if row:
            _clear_derived(db, row[0])
            db.execute("UPDATE files SET state = 'deleted', indexed_at = ? WHERE id = ?", (time.time(), row[0]))
            preserve(db, project_id, path, bytes(row[1]))
            history.record_deleted(db, project_id, path)
            count += 1
    return count


def add_deleted(db: apsw.Connection, project_id: str, path: str, version: history.Version) -> None:
    """A file known only to the version store: a row marked deleted, pointing at its version."""
    data = history.content(db, version.sha256)
    if data is not None:
        _keep_content(db, version.sha256, data, None, None)  # its text is not known till it is read again
    db.execute("INSERT INTO files (project_id, path, size, mtime_ns, sha256, state, indexed_at) "
               "VALUES (?, ?, ?, 0, ?, 'deleted', ?) ON CONFLICT (project_id, path) DO NOTHING",
               (project_id, path, max(version.size, 0), version.sha256, time.time()))


def move(db: apsw.Connection, project_id: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
    """Rename keeping the file's identity (its row, history and derived rows)."""
    row = db.execute("SELECT id, sha256 FROM files WHERE project_id = ? AND path = ?", (project_id, old)).fetchone()
    if not row:
        return False
    # A row already at the new path (a deleted file of that name) gives way to the moved file.
    db.execute("DELETE FROM files WHERE project_id = ? AND path = ?", (project_id, new))
    db.execute("UPDATE files SET path = ?, size = ?, mtime_ns = ?, state = 'live', indexed_at = ? WHERE id = ?",
               (new, size, mtime_ns, time.time(), row[0]))
    sha = bytes(row[1])
    if sha != NO_CONTENT:
        kept = history.content(db, sha)
        history.record_move(db, project_id, old, new, sha, None if kept else stored_text.content(db, sha))
    return True


def touch(db: apsw.Connection, project_id: str, path: str, size: int, mtime_ns: int) -> None:
    """Same content, new stat (a touch, a copy back): nothing to re-derive."""
    db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE project_id = ? AND path = ?",
               (size, mtime_ns, project_id, path))


def states(db: apsw.Connection, project_id: str) -> list[StoredFile]:
    """What the watcher compares disk with. A live file parsed by an extractor that took no
    bindings and uses is shown as unread (no content, no time), so it is read and indexed again."""
    return [StoredFile(path, size, mtime_ns, sha256, FileState(state)) for path, size, mtime_ns, sha256, state in
            db.execute("SELECT path, size, iif(stale, -1, mtime_ns), iif(stale, ?, sha256), state FROM "
                       "(SELECT *, parsed = 1 AND structure < ? AND state = 'live' AS stale FROM files) "
                       "WHERE project_id = ? ORDER BY path", (NO_CONTENT, STRUCTURE, project_id))]


# A file waiting for a libcst verdict: the condition of the partial index files_syntax_pending
# (db/migrations.py), which a query uses only when its WHERE holds these same terms.
AWAITING_VERDICT = "syntax IS NULL AND state = 'live' AND parsed = 1"


def syntax_pending(db: apsw.Connection, project_id: str, limit: int) -> list[tuple[str, bytes, int | None]]:
    """Live parsed files whose concrete syntax has not been verified: (path, sha256, its
    syntax nodes as counted when indexed, None if not)."""
    return [(path, bytes(sha), nodes) for path, sha, nodes in db.execute(
        f"SELECT path, sha256, nodes FROM files WHERE project_id = ? AND {AWAITING_VERDICT} ORDER BY path LIMIT ?",
        (project_id, limit))]


def record_syntax(db: apsw.Connection, project_id: str, path: str, sha256: bytes, verdict: str) -> bool:
    """Record a verdict for the content it was made on; a file changed since keeps waiting.
    Every other file waiting with the same bytes takes it too (``_verdict_on``)."""
    recorded = bool(db.execute("UPDATE files SET syntax = ? WHERE project_id = ? AND path = ? AND sha256 = ? "
                               "RETURNING id", (verdict, project_id, path, sha256)).fetchall())
    if recorded and not passed_over(verdict):
        db.execute(f"UPDATE files SET syntax = ? WHERE sha256 = ? AND {AWAITING_VERDICT}", (verdict, sha256))
    return recorded


def reopen_verdicts(db: apsw.Connection, prefix: str) -> int:
    """Files whose verdict starts with ``prefix`` are pending verification again; how many."""
    return len(db.execute("UPDATE files SET syntax = NULL WHERE substr(syntax, 1, length(?1)) = ?1 RETURNING id",
                          (prefix,)).fetchall())


def set_skipped(db: apsw.Connection, project_id: str, scope: str, entries: Iterable[tuple[str, str]]) -> None:
    """Replace the skipped paths at and below ``scope`` ("" = the whole project) with ``entries``."""
    if scope:
        # (substr, not LIKE: LIKE ignores case, and a directory 'Pkg' is not 'pkg')
        db.execute("DELETE FROM skipped WHERE project_id = ?1 AND (path = ?2 OR substr(path, 1, length(?3)) = ?3)",
                   (project_id, scope, scope + "/"))
    else:
        db.execute("DELETE FROM skipped WHERE project_id = ?", (project_id,))
    db.executemany("INSERT OR REPLACE INTO skipped (project_id, path, reason) VALUES (?, ?, ?)",
                   ((project_id, path, reason) for path, reason in entries))
