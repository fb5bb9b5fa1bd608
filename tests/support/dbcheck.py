"""Read-only look at the index database from inside the sandbox (run as root by the tests).

Prints JSON. The owner is the only writer; a WAL reader alongside it is safe and sees
committed data.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import apsw

DB = "/var/lib/codeanalysisd/index.sqlite3"


def files(project: str) -> dict:
    """The files rows only (no derived rows): cheap enough to poll."""
    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY)
    return {"files": {path: {"id": fid, "state": state, "sha256": bytes(sha).hex()}
                      for fid, path, state, sha in db.execute(
                          "SELECT id, path, state, sha256 FROM files WHERE project_id = ?", (project,))}}


def rows(project: str) -> dict:
    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY)
    files = {path: {"id": fid, "state": state, "sha256": bytes(sha).hex(), "parsed": parsed, "problems": problems,
                    "syntax": syntax}
             for fid, path, state, sha, parsed, problems, syntax in db.execute(
                 "SELECT id, path, state, sha256, parsed, problems, syntax FROM files WHERE project_id = ?",
                 (project,))}
    derived = {}
    for path, info in files.items():
        fid = info["id"]
        derived[path] = {
            "definitions": sorted(db.execute(
                "SELECT qualname, kind, line, col, end_line, signature FROM definitions WHERE file_id = ?",
                (fid,)).fetchall()),
            "refs": sorted(db.execute("SELECT name, kind, line, col, scope FROM refs WHERE file_id = ?",
                                      (fid,)).fetchall()),
            "imports": sorted(db.execute("SELECT module, name, line FROM imports WHERE file_id = ?",
                                         (fid,)).fetchall()),
            "fts": sorted(db.execute("SELECT c.start_line, fts.text FROM text_chunks c JOIN fts ON fts.rowid = c.id "
                                     "WHERE c.file_id = ?", (fid,)).fetchall()),
        }
    orphans = db.execute("SELECT count(*) FROM fts WHERE rowid NOT IN (SELECT id FROM text_chunks)").fetchone()[0]
    return {"files": files, "derived": derived, "fts_orphans": orphans,
            "integrity": db.execute("PRAGMA integrity_check").fetchone()[0]}


def disk(root: str) -> dict[str, str]:
    """sha256 of every project file on disk, by the suite's own membership rule."""
    from codeanalysisd.index.membership import ProjectFiles

    out = {}
    for rel in ProjectFiles(root).walk():
        with open(os.path.join(root, rel), "rb") as f:
            out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


if __name__ == "__main__":
    what = sys.argv[1]
    result = {"rows": rows, "files": files, "disk": disk}[what](sys.argv[2])
    json.dump(result, sys.stdout)
