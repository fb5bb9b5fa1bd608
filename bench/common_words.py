"""A one-word full-text query answered from its word's memo (db/common_words.py) against
FTS5 ranking every window that holds the word (queries._best_windows without the memo), side
by side in one run, on one database, through edits.

In process, without the sandbox (the figures are SQLite's and the query code's, not the
bus's): ``--copies`` copies of the standard library of `python3` on PATH (site-packages and
dist-packages left out), each a project of its own, indexed by the suite's writer
(`versions.index_in_process`). The words are not chosen by hand: the terms of the full-text
index found in common_words.MIN_WINDOWS windows or more (those a memo is kept for), at most
``--words`` of them taken evenly along their order by number of windows, the most common
first. Each round asks every word of both ways, limit 20, over every project (ranked by
FTS5 alone, queries._best_windows) and in the first project (ranked joined to the files,
as a filtered query is: queries.search without the memo), and compares the answers; between
rounds one file of the first copy is saved again with a function appended (written by
`Writes.files.index`, as the watcher's save is), so a memo looks up the windows written
since it was made. Each figure is a word's median over the rounds; the memo is made once
per word before the first round, and that time is reported beside FTS5's.

  .venv/bin/python bench/common_words.py [--copies 1] [--rounds 9] [--words 40] [--stdlib DIR]
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

LIMIT = 20
APPENDED = "\n\ndef _bench_saved_{n}(self):\n    return self.value + {n}\n"


def main() -> None:
    from stdlib_box import default_stdlib
    from versions import index_in_process, percentiles

    from codeanalysisd.db import common_words, queries
    from codeanalysisd.db.common_words import CommonWords, Memo
    from codeanalysisd.index.reading import file_update, read_file
    from codeanalysisd.tree import Tree

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--stdlib", default=None)
    args = parser.parse_args()
    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    with tempfile.TemporaryDirectory(prefix="common_words.") as tmp:
        store, project, files, write = index_in_process(stdlib, pathlib.Path(tmp), args.copies)
        print(f"indexed {files * args.copies} files ({args.copies} copies) in {write:.1f} s of writes")
        db = store.reader
        db.execute("CREATE VIRTUAL TABLE temp.bench_terms USING fts5vocab(main, 'fts', 'row')")
        common_terms = [t for (t,) in db.execute(
            "SELECT term FROM temp.bench_terms WHERE doc >= ? ORDER BY doc DESC, term", (common_words.MIN_WINDOWS,))]
        step = max(1, len(common_terms) // args.words)
        words = ['"' + t.replace('"', '""') + '"' for t in common_terms[::step][:args.words]]
        windows = dict(db.execute("SELECT term, doc FROM temp.bench_terms WHERE doc >= ?", (common_words.MIN_WINDOWS,)))
        print(f"{len(common_terms)} terms in {common_words.MIN_WINDOWS} windows or more; {len(words)} asked")

        common = CommonWords()
        built: dict[str, float] = {}
        for word in words:
            started = time.perf_counter()
            memo = common_words.make(db, word)
            built[word] = (time.perf_counter() - started) * 1000
            assert isinstance(memo, Memo), word
            common.keep(memo, word)
            common.keep(common_words.make(db, word, project), word, project)

        edited = [p for p in sorted(stdlib.rglob("*.py")) if "site-packages" not in p.parts
                  and "dist-packages" not in p.parts and "__pycache__" not in p.parts][:args.rounds]
        saved_root = pathlib.Path(tmp) / "saved"
        plain_ms: dict[str, list[float]] = {w: [] for w in words}
        memo_ms: dict[str, list[float]] = {w: [] for w in words}
        joined_ms: dict[str, list[float]] = {w: [] for w in words}
        in_project_ms: dict[str, list[float]] = {w: [] for w in words}
        differ = from_memo = asked = in_project = 0
        for n in range(args.rounds):
            for word in words:
                started = time.perf_counter()
                expected = list(queries._best_windows(db, word, LIMIT))
                plain_ms[word].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                got = list(queries._best_windows(db, word, LIMIT, common))
                memo_ms[word].append((time.perf_counter() - started) * 1000)
                asked += 1
                differ += got != expected
                with db:
                    for scope, memo in ((None, common.memo(word)), (project, common.memo(word, project))):
                        told = isinstance(memo, Memo) and common_words.answer(db, word, memo, LIMIT) is not None
                        from_memo += told and scope is None
                        in_project += told and scope is not None
                # In one project: whole searches (the query read as a search's), the answers compared.
                text = word.strip('"')
                started = time.perf_counter()
                expected_hits = queries.search(db, text, project, LIMIT)
                joined_ms[word].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                hits = queries.search(db, text, project, LIMIT, common=common)
                in_project_ms[word].append((time.perf_counter() - started) * 1000)
                asked += 1
                differ += hits != expected_hits
            # A save of one file, as the watcher writes it: its windows are logged.
            source = edited[n % len(edited)]
            rel = str(source.relative_to(stdlib))
            target = saved_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes() + APPENDED.format(n=n).encode())
            update = file_update(read_file(Tree(str(saved_root)), rel), 1 << 20)[0]
            store.writes.files.index(project, [update])  # type: ignore[list-item]

        print(f"\nanswers: {asked} asked of both ways, {differ} differing; of the {asked // 2} over every project "
              f"{from_memo} and of the {asked // 2} in one project {in_project} the memo could tell (FTS5 ranked the "
              "rest, and a new memo was made)")
        print(f"\n{'word':>16} {'windows':>8} {'FTS5 ranks all, ms':>19} {'from the memo, ms':>18} "
              f"{'making the memo, ms':>20} {'one project: search, ms':>24} {'with the memo, ms':>18}")
        for word in words:
            print(f"{word:>16} {windows[word.strip(chr(34))]:>8} {statistics.median(plain_ms[word]):>19.2f} "
                  f"{statistics.median(memo_ms[word]):>18.3f} {built[word]:>20.1f} "
                  f"{statistics.median(joined_ms[word]):>24.2f} {statistics.median(in_project_ms[word]):>18.3f}")
        plain_all = [statistics.median(v) for v in plain_ms.values()]
        memo_all = [statistics.median(v) for v in memo_ms.values()]
        print(f"\nover the {len(words)} words' medians: FTS5 {percentiles(plain_all)}; "
              f"the memo {percentiles(memo_all)}; making the memo {percentiles(list(built.values()))}")
        print(f"in one project, whole searches: without the memo "
              f"{percentiles([statistics.median(v) for v in joined_ms.values()])}; with it "
              f"{percentiles([statistics.median(v) for v in in_project_ms.values()])}")
        store.close()


if __name__ == "__main__":
    main()
