"""Benchmark: the query language of Search over the whole standard library, through the bus.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
copies the standard library of `python3` on PATH into the sandbox, indexes it, waits until
every file's concrete syntax is verified (the watcher is then idle), stops the vectorizer
(so embedding does not share the two cores with the queries), and times each operator of
the language through the system bus (p50/p99 over N calls, 20 rows), beside Peer.Ping to the
same owner and `grep -rEc` of the same regular expressions over the tree (one run each).
Then the bytes of what serves sym: and kind: (the trigram index of definitions' names, the
index of definitions by file and line) beside the whole index database, by SQLite's dbstat
(`bench/dbstat_probe.py`).

Run as root after `make wheels`:
  .venv/bin/python bench/query_language.py [--stdlib DIR] [-n 200]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sandbox.box import wait_until  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/index_probe.py"
DBSTAT = "/opt/codeanalysisd-src/bench/dbstat_probe.py"
INDEX_DB = "/var/lib/codeanalysisd/index.sqlite3"
# the objects that serve sym: and kind: (dbstat_probe counts a virtual table's shadow tables with it)
SIZED = ("definition_names", "definitions_by_file_line")
# grep -E spellings of the probe's regular expressions (POSIX classes for \w)
GREP = {
    r'raise /raise \w+Error\(f"/': r'raise [[:alnum:]_]+Error\(f"',
    r"self /self\.\w+ = None$/": r"self\.[[:alnum:]_]+ = None$",
    r"import /^from \.+ import/": r"^from \.+ import",
}


def manager_property(box, name: str) -> int:
    out = box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1", "org.codeanalysis1.Manager",
                  name).stdout
    return int(out.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    stdlib = args.stdlib or default_stdlib()
    box = boot("query", stdlib)
    try:
        copy_stdlib(box)
        files = int(box.sh("find /srv/stdlib -name '*.py' | wc -l").stdout)
        box.systemctl("start", "codeanalysisd.target")
        box.run("codeanalysisctl", "add", "/srv/stdlib")
        # the membership rule leaves a few files out: indexed is "no more coming in"
        wait_until(lambda: manager_property(box, "FilesIndexed") >= files * 0.95, timeout=600, interval=0.5,
                   what="the stdlib indexed")
        wait_until(lambda: manager_property(box, "SyntaxPending") == 0, timeout=900, interval=0.5,
                   what="every file's concrete syntax verified")
        box.systemctl("stop", "codeanalysisd-vectorizer.service")
        indexed = manager_property(box, "FilesIndexed")
        figures = json.loads(box.run(PY, PROBE, "queries", "--language", "-n", str(args.n), timeout=1800).stdout)
        grep = {}
        for query, pattern in GREP.items():
            t0 = time.monotonic()
            box.run("grep", "-rEc", "--include=*.py", pattern, "/srv/stdlib", check=False)
            grep[query] = time.monotonic() - t0
        stats = json.loads(box.run(PY, DBSTAT, INDEX_DB, timeout=600).stdout)[INDEX_DB]
    finally:
        box.stop()
    print(f"corpus: {stdlib}: {indexed} files indexed; {args.n} calls each, 20 rows, vectorizer stopped")
    for label, f in figures.items():
        print(f"{label:48s} p50 {f['p50_ms']:7.2f} ms  p99 {f['p99_ms']:7.2f} ms")
    for query, seconds in grep.items():
        print(f"reference: grep -rEc for {query!r} over the tree: {seconds * 1000:.0f} ms")
    for name in SIZED:
        size = sum(o["bytes"] for o in stats["objects"] if name in (o["name"], o["table"]))
        print(f"{name}: {size:,} bytes")
    print(f"{INDEX_DB}: {stats['db_bytes']:,} bytes")


if __name__ == "__main__":
    main()
