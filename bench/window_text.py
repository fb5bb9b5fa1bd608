"""The full-text windows' text kept packed beside a contentless index (migration 16,
``window_texts``) against FTS5 keeping its own plain copy, the code before it: the bytes of
the full-text tables, the time to write them, and Search, side by side in one run.

In process, without the sandbox (the figures are SQLite's and the query code's, not the
bus's): the standard library of `python3` on PATH (site-packages and dist-packages left out,
as bench/db_size.py's copy leaves them) is indexed by each version's own writer
(`Writes.files.index`, batches of 64), each version run from its own tree (the one before is
a `git worktree` of ``--before``, by default the parent of the commit that added
WINDOW_TEXTS), one after the other, each database vacuumed before its bytes are counted.

The queries are the same for both: the query language's set (`bench/index_probe.py`,
LANGUAGE_QUERIES: every operator, regexes and the worst case among them), and words of the
corpus not chosen by hand: every 400th term of the full-text index's vocabulary in sorted
order that has three characters or more, each asked as written, and with ``case:yes`` (a
filtered query, which reads each candidate window's text). Limit 20, every project, each
query's best of ``--rounds`` runs. Each answer is compared between the two versions.

  .venv/bin/python bench/window_text.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
# The full text's tables, and where the windows' text is kept: window_texts (schema 16 to 22),
# or as the windows of each content beside the whole (blobs, blob_windows since schema 23).
TABLES = ("fts", "window_texts", "text_chunks", "blobs", "blob_windows")
EVERY_NTH_TERM = 400


def probe(stdlib: pathlib.Path, work: pathlib.Path, rounds: int) -> dict[str, object]:
    """Run inside one version's tree (``codeanalysisd`` imported from it)."""
    import apsw
    from index_probe import LANGUAGE_QUERIES
    from versions import index_in_process

    import codeanalysisd

    store, _, files, write = index_in_process(stdlib, work)
    db = store.db
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_terms USING fts5vocab(main, 'fts', 'row')")
    terms = [t for (t,) in db.execute("SELECT term FROM temp.bench_terms ORDER BY term") if len(t) >= 3]
    words = terms[::EVERY_NTH_TERM]
    language = [spec[4][0] for spec in LANGUAGE_QUERIES if spec[2] == "Search"]
    reads = store.reads.files

    def timed(queries: list[str]) -> tuple[list[float], dict[str, str]]:
        samples: dict[str, list[float]] = {q: [] for q in queries}
        answers: dict[str, str] = {}
        for _ in range(rounds):
            for query in queries:
                started = time.perf_counter()
                found = reads.search(query, None, 20)
                samples[query].append(time.perf_counter() - started)
                answers[query] = repr([(h.project, h.path, h.line, h.symbol, h.snippet, round(h.score, 6))
                                       for h in found])
        return [min(s) for s in samples.values()], answers

    language_ms, language_answers = timed(language)
    word_ms, word_answers = timed(words)
    case_ms, case_answers = timed([f"{w} case:yes" for w in words])
    store.close()
    vacuumed = apsw.Connection(str(work / "index.sqlite3"))
    vacuumed.execute("VACUUM")
    named = ", ".join(f"'{t}'" for t in TABLES[1:])
    sizes = dict(vacuumed.execute(
        "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
        f"WHERE m.tbl_name LIKE 'fts%' OR m.tbl_name IN ({named}) GROUP BY m.tbl_name"))
    fts = sum(v for k, v in sizes.items() if k.startswith("fts"))
    objects = dict(vacuumed.execute(
        "SELECT d.name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
        f"WHERE m.tbl_name LIKE 'fts%' OR m.tbl_name IN ({named}) GROUP BY d.name"))
    windows = vacuumed.execute("SELECT count(*) FROM text_chunks").fetchone()[0]
    total = (work / "index.sqlite3").stat().st_size
    vacuumed.close()
    return {"package": codeanalysisd.__file__, "files": files, "write_s": write,
            "sizes": {"fts": fts, **{t: sizes.get(t, 0) for t in TABLES[1:]}},
            "objects": objects, "windows": windows, "index_bytes": total,
            "language": dict(zip(language, (s * 1000 for s in language_ms), strict=True)),
            "language_answers": language_answers,
            "words_ms": [s * 1000 for s in word_ms], "case_ms": [s * 1000 for s in case_ms], "words": len(words),
            "word_answers": word_answers, "case_answers": case_answers}




def main(script: str = __file__, description: str = __doc__ or "", change: str = "WINDOW_TEXTS = 16",
         headings: tuple[str, str] = ("packed beside a contentless index (this tree)", "FTS5's own copy (before)")
         ) -> None:
    """The comparison of ``change`` (a line it added to the migrations) with the version
    before it, run as ``script`` (this one, or another that compares a later change of the
    same tables); ``headings``: the two columns'."""
    sys.path.insert(0, str(REPO / "bench"))
    from versions import compared, percentiles

    ran = compared(script, description, change, probe)
    if ran is None:
        return
    old, new, revision, stdlib = ran
    print(f"corpus: {stdlib}: {new['files']} files, {new['windows']:,} windows; before: {revision}")
    print(f"\n| | {headings[0]} | {headings[1]} |\n| --- | --- | --- |")
    for table in TABLES:
        print(f"| `{table}` | {new['sizes'].get(table, 0) / 1e6:.1f} MB | {old['sizes'].get(table, 0) / 1e6:.1f} MB |")
    together = (sum(new["sizes"].values()), sum(old["sizes"].values()))
    print(f"| these tables | {together[0] / 1e6:.1f} MB | {together[1] / 1e6:.1f} MB |")
    print(f"| index.sqlite3, vacuumed | {new['index_bytes'] / 1e6:.1f} MB | {old['index_bytes'] / 1e6:.1f} MB |")
    print(f"| writing every file (Writes.files.index) | {new['write_s']:.1f} s | {old['write_s']:.1f} s |")
    for query, ms in new["language"].items():
        print(f"| `{query}` | {ms:.2f} ms | {old['language'][query]:.2f} ms |")
    print(f"| {new['words']} words of the corpus | {percentiles(new['words_ms'])} | {percentiles(old['words_ms'])} |")
    print(f"| the same with case:yes | {percentiles(new['case_ms'])} | {percentiles(old['case_ms'])} |")
    print("\nobjects (this tree / before):", json.dumps(new["objects"]), json.dumps(old["objects"]))
    keys = ("language_answers", "word_answers", "case_answers")
    same = all(new[k] == old[k] for k in keys)
    print(f"every answer equal between the two: {same}")
    if not same:
        differ = [q for k in keys for q in new[k] if new[k][q] != old[k].get(q)]
        print("differing:", differ[:20])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
