"""Benchmark: the DB owner's write of one saved file, in one process, and what checkpoints add to it.

Over a copy of the standard library (the files the suite's membership rule takes), indexed
first by the suite's own writer (batches of 64, as the watcher sends them; timed, once with
the suite's checkpoints and once with SQLite's own), then each of the
first --edits files in walk order (as bench/index_probe.py's save -> visible edits) has a
function appended and is read, extracted and written again through `Store.writes`, one file
per transaction, as a save is. Timed: the write alone (`FileWrites.index`, commit included),
one edit after another with --gap seconds between them (a person's saves are apart; 0 is a
stream). Each arm starts from its own copy of the same index:
  - checkpoints as the suite takes them (`db/checkpoints.py`: on a thread of their own);
  - SQLite's own: `PRAGMA wal_autocheckpoint = 1000`, the commit past 1,000 pages copies
    the log into the database file (what the suite did before).
The arms alternate --rounds times; medians of their p50, p99 and max.

Also, in the same run, the part of a write that finds where docstrings end
(`index/chunking.py`): `chunks()` of the edited files as the suite cuts them, and with every
docstring's end found by the tokenizer, which the plain scan stands in for.

Run: .venv/bin/python bench/write_latency.py [--stdlib DIR] [--edits 200] [--gap 0.03] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from index_probe import pct  # noqa: E402
from saves import timed_saves  # noqa: E402
from stdlib_box import copy_stdlib_here  # noqa: E402

from codeanalysisd.db.store import Store  # noqa: E402
from codeanalysisd.index import chunking  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.index.reading import file_update, read_file  # noqa: E402
from codeanalysisd.index.record import FileUpdate  # noqa: E402
from codeanalysisd.paths import roots_overlap  # noqa: E402

BATCH = 64
MAX_PARSE = 1024 * 1024


def build(state: str, root: str, updates: list[FileUpdate], sqlite_checkpoints: bool) -> float:
    """Seconds to write the first index, in batches as the watcher sends them."""
    store, _ = Store.open(os.path.join(state, "index.sqlite3"), os.path.join(state, "history.sqlite3"))
    try:
        if sqlite_checkpoints:
            store.db.execute("PRAGMA wal_autocheckpoint = 1000")
        store.writes.projects.add(root, roots_overlap)
        project = store.reads.projects.list()[0].id
        started = time.perf_counter()
        for start in range(0, len(updates), BATCH):
            store.writes.files.index(project, updates[start:start + BATCH])
        return time.perf_counter() - started
    finally:
        store.close()


def edits(state: str, root: str, rels: list[str], sqlite_checkpoints: bool, gap: float, tag: str) -> list[float]:
    work = tempfile.mkdtemp(dir=os.path.dirname(state))
    for name in ("index.sqlite3", "history.sqlite3"):
        shutil.copy(os.path.join(state, name), os.path.join(work, name))
    store, _ = Store.open(os.path.join(work, "index.sqlite3"), os.path.join(work, "history.sqlite3"))
    try:
        if sqlite_checkpoints:
            store.db.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's hook again, in place of the suite's
        project = store.reads.projects.list()[0].id
        return timed_saves(store, project, root, rels, gap, tag, MAX_PARSE)
    finally:
        store.close()
        shutil.rmtree(work)


def chunk_times(root: str, rels: list[str]) -> tuple[float, float]:
    """Seconds of chunks() over the files, as the suite cuts them and with the tokenizer alone."""
    from codeanalysisd.index.extract import extract

    cases = []
    for rel in rels:
        data = pathlib.Path(root, rel).read_bytes()
        facts = extract(data)
        if not facts.parsed:
            continue
        lines = chunking.source_lines(data.decode(facts.encoding or "utf-8", "surrogateescape"))
        cases.append((lines, [chunking.Definition(d.qualname, d.kind, d.line, d.end_line, len(d.decorators),
                                                  d.parent, d.docstring is not None) for d in facts.definitions]))
    suite, tokenizer = chunking._docstring_end, chunking._tokenized_docstring_end
    times: dict[str, list[float]] = {"suite": [], "tokenizer": []}
    for _ in range(3):
        for label, find in (("suite", suite), ("tokenizer", tokenizer)):
            chunking._docstring_end = find
            started = time.perf_counter()
            cut = [chunking.chunks(lines, defs, True) for lines, defs in cases]
            times[label].append(time.perf_counter() - started)
            if label == "suite":
                ours = cut
            elif cut != ours:
                raise SystemExit("the plain scan and the tokenizer cut the files differently")
    chunking._docstring_end = suite
    return statistics.median(times["suite"]), statistics.median(times["tokenizer"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.03)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_stdlib_here(tmp, args.stdlib)
        files = ProjectFiles(root)
        rels = list(files.walk())[:args.edits]  # in walk order, as bench/index_probe.py edits them
        updates = [file_update(item, MAX_PARSE)[0] for item in
                   (read_file(files.tree, rel) for rel in sorted(files.walk(""))) if item is not None]
        state, other = os.path.join(tmp, "state"), os.path.join(tmp, "state-sqlite")
        os.mkdir(state)
        os.mkdir(other)
        ours = build(state, root, updates, False)
        theirs = build(other, root, updates, True)
        shutil.rmtree(other)
        print(f"corpus: {len(updates)} files; the first index written in batches of {BATCH}: {ours:.1f} s with the "
              f"suite's checkpoints, {theirs:.1f} s with SQLite's own (one run each)")
        print(f"{len(rels)} edits per round, {args.gap * 1000:.0f} ms apart, {args.rounds} round(s) per arm")
        figures: dict[str, list[tuple[float, float, float]]] = {"suite": [], "sqlite": []}
        for r in range(args.rounds):
            for label in ("suite", "sqlite"):
                ms = [s * 1000 for s in edits(state, root, rels, label == "sqlite", args.gap, f"{label}{r}")]
                figures[label].append((statistics.median(ms), pct(ms, 0.99), max(ms)))
        for label, title in (("suite", "checkpoints on their own thread (the suite)"),
                             ("sqlite", "SQLite's own checkpoints, in the commit")):
            p50, p99, most = (statistics.median(f[i] for f in figures[label]) for i in range(3))
            print(f"write of one saved file, {title:45s} p50 {p50:6.1f} ms, p99 {p99:6.1f} ms, max {most:6.1f} ms")
        plain, tokenized = chunk_times(root, rels)
        print(f"chunks() of the {len(rels)} edited files: {plain * 1000:.1f} ms as the suite cuts them, "
              f"{tokenized * 1000:.1f} ms with the tokenizer alone ({tokenized / plain:.1f}x)")


if __name__ == "__main__":
    main()
