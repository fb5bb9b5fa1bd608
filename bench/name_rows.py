"""Where the bytes of the name occurrences go (refs, uses and the scopes they number), column
by column, in the compact rows and in the rows of schema 11, over the same index; and how long
the upgrade from schema 11 takes.

In process, without the sandbox (the figures are SQLite's, not the suite's): the standard
library of `python3` on PATH (site-packages and dist-packages left out, as bench/db_size.py's
copy leaves them) is indexed by the package's own writer (`Writes.files.index`, batches of 64).
The rows of schema 11 are the same rows taken back by `tests/unit/old_schema.py`'s
`UNDO_COMPACT_NAMES` (the unit tests check they are what schema 11 held); both databases are
vacuumed before they are measured, so neither pays for the other's free pages. The upgrade is
`Store.open` of that database: migration 12, in one transaction.

  .venv/bin/python bench/name_rows.py [--stdlib DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import time

import apsw

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from old_schema import UNDO_COMPACT_NAMES  # noqa: E402
from stdlib_box import default_stdlib  # noqa: E402

from codeanalysisd.db import migrations  # noqa: E402
from codeanalysisd.db.store import Store  # noqa: E402
from codeanalysisd.paths import roots_overlap  # noqa: E402
from codeanalysisd.repair.disk import from_bytes  # noqa: E402

TABLES = ("refs", "uses", "scopes")
LEFT_OUT = {"site-packages", "dist-packages", "__pycache__"}


def index(stdlib: pathlib.Path, where: pathlib.Path) -> tuple[int, float]:
    files = sorted(p for p in stdlib.rglob("*.py") if not LEFT_OUT & set(p.relative_to(stdlib).parts))
    store, _ = Store.open(str(where / "index.sqlite3"), str(where / "history.sqlite3"))
    try:
        project = store.writes.projects.add(str(stdlib), roots_overlap).id
        started = time.perf_counter()
        for at in range(0, len(files), 64):
            store.writes.files.index(project, [from_bytes(str(p.relative_to(stdlib)), data, len(data), 1, 1 << 20)
                                               for p in files[at:at + 64] for data in (p.read_bytes(),)])
        return len(files), time.perf_counter() - started
    finally:
        store.close()


def measure(path: pathlib.Path) -> dict[str, object]:
    db = apsw.Connection(str(path))
    db.execute("VACUUM")
    objects = {name: (table, size) for name, table, size in db.execute(
        "SELECT d.name, m.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
        f"WHERE m.tbl_name IN ({', '.join('?' * len(TABLES))}) GROUP BY d.name", TABLES)}
    columns = {}
    for table in {t for t, _ in objects.values()}:
        count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for _, column, kind, *_ in db.execute(f"PRAGMA table_info({table})").fetchall():
            if kind == "TEXT":
                columns[f"{table}.{column}"] = (count, db.execute(
                    f"SELECT coalesce(sum(length(CAST({column} AS BLOB))), 0) FROM {table}").fetchone()[0])
    total = path.stat().st_size
    db.close()
    return {"objects": objects, "columns": columns, "total": total}


def report(title: str, m: dict[str, object]) -> None:
    objects = m["objects"]
    assert isinstance(objects, dict)
    print(f"\n{title}: index.sqlite3 {m['total'] / 1e6:.1f} MB (vacuumed); these tables "
          f"{sum(s for _, s in objects.values()) / 1e6:.1f} MB")
    print("| object | of | MB |\n| --- | --- | --- |")
    for name, (table, size) in sorted(objects.items(), key=lambda o: -o[1][1]):
        print(f"| {name} | {table} | {size / 1e6:.1f} |")
    print("| text column | rows | MB of text |\n| --- | --- | --- |")
    columns = m["columns"]
    assert isinstance(columns, dict)
    for column, (rows, size) in sorted(columns.items(), key=lambda c: -c[1][1]):
        print(f"| {column} | {rows} | {size / 1e6:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--keep", default=None, help="a directory to leave the databases in")
    args = parser.parse_args()
    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="name_rows."))
    compact, old = work / "compact", work / "schema11"
    for d in (compact, old):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    files, seconds = index(stdlib, compact)
    print(f"corpus: {stdlib}: {files} files, indexed in process in {seconds:.1f} s")
    for name in ("index.sqlite3", "history.sqlite3"):
        shutil.copy(compact / name, old / name)
    db = apsw.Connection(str(old / "index.sqlite3"))
    with db:
        db.execute(UNDO_COMPACT_NAMES)
    db.execute(f"PRAGMA user_version = {migrations.COMPACT_NAMES - 1}")
    db.close()
    report("schema 11 (refs and uses as they were)", measure(old / "index.sqlite3"))
    report("schema 12 (compact rows)", measure(compact / "index.sqlite3"))
    started = time.perf_counter()
    store, opened = Store.open(str(old / "index.sqlite3"), str(old / "history.sqlite3"))
    upgrade = time.perf_counter() - started
    ok = store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    store.close()
    print(f"\nupgrade of the schema-11 database (Store.open, migrations {opened.applied}): {upgrade:.1f} s, "
          f"integrity_check {'ok' if ok else 'FAILED'}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
