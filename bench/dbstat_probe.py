"""In-sandbox half of bench/db_size.py: where the bytes of each database go, by SQLite's
own dbstat table, read-only beside the running owner. Prints one JSON object.

    /usr/lib/codeanalysisd/bin/python dbstat_probe.py DB...
"""

from __future__ import annotations

import json
import sys

import apsw

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


def main() -> None:
    json.dump({path: measure(path) for path in sys.argv[1:]}, sys.stdout)


if __name__ == "__main__":
    main()
