"""The version store: every content the index has seen for a file, with when and why.

It lives in its own database file (``history.sqlite3`` in the state directory), attached to
the DB owner's connection as schema ``history``. A separate file because the index is
derived data that can be rebuilt from disk, and the history cannot: a corrupt index is
moved aside and rebuilt *from* the history, which survives it. The project registry is
kept here too, so a rebuilt index knows its projects again.

Contents are deduplicated by sha256. A version row says what happened at a path:
``present`` tells whether the file existed there afterwards (a deletion, or a move away,
leaves it absent), ``sha256`` the content it had (for a deletion, the last content).
Callers hold the transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import apsw

from codeanalysisd.db import integrity
from codeanalysisd.db.migrations import Migration
from codeanalysisd.db.packing import pack, unpack, unpack_any
from codeanalysisd.db.rows import single_int

SCHEMA = "history"
PACKED_CONTENTS = 4
FILENAME = "history.sqlite3"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "version store",
        """
        CREATE TABLE history.projects (
            id      TEXT PRIMARY KEY,
            name    TEXT NOT NULL,
            root    TEXT NOT NULL,
            created REAL NOT NULL,
            removed REAL
        ) STRICT;
        CREATE TABLE history.contents (
            sha256 BLOB PRIMARY KEY,
            size   INTEGER NOT NULL,
            data   BLOB NOT NULL
        ) STRICT;
        CREATE TABLE history.versions (
            id         INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL,
            path       TEXT NOT NULL,
            n          INTEGER NOT NULL,
            sha256     BLOB NOT NULL,
            at         REAL NOT NULL,
            reason     TEXT NOT NULL CHECK (reason IN
                       ('added', 'modified', 'deleted', 'moved', 'repaired', 'restored', 'overwritten')),
            present    INTEGER NOT NULL,
            other_path TEXT NOT NULL DEFAULT '',
            UNIQUE (project_id, path, n)
        ) STRICT;
        CREATE INDEX history.versions_by_content ON versions(sha256);
        CREATE INDEX history.versions_by_age ON versions(at);
        """,
    ),
    Migration(
        2,
        "project owners",
        """
        -- Kept here too, so an index rebuilt from the history gives each project back to its owner.
        ALTER TABLE history.projects ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        3,
        "recorded modes",
        """
        -- The permission bits a file had with this content (st_mode & 0o7777; 0: not known, as
        -- for every version recorded before): what a restore of the version creates the file with.
        ALTER TABLE history.versions ADD COLUMN mode INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        PACKED_CONTENTS,
        "contents compressed",
        """
        -- Every content is packed (db/packing.py) by the migration's step (pack_existing), in
        -- its transaction. size stays the bytes' own.
        SELECT 1;
        """,
    ),
)

CONTENT_REASONS = ("added", "modified", "repaired", "restored", "overwritten")


@dataclass(frozen=True)
class Version:
    n: int
    sha256: bytes
    at: float
    size: int
    reason: str
    present: bool
    other_path: str
    mode: int = 0  # permission bits the file had with this content; 0: not known


_COLUMNS = ("v.n, v.sha256, v.at, coalesce(c.size, -1), v.reason, v.present, v.other_path, v.mode "
            "FROM history.versions v LEFT JOIN history.contents c ON c.sha256 = v.sha256 ")


def _version(row: tuple[object, ...]) -> Version:
    n, sha, at, size, reason, present, other, mode = row
    return Version(cast(int, n), bytes(cast(bytes, sha)), cast(float, at), cast(int, size), cast(str, reason),
                   bool(present), cast(str, other), cast(int, mode))


def latest(db: apsw.Connection, project_id: str, path: str) -> Version | None:
    row = db.execute(f"SELECT {_COLUMNS} WHERE v.project_id = ? AND v.path = ? ORDER BY v.n DESC LIMIT 1",
                     (project_id, path)).fetchone()
    return _version(row) if row else None


def versions(db: apsw.Connection, project_id: str, path: str) -> list[Version]:
    return [_version(row) for row in db.execute(
        f"SELECT {_COLUMNS} WHERE v.project_id = ? AND v.path = ? ORDER BY v.n", (project_id, path))]


def newest_with(db: apsw.Connection, project_id: str, path: str, sha256: bytes) -> int | None:
    """The number of the newest version of the path with this content, if any."""
    row = db.execute("SELECT max(n) FROM history.versions WHERE project_id = ? AND path = ? AND sha256 = ?",
                     (project_id, path, sha256)).fetchone()
    return cast(int, row[0]) if row and row[0] is not None else None


def find(db: apsw.Connection, project_id: str, path: str, spec: str) -> Version:
    """A version by its number ("3") or by a prefix of its content's sha256 (at least 6 hex
    digits; the newest match). Raises LookupError with a message for the caller."""
    spec = spec.strip().lower()
    all_versions = versions(db, project_id, path)
    if not all_versions:
        raise LookupError(f"no history for {path}")
    if spec.isascii() and spec.isdigit():
        for v in all_versions:
            if v.n == int(spec):
                return v
        raise LookupError(f"{path} has no version {spec} (versions {all_versions[0].n}..{all_versions[-1].n})")
    if len(spec) >= 6 and all(c in "0123456789abcdef" for c in spec):
        for v in reversed(all_versions):
            if v.sha256.hex().startswith(spec):
                return v
        raise LookupError(f"{path} has no version with content {spec}")
    raise LookupError(f"bad version {spec!r}: give a version number from the history, or 6+ hex digits of a sha256")


def holds(db: apsw.Connection, project_id: str, path: str, sha256: bytes) -> bool:
    """True if the version store keeps this content for this path."""
    return db.execute("SELECT 1 FROM history.versions WHERE project_id = ? AND path = ? AND sha256 = ? LIMIT 1",
                      (project_id, path, sha256)).fetchone() is not None


def content(db: apsw.Connection, sha256: bytes) -> bytes | None:
    row = db.execute("SELECT data FROM history.contents WHERE sha256 = ?", (sha256,)).fetchone()
    return unpack(row[0]) if row else None


def pack_existing(db: apsw.Connection) -> int:
    """Pack every content stored as plain bytes before packing; returns how many. One packed
    already (its unpacked bytes have its sha256) is left as it is: run twice, it packs
    nothing twice."""
    table = f"{SCHEMA}.contents"
    count = 0
    # All read before any is written; the types are the columns'.
    for (sha256,) in cast(list[tuple[bytes]], db.execute(f"SELECT sha256 FROM {table}").fetchall()):
        (data,) = cast(tuple[bytes], db.execute(f"SELECT data FROM {table} WHERE sha256 = ?", (sha256,)).fetchone())
        plain = unpack_any(data)
        if plain is not data and hashlib.sha256(plain).digest() == sha256:
            continue
        db.execute(f"UPDATE {table} SET data = ? WHERE sha256 = ?", (pack(data), sha256))
        count += 1
    return count


def has_content(db: apsw.Connection, sha256: bytes) -> bool:
    return db.execute("SELECT 1 FROM history.contents WHERE sha256 = ?", (sha256,)).fetchone() is not None


def _append(db: apsw.Connection, project_id: str, path: str, sha256: bytes, reason: str, present: bool,
            other_path: str = "", at: float | None = None, mode: int = 0) -> int:
    n = single_int(db.execute("SELECT coalesce(max(n), 0) + 1 FROM history.versions WHERE project_id = ? AND path = ?",
                              (project_id, path)))
    db.execute("INSERT INTO history.versions (project_id, path, n, sha256, at, reason, present, other_path, mode) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (project_id, path, n, sha256, time.time() if at is None else at, reason, int(present), other_path,
                mode & 0o7777))
    return n


def keep_content(db: apsw.Connection, sha256: bytes, data: bytes) -> None:
    if not has_content(db, sha256):
        keep_packed(db, sha256, len(data), pack(data))


def keep_packed(db: apsw.Connection, sha256: bytes, size: int, packed: bytes) -> None:
    """A content not yet kept, already packed (db/packing.py) from its ``size`` bytes."""
    db.execute("INSERT INTO history.contents (sha256, size, data) VALUES (?, ?, ?)", (sha256, size, packed))


def record_content(db: apsw.Connection, project_id: str, path: str, sha256: bytes, data: bytes,
                   reason: str | None = None, mode: int = 0) -> int:
    """The file now holds ``data``, with permission bits ``mode`` (0: not known). A new version
    unless that is already its latest content (a restore is always recorded: it is an event
    of its own); a mode seen anew for the latest content is noted on that version.

    ``reason`` None means an ordinary edit: 'added' for a path with no present version,
    'modified' otherwise. Returns the number of the version that holds the content.
    """
    last = latest(db, project_id, path)
    if last is not None and last.present and last.sha256 == sha256 and reason != "restored":
        if mode and mode != last.mode:
            db.execute("UPDATE history.versions SET mode = ? WHERE project_id = ? AND path = ? AND n = ?",
                       (mode & 0o7777, project_id, path, last.n))
        return last.n
    if reason is None:
        reason = "modified" if last is not None and last.present else "added"
    keep_content(db, sha256, data)
    return _append(db, project_id, path, sha256, reason, True, mode=mode)


# Versions a restore makes (what was restored, and what it replaced) are not edits: they do
# not count toward MaxVersions, so restoring back and forth can never push a file's older
# versions out of its history. They go by age (MaxAge) like the rest.
NOT_EDITS = ("restored", "overwritten")
_EDIT = f"reason NOT IN {NOT_EDITS!r}"


def over_limit(db: apsw.Connection, project_id: str, path: str, retention: Retention) -> bool:
    count = single_int(db.execute(f"SELECT count(*) FROM history.versions WHERE project_id = ? AND path = ? "
                                  f"AND {_EDIT}", (project_id, path)))
    return count > retention.max_versions


def record_deleted(db: apsw.Connection, project_id: str, path: str) -> int | None:
    """The file is gone from disk: a 'deleted' version pointing at its last content."""
    last = latest(db, project_id, path)
    if last is None or not last.present:
        return None
    return _append(db, project_id, path, last.sha256, "deleted", False, mode=last.mode)


def record_move(db: apsw.Connection, project_id: str, old: str, new: str, sha256: bytes, data: bytes | None) -> None:
    """A rename: the old path's history ends with a move away, the new path's continues from it."""
    last = latest(db, project_id, old)
    mode = last.mode if last is not None and last.sha256 == sha256 else 0
    if last is not None and last.present:
        _append(db, project_id, old, last.sha256, "moved", False, new, mode=last.mode)
    if data is not None:
        keep_content(db, sha256, data)
    if has_content(db, sha256):
        _append(db, project_id, new, sha256, "moved", True, old, mode=mode)


# ---------------------------------------------------------------------- projects
def register_project(db: apsw.Connection, project_id: str, name: str, root: str, created: float,
                     owner_uid: int = 0) -> None:
    db.execute("INSERT INTO history.projects (id, name, root, created, owner_uid) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET name = excluded.name, root = excluded.root, removed = NULL, "
               "owner_uid = excluded.owner_uid", (project_id, name, root, created, owner_uid))


def unregister_project(db: apsw.Connection, project_id: str) -> None:
    db.execute("UPDATE history.projects SET removed = ? WHERE id = ?", (time.time(), project_id))


def id_for_root(db: apsw.Connection, root: str, owner_uid: int) -> str | None:
    """The id a root had before under the same owner (its history continues under it)."""
    row = cast(tuple[str] | None, db.execute(
        "SELECT id FROM history.projects WHERE root = ? AND owner_uid = ? ORDER BY created DESC LIMIT 1",
        (root, owner_uid)).fetchone())
    return row[0] if row else None


def taken_ids(db: apsw.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT id FROM history.projects")}


def registered_projects(db: apsw.Connection) -> list[tuple[str, str, str, float, int]]:
    # The types are the columns' (id, name, root TEXT; created REAL; owner_uid INTEGER).
    return cast(list[tuple[str, str, str, float, int]], db.execute(
        "SELECT id, name, root, created, owner_uid FROM history.projects WHERE removed IS NULL "
        "ORDER BY created").fetchall())


def known_paths(db: apsw.Connection, project_id: str) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT DISTINCT path FROM history.versions WHERE project_id = ? ORDER BY path", (project_id,))]


# ---------------------------------------------------------------------- retention
@dataclass(frozen=True)
class Retention:
    max_versions: int = 100  # per file; the newest are kept
    max_age: float = 0.0  # seconds; 0 keeps versions regardless of age


def prune(db: apsw.Connection, retention: Retention, now: float | None = None,
          project_id: str | None = None, path: str | None = None) -> int:
    """Drop versions beyond the retention; never a file's latest version (its current copy may
    be missing, and the latest is what a restore needs). A removed project's history goes
    whole once it is older than ``max_age``. Returns the number of versions removed."""
    now = time.time() if now is None else now
    scope = ""
    args: tuple[str, ...] = ()
    if project_id is not None and path is not None:
        scope, args = "WHERE project_id = ? AND path = ?", (project_id, path)
    ranked = (f"SELECT id, at, {_EDIT} AS edit, "
              "row_number() OVER (PARTITION BY project_id, path ORDER BY n DESC) AS age_rank, "
              f"sum({_EDIT}) OVER (PARTITION BY project_id, path ORDER BY n DESC) AS edit_rank "
              f"FROM history.versions {scope}")
    conditions = ["(edit AND edit_rank > ?)"]
    params: list[object] = [*args, retention.max_versions]
    if retention.max_age > 0:
        conditions.append("at < ?")
        params.append(now - retention.max_age)
    doomed = [row[0] for row in db.execute(
        f"SELECT id FROM ({ranked}) WHERE age_rank > 1 AND ({' OR '.join(conditions)})", params)]
    if retention.max_age > 0 and path is None:
        doomed += [row[0] for row in db.execute(
            "SELECT v.id FROM history.versions v JOIN history.projects p ON p.id = v.project_id "
            "WHERE p.removed IS NOT NULL AND p.removed < ? AND v.at < ?",
            (now - retention.max_age, now - retention.max_age))]
    if not doomed:
        return 0
    shas = set()
    for version_id in set(doomed):
        # The row was just selected in this transaction: there is one, and sha256 is a BLOB.
        (sha,) = cast(tuple[bytes], db.execute("DELETE FROM history.versions WHERE id = ? RETURNING sha256",
                                               (version_id,)).fetchone())
        shas.add(bytes(sha))
    # Contents are shared between files and versions: only what nothing points at any more goes.
    db.executemany("DELETE FROM history.contents WHERE sha256 = ?1 AND NOT EXISTS "
                   "(SELECT 1 FROM history.versions WHERE sha256 = ?1)", ((sha,) for sha in shas))
    return len(set(doomed))


def stored_bytes(db: apsw.Connection) -> int:
    return single_int(db.execute("SELECT coalesce(sum(size), 0) FROM history.contents"))


# ---------------------------------------------------------------------- salvage
@dataclass
class Salvaged:
    projects: int = 0
    contents: int = 0
    versions: int = 0
    lost_versions: int = 0  # known to have existed (read, or listed by an index) but not copied


def _columns(db: apsw.Connection, schema: str, table: str) -> list[str]:
    return [str(row[1]) for row in db.execute(f"PRAGMA {schema}.table_info({table})")]


def salvage(db: apsw.Connection, old_path: str, elsewhere: Callable[[bytes], bytes | None]) -> Salvaged:
    """Copy into the (fresh) history every row of ``projects``, ``contents`` and ``versions``
    that can still be read from the history file at ``old_path`` (opened read-only, never
    changed). A content is taken only if its bytes match its sha256; a version only if its
    content is kept, from the old file or, failing that, from ``elsewhere`` (the index's
    copy). One transaction, held here."""
    found = Salvaged()
    try:
        old = apsw.Connection(old_path, flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error:
        return found
    try:
        with db:
            for table in ("projects", "contents", "versions"):
                try:
                    present = set(_columns(old, "main", table))
                except (*integrity.READ_ERRORS, apsw.SQLError):
                    present = set()
                columns = [c for c in _columns(db, SCHEMA, table) if c in present]
                if not present:
                    if table == "versions":
                        found.lost_versions = len(integrity.indexed_rowids(old, table))
                    continue
                insert = (f"INSERT OR IGNORE INTO {SCHEMA}.{table} ({', '.join(columns)}) "
                          f"VALUES ({', '.join('?' * len(columns))})")
                seen: set[int] = set()
                copied: set[int] = set()
                for rowid, *values in integrity.readable_rows(old, table, columns,
                                                              chunk=64 if table == "contents" else 256):
                    seen.add(int(rowid))
                    row = dict(zip(columns, values, strict=True))
                    if table == "contents":
                        data, sha = row.get("data"), row.get("sha256")
                        if not (isinstance(data, bytes) and isinstance(sha, bytes)):
                            continue
                        data = unpack_any(data)  # the moved-aside store may predate packing
                        if hashlib.sha256(data).digest() != sha:
                            continue
                        row["size"], row["data"] = len(data), pack(data)
                    elif table == "versions":
                        sha = row.get("sha256")
                        if not isinstance(sha, bytes):
                            continue
                        if not has_content(db, sha):
                            data = elsewhere(sha)
                            if data is None or hashlib.sha256(data).digest() != sha:
                                continue
                            keep_content(db, sha, data)
                    try:
                        db.execute(insert, tuple(row[c] for c in columns))
                    except apsw.ConstraintError:
                        continue  # a row the damage garbled into something the table refuses
                    if db.changes():
                        copied.add(int(rowid))
                if table == "projects":
                    found.projects = len(copied)
                elif table == "contents":
                    found.contents = len(copied)
                else:
                    found.versions = len(copied)
                    found.lost_versions = len((seen | integrity.indexed_rowids(old, table)) - copied)
    finally:
        old.close()
    return found
