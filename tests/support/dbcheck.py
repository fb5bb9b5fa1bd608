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


def whole(structure: int) -> bool:
    """Whether a file's facts are all written: not a showing of it, whose rest is still to come.
    (0 is ``db.indexing.SHOWN``, not imported: that import would add 45 ms to every poll.)"""
    return structure != 0


def files(project: str) -> dict:
    """The files rows only (no derived rows): cheap enough to poll; ``whole`` as ``whole``."""
    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY)
    return {"files": {path: {"id": fid, "state": state, "sha256": bytes(sha).hex(), "whole": whole(structure)}
                      for fid, path, state, sha, structure in db.execute(
                          "SELECT id, path, state, sha256, structure FROM files WHERE project_id = ?", (project,))}}


def rows(project: str) -> dict:
    from codeanalysisd.db import name_rows
    from codeanalysisd.db.stored_text import WINDOW_JOINS, stored_windows

    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY)
    files = {path: {"id": fid, "state": state, "sha256": bytes(sha).hex(), "parsed": parsed, "problems": problems,
                    "syntax": syntax, "nodes": nodes, "whole": whole(structure)}
             for fid, path, state, sha, parsed, problems, syntax, nodes, structure in db.execute(
                 "SELECT id, path, state, sha256, parsed, problems, syntax, nodes, structure FROM files "
                 "WHERE project_id = ?", (project,))}
    derived = {}
    for path, info in files.items():
        fid = info["id"]
        references, uses = name_rows.read(db, fid)
        derived[path] = {
            "definitions": sorted(db.execute(
                "SELECT qualname, kind, line, col, end_line, signature FROM definitions WHERE file_id = ?",
                (fid,)).fetchall()),
            "refs": sorted(references),
            "imports": sorted(db.execute("SELECT module, name, line FROM imports WHERE file_id = ?",
                                         (fid,)).fetchall()),
            "fts": sorted((start, text) for start, (_, text) in stored_windows(db, fid).items()),
            "bindings": sorted(db.execute("SELECT scope, name, kind, value, line, col FROM bindings WHERE file_id = ?",
                                          (fid,)).fetchall()),
            "uses": sorted(uses),
        }
    orphans = db.execute("SELECT (SELECT count(*) FROM fts WHERE rowid NOT IN (SELECT id FROM text_chunks)) + "
                         # windows whose text the index does not keep
                         f"(SELECT count(*) FROM text_chunks) - (SELECT count(*) FROM text_chunks c {WINDOW_JOINS})"
                         ).fetchone()[0]
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


def vectors(_unused: str = "") -> dict:
    """Chunks against vectors, per model, read without the sqlite-vec extension: a vec0
    table's rows are counted in its shadow table <name>_rowids."""
    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY)
    one = lambda sql, *args: db.execute(sql, args).fetchone()[0]  # noqa: E731
    models = {}
    for model_id, name, dim, complete in db.execute("SELECT id, name, dim, complete FROM models ORDER BY id"):
        models[name] = {
            "dim": dim, "complete": complete is not None,
            "embeddings": one("SELECT count(*) FROM embeddings WHERE model_id = ?", model_id),
            "distinct_keys": one("SELECT count(DISTINCT key) FROM embeddings WHERE model_id = ?", model_id),
            "vec_rows": one(f"SELECT count(*) FROM vectors_{model_id}_rowids"),
            "missing": one("SELECT count(DISTINCT key) FROM chunks c WHERE NOT EXISTS "
                           "(SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.key = c.key)", model_id),
            "unused": one("SELECT count(*) FROM embeddings e WHERE e.model_id = ? AND NOT EXISTS "
                          "(SELECT 1 FROM chunks c WHERE c.key = e.key)", model_id),
        }
    return {"chunks": one("SELECT count(*) FROM chunks"), "chunk_keys": one("SELECT count(DISTINCT key) FROM chunks"),
            "models": models, "integrity": one("PRAGMA integrity_check")}


if __name__ == "__main__":
    what = sys.argv[1]
    result = {"rows": rows, "files": files, "disk": disk, "vectors": vectors}[what](*sys.argv[2:])
    json.dump(result, sys.stdout)
