"""In-sandbox half of bench/db_size.py: where the bytes of each database go, by SQLite's
own dbstat table, read-only beside the running owner; and what reading a file's stored
content back costs, its row read beside its unpacking (db/packing.py) where the index packs
them. Prints one JSON object.

    /usr/lib/codeanalysisd/bin/python dbstat_probe.py INDEX_DB [DB...]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import apsw

from codeanalysisd.db import migrations, packing, stored_text

# shadow tables of a virtual table are counted with it: fts5 (fts_data, fts_idx, ...) and
# sqlite-vec's vec0 (NAME_chunks, NAME_rowids, NAME_vector_chunks00, ...)
VIRTUAL_PREFIXES = ("fts_",)


def family(name: str, owner_of: dict[str, str], virtual: list[str]) -> str:
    """The table an object belongs to: an index to its table, a shadow table to its virtual table."""
    if name in virtual:
        return name
    for v in virtual:
        if name.startswith(v + "_"):
            return v
    return owner_of.get(name, name)


def measure(path: str) -> dict[str, object]:
    db = apsw.Connection(f"file:{path}?mode=ro", flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    owner_of = {name: table for name, table in db.execute("SELECT name, tbl_name FROM sqlite_schema")}
    virtual = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")]
    objects = []
    for name, pages, payload, unused in db.execute(
            "SELECT name, SUM(pgsize), SUM(payload), SUM(unused) FROM dbstat GROUP BY name"):
        objects.append({"name": name, "table": family(name, owner_of, virtual), "bytes": pages,
                        "payload": payload, "unused": unused})
    page_size, pages, free = (db.execute(f"PRAGMA {p}").fetchall()[0][0]
                              for p in ("page_size", "page_count", "freelist_count"))
    # The database's size is its pages: the file alone misses what is still in its write-ahead
    # log (a history written in one burst can sit there until the next checkpoint).
    return {"db_bytes": pages * page_size, "pages": pages, "page_size": page_size, "free_pages": free,
            "objects": sorted(objects, key=lambda o: -o["bytes"])}


def content_reads(path: str) -> dict[str, object]:
    """Every content the index keeps, each read whole as GetFileSource reads it, in ms: its
    rows (one, whole, before migrations.CONTENT_WINDOWS; a row per window since), then their
    unpacking (packed since migrations.PACKED_BLOBS)."""
    db = apsw.Connection(f"file:{path}?mode=ro", flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    version = migrations.schema_version(db)
    packed = version >= migrations.PACKED_BLOBS
    windowed = version >= migrations.CONTENT_WINDOWS
    rows, unpacks, largest = [], [], (0, 0.0, 0.0)
    for (sha256,) in db.execute("SELECT sha256 FROM blobs").fetchall():
        started = time.perf_counter()
        if windowed:
            parts = [p for (p,) in db.execute("SELECT w.packed FROM blobs b JOIN blob_windows w ON w.blob = b.id "
                                              "WHERE b.sha256 = ? ORDER BY w.n", (sha256,))]
        else:
            parts = [db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()[0]]
        read = time.perf_counter()
        if windowed:
            size = len(b"".join(map(stored_text.unpack_window, parts)))
        else:
            size = len(packing.unpack(parts[0])) if packed else len(parts[0])
        done = time.perf_counter()
        rows.append((read - started) * 1e3)
        unpacks.append((done - read) * 1e3 if packed else 0.0)
        if size > largest[0]:
            largest = (size, rows[-1], unpacks[-1])
    return {"contents": len(rows), "packed": packed, "row_ms_p50": statistics.median(rows),
            "unpack_ms_p50": statistics.median(unpacks), "row_s_total": sum(rows) / 1e3,
            "unpack_s_total": sum(unpacks) / 1e3, "largest_bytes": largest[0], "largest_row_ms": largest[1],
            "largest_unpack_ms": largest[2]}


def main() -> None:
    """Arguments: the index, then the other databases."""
    found = {path: measure(path) for path in sys.argv[1:]}
    json.dump({"databases": found, "content_reads": content_reads(sys.argv[1])}, sys.stdout)


if __name__ == "__main__":
    main()
