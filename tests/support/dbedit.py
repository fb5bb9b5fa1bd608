"""Hand edits of the databases for the repair tests, run as root inside the sandbox while
the DB owner is stopped: each puts chosen files into one repair case.

    dbedit.py CMD PROJECT PATH...     CMD: revive-case | stale-case | drop-row | drop-history
    dbedit.py dump PROJECT            every row of both databases for the project, as JSON
"""

from __future__ import annotations

import json
import sys

import apsw

DB = "/var/lib/codeanalysisd/index.sqlite3"
HISTORY = "/var/lib/codeanalysisd/history.sqlite3"


def connect() -> apsw.Connection:
    db = apsw.Connection(DB)
    db.execute("ATTACH DATABASE ? AS history", (HISTORY,))
    db.execute("PRAGMA foreign_keys = ON")
    return db


EDITS = {
    # on disk, but the row says deleted
    "revive-case": "UPDATE files SET state = 'deleted' WHERE project_id = ? AND path = ?",
    # on disk, but the row holds other content
    "stale-case": "UPDATE files SET sha256 = zeroblob(32) WHERE project_id = ? AND path = ?",
    # the index lost the row (on disk: to be indexed; only in the history: a deleted row)
    "drop-row": "DELETE FROM files WHERE project_id = ? AND path = ?",
    # the version store lost the file's history (gone from disk too: the 'lost' case)
    "drop-history": "DELETE FROM history.versions WHERE project_id = ? AND path = ?",
}


def dump(project: str) -> dict:
    db = connect()
    files = db.execute("SELECT path, state, size, mtime_ns, hex(sha256), parsed, problems, syntax, indexed_at "
                       "FROM files WHERE project_id = ? ORDER BY path", (project,)).fetchall()
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("blobs", "definitions", "imports", "refs", "text_chunks", "history.contents")}
    versions = db.execute("SELECT path, n, hex(sha256), at, reason, present, other_path FROM history.versions "
                          "WHERE project_id = ? ORDER BY path, n", (project,)).fetchall()
    return {"files": files, "counts": counts, "versions": versions}


if __name__ == "__main__":
    cmd, project, *paths = sys.argv[1:]
    if cmd == "dump":
        json.dump(dump(project), sys.stdout)
    else:
        db = connect()
        with db:
            for path in paths:
                db.execute(EDITS[cmd], (project, path))
