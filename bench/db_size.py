"""Where the bytes of the index and the history go, for the standard library indexed
through the real suite, beside the source's own size (the reference: zoekt's index is
about 3x its source).

Boots the sandboxed system manager the tests use, installs the suite (`make install`),
copies the standard library of `python3` on PATH into the sandbox, adds it, waits until
every file is indexed and its concrete syntax verified, then reads SQLite's dbstat table of
`index.sqlite3` and `history.sqlite3` beside the running owner (`bench/dbstat_probe.py`):
bytes per table with its indexes (and an FTS5 or vec0 table with its shadow tables), and
the largest objects; and what reading each file's stored content back costs (its row, and
unpacking it). The vectorizer is stopped first: the figures are of the index without
embeddings, which bench/semantic.py measures.

Run as root after `make wheels`:
  .venv/bin/python bench/db_size.py [--stdlib DIR] [--top 15]
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sandbox.box import Box, wait_until  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/dbstat_probe.py"
STATE = "/var/lib/codeanalysisd"


def prop(box: Box, name: str) -> int:
    return int(box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                       "org.codeanalysis1.Manager", name).stdout.split()[1])


def indexed(box: Box) -> int:
    return sum(p["files"] for p in json.loads(box.run("codeanalysisctl", "--json", "projects").stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    stdlib = args.stdlib or default_stdlib()
    box = boot("dbsize", stdlib)
    try:
        copy_stdlib(box)
        box.systemctl("start", "codeanalysisd.target")
        box.systemctl("stop", "codeanalysisd-vectorizer.service")
        box.run("codeanalysisctl", "add", "/srv/stdlib", timeout=900)
        files = indexed(box)
        source = int(box.sh("find /srv/stdlib -name '*.py' -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'")
                     .stdout)
        wait_until(lambda: prop(box, "SyntaxPending") == 0, timeout=900, interval=0.5,
                   what="every file's concrete syntax verified")
        probed = json.loads(box.run(PY, PROBE, f"{STATE}/index.sqlite3", f"{STATE}/history.sqlite3",
                                    timeout=600).stdout)
    finally:
        box.stop()
    report(stdlib, files, source, probed["databases"], args.top)
    reads = probed["content_reads"]
    print(f"\nreading a file's stored content back ({reads['contents']} contents, "
          f"{'packed' if reads['packed'] else 'plain'}): p50 {reads['row_ms_p50']:.3f} ms the row, "
          f"{reads['unpack_ms_p50']:.3f} ms unpacking it; all of them {reads['row_s_total']:.2f} s and "
          f"{reads['unpack_s_total']:.2f} s; the largest ({reads['largest_bytes'] / 1e3:.0f} kB) "
          f"{reads['largest_row_ms']:.2f} ms and {reads['largest_unpack_ms']:.2f} ms")


def report(stdlib: str, files: int, source: int, stats: dict, top: int) -> None:
    total = sum(s["db_bytes"] for s in stats.values())
    print(f"corpus: {stdlib}: {files} files indexed, {source / 1e6:.1f} MB of .py source (all .py files in the tree)")
    print(f"index + history: {total / 1e6:.1f} MB = {total / source:.2f}x the source (target ≤ 3x)")
    for path, s in stats.items():
        name = pathlib.Path(path).name
        print(f"\n{name}: {s['db_bytes'] / 1e6:.1f} MB ({s['db_bytes'] / source:.2f}x the source), "
              f"{s['free_pages']} free page(s) of {s['pages']}")
        by_table: collections.Counter[str] = collections.Counter()
        payload: collections.Counter[str] = collections.Counter()
        for o in s["objects"]:
            by_table[o["table"]] += o["bytes"]
            payload[o["table"]] += o["payload"]
        print("| table (with its indexes, or shadow tables) | MB | share | x source | payload MB |")
        print("| --- | --- | --- | --- | --- |")
        for table, size in by_table.most_common():
            if size >= 0.001 * s["db_bytes"]:
                print(f"| {table} | {size / 1e6:.1f} | {size / s['db_bytes']:.0%} | {size / source:.2f} | "
                      f"{payload[table] / 1e6:.1f} |")
        print(f"\nlargest objects of {name}:")
        print("| object | of | MB | payload MB | unused MB |")
        print("| --- | --- | --- | --- | --- |")
        for o in s["objects"][:top]:
            print(f"| {o['name']} | {o['table']} | {o['bytes'] / 1e6:.1f} | {o['payload'] / 1e6:.1f} | "
                  f"{o['unused'] / 1e6:.1f} |")


if __name__ == "__main__":
    main()
