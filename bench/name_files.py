"""Names found through their files (migration 15, ``ref_files`` and ``use_files``) against an
index of every occurrence by name (``refs_by_last``, ``uses_by_key``), the code before it:
the bytes of the name occurrences' tables, the time to write them, and FindReferences and the
structure's reads of uses by key, side by side in one run.

In process, without the sandbox (the figures are SQLite's, not the suite's): the standard
library of `python3` on PATH (site-packages and dist-packages left out, as bench/db_size.py's
copy leaves them) is indexed by each version's own writer (`Writes.files.index`, batches of
64), each version run from its own tree (the one before is a `git worktree` of ``--before``,
by default the parent of the commit that added NAME_FILES), one after the other, each
database vacuumed before it is measured.

The queries are the same for both: FindReferences (limit 20, every project, as `refs` asks)
of every 7th distinct last name of the corpus in sorted order plus the 20 commonest, dotted
where the corpus has it dotted too; and the uses of every 7th distinct key (uses_keyed, every
kind). Each answer is compared between the two versions.

  .venv/bin/python bench/name_files.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
TABLES = ("refs", "uses", "ref_files", "use_files", "use_heads")


def probe(stdlib: pathlib.Path, work: pathlib.Path, rounds: int) -> dict[str, object]:
    """Run inside one version's tree (``codeanalysisd`` imported from it)."""
    import apsw
    from versions import index_in_process

    import codeanalysisd
    from codeanalysisd.db import name_rows

    store, project, files, write = index_in_process(stdlib, work)
    db = store.db
    # The names as every version since NAME_FILES reads them back, whatever its rows' layout.
    lasts = [n for (n,) in db.execute("SELECT DISTINCT last FROM ref_files ORDER BY last")]
    commonest = [n for (n,) in db.execute("SELECT last FROM ref_files GROUP BY last ORDER BY sum(n) DESC, last "
                                          "LIMIT 20")]
    dotted: dict[str, str] = {}
    for (file_id,) in db.execute("SELECT id FROM files").fetchall():
        for reference in name_rows.read(db, file_id)[0]:
            qualifier, last = name_rows.split_dotted(reference.name)
            if qualifier is not None and reference.name < dotted.get(last, "\uffff"):
                dotted[last] = reference.name
    names = sorted(set(lasts[::7]) | set(commonest))
    names += sorted({dotted[n] for n in names if n in dotted})
    keys = [k for (k,) in db.execute("SELECT DISTINCT key FROM uses ORDER BY key")][::7]
    reads = store.reads
    facts = reads.structure.facts(project)
    kinds = ("name", "attribute", "call", "import")

    def timed(run, items) -> tuple[list[float], dict[str, list]]:
        samples: dict[str, list[float]] = {str(i): [] for i in items}
        answers: dict[str, list] = {}
        for _ in range(rounds):
            for item in items:
                started = time.perf_counter()
                found = run(item)
                samples[str(item)].append(time.perf_counter() - started)
                answers[str(item)] = json.loads(json.dumps(found, default=dataclasses.astuple))  # rows as lists
        return [min(s) for s in samples.values()], answers

    refs, ref_answers = timed(lambda n: reads.files.find_references(n, None, 20), names)
    uses, use_answers = timed(lambda k: list(facts.uses_keyed([k], kinds)), keys)
    # what a call graph reads of a function: its uses (every 40th scope of the corpus)
    scopes = [f"{file_id}:{scope}" for file_id, scope in db.execute(
        "SELECT file_id, qualname FROM scopes ORDER BY file_id, qualname").fetchall()[::40]]
    within, within_answers = timed(lambda s: list(facts.uses_in(int(s.split(":", 1)[0]), s.split(":", 1)[1])),
                                   scopes)
    store.close()
    vacuumed = apsw.Connection(str(work / "index.sqlite3"))
    vacuumed.execute("VACUUM")
    sizes = dict(vacuumed.execute(
        "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
        f"WHERE m.tbl_name IN ({', '.join('?' * len(TABLES))}) GROUP BY m.tbl_name", TABLES))
    objects = dict(vacuumed.execute(
        "SELECT d.name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
        f"WHERE m.tbl_name IN ({', '.join('?' * len(TABLES))}) GROUP BY d.name", TABLES))
    counts = {t: vacuumed.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in sizes}
    total = (work / "index.sqlite3").stat().st_size
    vacuumed.close()
    return {"package": codeanalysisd.__file__, "files": files, "write_s": write, "sizes": sizes,
            "objects": objects, "counts": counts, "index_bytes": total,
            "refs_ms": [s * 1000 for s in refs], "uses_ms": [s * 1000 for s in uses],
            "within_ms": [s * 1000 for s in within], "scopes": len(scopes), "within_answers": within_answers,
            "names": len(names), "keys": len(keys), "ref_answers": ref_answers, "use_answers": use_answers}




