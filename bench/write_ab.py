"""The DB owner's writes of this tree against another version's, side by side in one run.

In process, without the sandbox (the figures are the writer's and SQLite's, not the
suite's): the standard library of `python3` on PATH (site-packages, dist-packages and
__pycache__ left out) is indexed by each version's own code, each run from its own tree
(the other is a `git worktree` of ``--before``, by default this tree's HEAD^), in a
subprocess of its own, the versions taking turns for --rounds rounds:
  - the first index: every file read and extracted (not timed), then written by
    `Writes.files.index` in batches of 64, one transaction each (timed);
  - saves: each of the first --edits files in walk order (the files bench/index_stdlib.py
    edits) has a function appended and is read, extracted and written again, one file per
    transaction, --gap seconds apart; the write alone is timed, commit included.
Each round starts from empty state directories. Once both have run, the two databases of the
last round are compared: every window of text, every definition, and the answers of
full-text and sym: queries must be equal.

  .venv/bin/python bench/write_ab.py [--before REV] [--stdlib DIR] [--edits 200] [--gap 0.03] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
LEFT_OUT = {"site-packages", "dist-packages", "__pycache__"}
BATCH = 64
MAX_PARSE = 1 << 20
SEARCHES = ("self", "unified diff", "raise ValueError", "sym:parse", "kind:class sym:Error", "return None", "sym:pars")


def probe(stdlib: pathlib.Path, work: pathlib.Path, edits: int, gap: float) -> dict[str, object]:
    """Run inside one version's tree (``codeanalysisd`` imported from it)."""
    from saves import timed_saves

    import codeanalysisd
    from codeanalysisd.db.store import Store
    from codeanalysisd.index.membership import ProjectFiles
    from codeanalysisd.index.reading import file_update, read_file
    from codeanalysisd.paths import roots_overlap

    root = work / "stdlib"
    shutil.copytree(stdlib, root, symlinks=True, ignore=shutil.ignore_patterns(*LEFT_OUT))
    files = ProjectFiles(str(root))
    rels = sorted(files.walk(""))
    updates = [file_update(item, MAX_PARSE)[0] for item in (read_file(files.tree, rel) for rel in rels)
               if item is not None]
    store, _ = Store.open(str(work / "index.sqlite3"), str(work / "history.sqlite3"))
    try:
        project = store.writes.projects.add(str(root), roots_overlap).id
        started = time.perf_counter()
        for at in range(0, len(updates), BATCH):
            store.writes.files.index(project, updates[at:at + BATCH])
        first = time.perf_counter() - started
        del updates
        saves = timed_saves(store, project, str(root), list(files.walk())[:edits], gap, "save", MAX_PARSE)
    finally:
        store.close()
    return {"package": codeanalysisd.__file__, "files": len(rels), "first_s": first,
            "saves_ms": [s * 1000 for s in saves]}


def contents(work: pathlib.Path) -> dict[str, object]:
    """What a database answers, keyed so that two versions' can be compared (ids left out)."""
    sys.path.insert(0, str(REPO))
    from codeanalysisd.db.store import Store
    from codeanalysisd.db.stored_text import stored_windows

    store, _ = Store.open(str(work / "index.sqlite3"), str(work / "history.sqlite3"))
    try:
        db = store.db
        # Opened by this tree's Store, both versions' databases are of its schema.
        windows = [(path, start, text) for file_id, path in db.execute("SELECT id, path FROM files ORDER BY path")
                   for start, (_, text) in sorted(stored_windows(db, file_id).items())]
        definitions = db.execute(
            "SELECT f.path, d.qualname, d.name, d.kind, d.line, d.col, d.end_line, d.decorators, "
            "d.signature, d.docstring FROM definitions d JOIN files f ON f.id = d.file_id "
            "ORDER BY 1, 5, 6, 2").fetchall()
        found = {q: [(h.path, h.line, h.symbol, h.snippet) for h in store.reads.files.search(q, None, 50)]
                 for q in SEARCHES}
        return {"windows": len(windows), "definitions": len(definitions),
                "digest": hash((tuple(windows), tuple(definitions), repr(found)))}
    finally:
        store.close()


def pct(ms: list[float], q: float) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="HEAD^")
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.03)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from stdlib_box import default_stdlib

    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    if args.probe:
        print(json.dumps(probe(stdlib, pathlib.Path(args.probe), args.edits, args.gap)))
        return
    from versions import other_version, probe_in

    runs: dict[str, list[dict[str, object]]] = {"this tree": [], "before": []}
    probe_args = ("--stdlib", str(stdlib), "--edits", str(args.edits), "--gap", str(args.gap))
    with other_version(args.before, "write_ab.") as (work, tree, revision):
        for r in range(args.rounds):
            for label, source in (("before", tree), ("this tree", REPO)):
                state = work / f"{label.replace(' ', '_')}{r}"
                runs[label].append(probe_in(source, __file__, state, *probe_args))
                if r < args.rounds - 1:
                    shutil.rmtree(state)
        last = args.rounds - 1
        theirs, ours = contents(work / f"before{last}"), contents(work / f"this_tree{last}")
    print(f"corpus: {stdlib}: {runs['this tree'][0]['files']} files; before: {revision}; "
          f"{args.rounds} rounds, the versions taking turns")
    print("\n| | this tree | before |\n| --- | --- | --- |")
    first = {k: statistics.median(float(r["first_s"]) for r in v) for k, v in runs.items()}
    print(f"| the first index written (batches of {BATCH}), median | {first['this tree']:.2f} s | "
          f"{first['before']:.2f} s |")
    each = {k: ", ".join(f"{float(r['first_s']):.2f}" for r in v) for k, v in runs.items()}
    print(f"| each round | {each['this tree']} s | {each['before']} s |")
    figures = {}
    for label, rounds in runs.items():
        per = [(statistics.median(ms), pct(ms, 0.99), max(ms)) for ms in (list(map(float, r["saves_ms"]))
                                                                          for r in rounds)]
        figures[label] = [statistics.median(p[i] for p in per) for i in range(3)]
    print(f"| a saved file's write, p50 / p99 / max ({args.edits} edits, medians of the rounds) | "
          + " | ".join("{:.1f} / {:.1f} / {:.1f} ms".format(*figures[k]) for k in ("this tree", "before")) + " |")
    print(f"\nwindows {ours['windows']} / {theirs['windows']}, definitions {ours['definitions']} / "
          f"{theirs['definitions']}")
    same = ours == theirs
    print(f"every window, definition and answer equal between the two: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
