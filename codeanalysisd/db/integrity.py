"""Is a database file sound, and what to do with one that is not.

At start the DB owner only probes (reads the header and the schema: cheap, and enough to
catch a file that is not a database at all); the full ``integrity_check`` runs on demand
over the bus, and at the next start after anything hit corruption while serving (a
marker file next to the database asks for it). A corrupt file is never deleted: it is
renamed aside with its WAL and shared-memory files, for an administrator to inspect.

A problem only in indexes is fixed in place by REINDEX (the rows are intact and indexes are
derived from them). What can still be read of a file that was moved aside is read back by
``readable_rows``, which skips what the damage made unreadable.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from typing import Any, cast

import apsw

SIDE_FILES = ("", "-wal", "-shm")
SUSPECT_SUFFIX = ".check-integrity"
# What reading a damaged page raises (apsw has no common base for them short of apsw.Error).
READ_ERRORS = (apsw.CorruptError, apsw.NotADBError, apsw.IOError)
# integrity_check lines that concern one index: its entries, or a b-tree page ("Tree <root>
# page ..."), which is an index's when <root> is an index's root page.
_INDEX_LINE = re.compile(r"(missing from index|wrong # of entries in index|non-unique entry in UNIQUE index) (\S+)")
_TREE_LINE = re.compile(r"^Tree (\d+) page \d+", re.MULTILINE)  # after "*** in database x ***\n"
_CUT_SHORT = "CorruptError: "  # the check stopped by what it ran into (comparing rows with a broken index)


def probe(db: apsw.Connection, schema: str = "main") -> str | None:
    """None if the database reads as a database; otherwise why not."""
    try:
        db.execute(f"PRAGMA {schema}.user_version").fetchone()
        db.execute(f"SELECT count(*) FROM {schema}.sqlite_master").fetchone()
    except (apsw.CorruptError, apsw.NotADBError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def full_check(db: apsw.Connection, schema: str = "main") -> list[str]:
    """Every problem ``PRAGMA integrity_check`` finds; empty when the file is sound. When the
    check itself runs into damage and stops, what it found until then and why it stopped."""
    rows: list[str] = []
    try:
        for row in db.execute(f"PRAGMA {schema}.integrity_check"):
            rows.append(str(row[0]))
    except (apsw.CorruptError, apsw.NotADBError) as exc:
        return [*rows, f"{type(exc).__name__}: {exc}"]
    return [] if rows == ["ok"] else rows


def index_only(db: apsw.Connection, schema: str, problems: list[str]) -> bool:
    """True if every problem is in an index, so REINDEX can fix it without touching a row.

    Anything else (a table's page, the free list, a page used twice or never) leaves the file
    untouched: writing to it could reuse a page that still holds rows. A check that stopped
    on damage after finding only index problems counts as index-only (the page walk, which
    comes first, found nothing else; what stopped it was comparing rows with a broken index):
    REINDEX reads every row again, and the check after it has the last word.
    """
    try:
        index_roots = {int(root) for (root,) in db.execute(
            f"SELECT rootpage FROM {schema}.sqlite_master WHERE type = 'index' AND rootpage > 0")}
    except READ_ERRORS:
        return False
    in_index = 0
    for k, line in enumerate(problems):
        tree = _TREE_LINE.search(line)
        if tree is not None:
            if int(tree.group(1)) not in index_roots:
                return False
        elif _INDEX_LINE.search(line) is None and not (k == len(problems) - 1 and line.startswith(_CUT_SHORT)):
            return False
        else:
            in_index += line.startswith(_CUT_SHORT) is False
    return in_index > 0


def reindex(db: apsw.Connection, schema: str) -> list[str]:
    """Rebuild every index of the file's ordinary tables; what ``full_check`` finds after it."""
    try:
        tables = [name for (name,) in db.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
        with db:
            for name in tables:
                db.execute(f'REINDEX {schema}."{name}"')
    except READ_ERRORS as exc:
        return [f"REINDEX failed: {type(exc).__name__}: {exc}"]
    return full_check(db, schema)


def readable_rows(db: apsw.Connection, table: str, columns: list[str], chunk: int = 256
                  ) -> Iterator[tuple[Any, ...]]:
    """``(rowid, *columns)`` of every row of ``table`` that can still be read, in rowid order.

    Read in chunks; where a chunk runs into a damaged page, the rowids after the last row
    read are looked up one by one for a chunk's length (a lookup that fails is skipped), and
    chunked reading resumes behind them, up to the largest rowid the table or its indexes
    give (or, when neither can say, until a long enough run of rowids reads as nothing).
    """
    cols = ", ".join(f'"{c}"' for c in columns)
    scan = f'SELECT rowid, {cols} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT {int(chunk)}'
    one = f'SELECT rowid, {cols} FROM "{table}" WHERE rowid = ?'
    top = _last_rowid(db, table)
    after = -(2**63)
    blind = 0  # rowids looked up in a row without a row read, when the end is unknown
    while True:
        rows: list[tuple[Any, ...]] = []
        failed = False
        try:
            for row in db.execute(scan, (after,)):
                rows.append(tuple(row))
        except READ_ERRORS:
            failed = True
        yield from rows
        if rows:
            after = int(rows[-1][0])
            blind = 0
        if not failed:
            if len(rows) < chunk:
                return
            continue
        after = max(after, 0)
        if (top is not None and after >= top) or blind > 64 * chunk:
            return
        end = after + chunk if top is None else min(after + chunk, top)
        for rowid in range(after + 1, end + 1):
            try:
                found = db.execute(one, (rowid,)).fetchone()
            except READ_ERRORS:
                continue
            if found is not None:
                blind = 0
                yield tuple(found)
        blind += 0 if top is not None else chunk
        after = end


def indexed_rowids(db: apsw.Connection, table: str) -> set[int]:
    """The rowids that ``table``'s indexes list (as far as each can be read)."""
    rowids: set[int] = set()
    try:
        names = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))]
    except READ_ERRORS:
        return rowids
    for name in names:
        with contextlib.suppress(*READ_ERRORS):
            for (rowid,) in db.execute(f'SELECT rowid FROM "{table}" INDEXED BY "{name}"'):
                rowids.add(int(rowid))
    return rowids


