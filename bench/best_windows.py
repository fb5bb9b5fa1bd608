"""An unfiltered full-text query ranked by FTS5 alone, its best windows joined to their files
after (queries._best_windows), against every matching window joined to its file before the
ranking (the query as it was, and as a filtered query still runs): side by side in one run,
on one database.

In process, without the sandbox (the figures are SQLite's and the query code's, not the
bus's): ``--copies`` copies of the standard library of `python3` on PATH (site-packages and
dist-packages left out, as bench/db_size.py's copy leaves them), each a project of its own,
indexed by the suite's writer (`versions.index_in_process`: `Writes.files.index`, batches of
64). The words are not
chosen by hand: the ten terms of the full-text index found in the most windows, and every
400th term of its vocabulary in sorted order that has three characters or more. Each word is
asked of both, alternately, ``--rounds`` times, limit 20 over every project, and the two
answers compared; each figure is a word's median.

  .venv/bin/python bench/best_windows.py [--copies 1] [--rounds 9] [--stdlib DIR]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

# The query before: every matching window joined to its file, then ranked.
JOINED = ("SELECT c.id AS chunk, f.project_id, f.path, f.id, c.start_line, bm25(fts) AS score "
          "FROM fts JOIN text_chunks c ON c.id = fts.rowid JOIN files f ON f.id = c.file_id "
          "WHERE fts MATCH ? AND f.state = 'live' ORDER BY score, c.id LIMIT ?")
LIMIT = 20
TOP_TERMS = 10
EVERY_NTH_TERM = 400


def main() -> None:
    from stdlib_box import default_stdlib
    from versions import index_in_process, percentiles

    from codeanalysisd.db import queries

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--stdlib", default=None)
    args = parser.parse_args()
    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    with tempfile.TemporaryDirectory(prefix="best_windows.") as tmp:
        store, _, files, write = index_in_process(stdlib, pathlib.Path(tmp), args.copies)
        files *= args.copies
        db = store.db
        db.execute("CREATE VIRTUAL TABLE temp.bench_terms USING fts5vocab(main, 'fts', 'row')")
        top = [t for (t,) in db.execute(f"SELECT term FROM temp.bench_terms ORDER BY doc DESC, term LIMIT {TOP_TERMS}")]
        sampled = [t for (t,) in db.execute("SELECT term FROM temp.bench_terms ORDER BY term")
                   if len(t) >= 3][::EVERY_NTH_TERM]
        windows = db.execute("SELECT count(*) FROM text_chunks").fetchone()[0]
        print(f"corpus: {args.copies} cop(ies) of {stdlib}: {files:,} files, {windows:,} windows; "
              f"written in {write:.1f} s; limit {LIMIT}, {args.rounds} rounds each")

        def timed(word: str) -> tuple[float, float, int]:
            match = f'"{word}"'
            joined, best = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                before = list(db.execute(JOINED, (match, LIMIT)))
                joined.append(time.perf_counter() - started)
                started = time.perf_counter()
                after = list(queries._best_windows(db, match, LIMIT))
                best.append(time.perf_counter() - started)
                if after != before:
                    raise SystemExit(f"the answers to {word!r} differ:\n{before}\n{after}")
            found = db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (match,)).fetchone()[0]
            return statistics.median(joined) * 1e3, statistics.median(best) * 1e3, found

        print("\n| word | windows holding it | joined, then ranked (before) | ranked, then joined | ratio |")
        print("| --- | --- | --- | --- | --- |")
        for word in top:
            before, after, found = timed(word)
            print(f"| `{word}` | {found:,} | {before:.2f} ms | {after:.2f} ms | {after / before:.2f} |")
        results = [timed(word) for word in sampled]
        print(f"| {len(sampled)} words of the vocabulary | {statistics.median(r[2] for r in results):,.0f} (median) "
              f"| {percentiles([r[0] for r in results])} | {percentiles([r[1] for r in results])} | |")
        print("every answer equal between the two: True")
        store.close()


if __name__ == "__main__":
    main()