def main(script: str = __file__, description: str = __doc__ or "", change: str = "NAME_FILES = 15") -> None:
    """The comparison of ``change`` (a line it added to the migrations) with the version
    before it, run as ``script`` (this one, or another that compares a later change of the
    same tables)."""
    sys.path.insert(0, str(REPO / "bench"))
    from versions import compared, percentiles

    ran = compared(script, description, change, probe)
    if ran is None:
        return
    old, new, revision, stdlib = ran
    print(f"corpus: {stdlib}: {new['files']} files; before: {revision}")
    print("\n| | this tree | before |\n| --- | --- | --- |")
    for table in TABLES:
        if table in new["sizes"] or table in old["sizes"]:
            print(f"| `{table}` | {new['sizes'].get(table, 0) / 1e6:.1f} MB, {new['counts'].get(table, 0):,} rows "
                  f"| {old['sizes'].get(table, 0) / 1e6:.1f} MB, {old['counts'].get(table, 0):,} rows |")
    together = (sum(new["sizes"].values()), sum(old["sizes"].values()))
    print(f"| these tables with their indexes | {together[0] / 1e6:.1f} MB | {together[1] / 1e6:.1f} MB |")
    print(f"| index.sqlite3, vacuumed | {new['index_bytes'] / 1e6:.1f} MB | {old['index_bytes'] / 1e6:.1f} MB |")
    print(f"| writing every file (Writes.files.index) | {new['write_s']:.1f} s | {old['write_s']:.1f} s |")
    print(f"| FindReferences, {new['names']} names, limit 20 | {percentiles(new['refs_ms'])} "
          f"| {percentiles(old['refs_ms'])} |")
    print(f"| uses by key, {new['keys']} keys | {percentiles(new['uses_ms'])} | {percentiles(old['uses_ms'])} |")
    print(f"| uses in a scope, {new['scopes']} scopes | {percentiles(new['within_ms'])} "
          f"| {percentiles(old['within_ms'])} |")
    print("\nobjects (this tree / before):", json.dumps(new["objects"]), json.dumps(old["objects"]))
    differ = [n for n in new["ref_answers"] if new["ref_answers"][n] != old["ref_answers"].get(n)]
    differ += [k for k in new["use_answers"] if new["use_answers"][k] != old["use_answers"].get(k)]
    differ += [k for k in new["within_answers"] if new["within_answers"][k] != old["within_answers"].get(k)]
    by_case = [n for n in differ if n in new["ref_answers"] and only_by_case(n, new["ref_answers"][n],
                                                                              old["ref_answers"][n])]
    print(f"every answer equal between the two: {not differ}")
    if by_case:
        print(f"differing only where the version before matched a dotted name's qualifier ignoring case "
              f"(SQLite's LIKE): {by_case}")
    if set(differ) - set(by_case):
        print("differing:", [n for n in differ if n not in by_case][:20])
        raise SystemExit(1)


def only_by_case(name: str, new: list, old: list) -> bool:
    """Whether two answers of FindReferences (rows of Usage: project, path, name, ...) for
    ``name`` differ only by the rows an older version found by matching the qualifier of a
    dotted name with LIKE, which ignores case: each row the older answer has and the newer
    lacks is such a row, and each row the newer has and the older lacks comes after every
    row of a full older answer (the limit cut it off there)."""
    def by_case(row: list) -> bool:
        found = row[2]
        return (found != name and not found.endswith("." + name)
                and (found.lower() == name.lower() or found.lower().endswith("." + name.lower())))

    gone = [row for row in old if row not in new]
    added = [row for row in new if row not in old]
    return bool(gone) and all(by_case(row) for row in gone) and (not added or len(old) == 20)

if __name__ == "__main__":
    main()
