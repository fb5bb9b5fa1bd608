"""Is a database file sound, and what to do with one that is not.

At start the DB owner only probes (reads the header and the schema: cheap, and enough to
catch a file that is not a database at all); the full ``integrity_check`` runs on demand
over the bus, and at the next start after anything hit corruption while serving (a
marker file next to the database asks for it). A corrupt file is never deleted: it is
renamed aside with its WAL and shared-memory files, for an administrator to inspect.
"""

from __future__ import annotations

import contextlib
import os
import time

import apsw

SIDE_FILES = ("", "-wal", "-shm")
SUSPECT_SUFFIX = ".check-integrity"


def probe(db: apsw.Connection, schema: str = "main") -> str | None:
    """None if the database reads as a database; otherwise why not."""
    try:
        db.execute(f"PRAGMA {schema}.user_version").fetchone()
        db.execute(f"SELECT count(*) FROM {schema}.sqlite_master").fetchone()
    except (apsw.CorruptError, apsw.NotADBError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def full_check(db: apsw.Connection, schema: str = "main") -> list[str]:
    """Every problem ``PRAGMA integrity_check`` finds; empty when the file is sound."""
    try:
        rows = [row[0] for row in db.execute(f"PRAGMA {schema}.integrity_check")]
    except (apsw.CorruptError, apsw.NotADBError) as exc:
        return [f"{type(exc).__name__}: {exc}"]
    return [] if rows == ["ok"] else rows


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


def take_suspect(path: str) -> str | None:
    marker = path + SUSPECT_SUFFIX
    try:
        with open(marker, encoding="utf-8") as f:
            why = f.read().strip()
    except FileNotFoundError:
        return None
    os.unlink(marker)
    return why or "corruption was reported while serving"