def _last_rowid(db: apsw.Connection, table: str) -> int | None:
    try:
        row = cast(tuple[int | None] | None, db.execute(f'SELECT max(rowid) FROM "{table}"').fetchone())
        if row is not None and row[0] is not None:
            return int(row[0])
    except READ_ERRORS:
        pass
    listed = indexed_rowids(db, table)
    return max(listed) if listed else None


def move_aside(path: str) -> str:
    """Rename the database (and its -wal/-shm) to ``<path>.corrupt-<time>``; return the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = f"{path}.corrupt-{stamp}"
    n = 1
    while os.path.exists(target):
        n += 1
        target = f"{path}.corrupt-{stamp}-{n}"
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.rename(path + suffix, target + suffix)
    return target


def mark_suspect(path: str, why: str) -> None:
    """Ask the next start for a full check of ``path``."""
    with open(path + SUSPECT_SUFFIX, "w", encoding="utf-8") as f:
        f.write(why + "\n")


def peek_suspect(path: str) -> str | None:
    """Why a full check of ``path`` was asked for, or None; the marker stays (``clear_suspect``
    removes it once the check has run and its findings were dealt with, so a check cut short
    runs again at the next start)."""
    try:
        with open(path + SUSPECT_SUFFIX, encoding="utf-8") as f:
            why = f.read().strip()
    except FileNotFoundError:
        return None
    return why or "corruption was reported while serving"


def clear_suspect(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path + SUSPECT_SUFFIX)


def take_suspect(path: str) -> str | None:
    """``peek_suspect`` and ``clear_suspect`` at once (for callers that check nothing)."""
    why = peek_suspect(path)
    clear_suspect(path)
    return why
