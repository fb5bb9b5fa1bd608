"""Benchmark: what reading a project through its root's identity costs (tree.Tree).

The membership walk and a read of every member file, as the watcher's reconcile scan does
them: through ``tree.Tree`` (the root opened from / with O_NOFOLLOW per component and
checked, every file reached by openat from its parent, O_NOFOLLOW each), and, as the
reference in the same run, the way a path-joining reader would do it (os.walk, then
open(os.path.join(root, rel)) with O_NOFOLLOW on the last component only), which is what
a symbolic link on the way can redirect. Medians of 7 runs each, interleaved.

Run:  .venv/bin/python bench/tree_reads.py [ROOT]   (default: this Python's standard library)
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import sysconfig
import time

from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import read_file
from codeanalysisd.tree import Tree, identity

RUNS = 7


def through_tree(root: str) -> tuple[list[str], float, float]:
    files = ProjectFiles(root, identity=identity(root))
    started = time.perf_counter()
    rels = list(files.walk())
    walked = time.perf_counter() - started
    tree = Tree(root, files.tree.expected)
    started = time.perf_counter()
    size = 0
    for rel in rels:
        item = read_file(tree, rel)
        size += item.size if item is not None else 0
    return rels, walked, time.perf_counter() - started


def joined_paths(root: str, members: list[str]) -> tuple[int, float, float]:
    """os.walk of every *.py (no membership rule: a lower bound), then a read of the same
    member files as the tree's run."""
    started = time.perf_counter()
    rels = []
    for top, dirs, names in os.walk(root):
        dirs.sort()
        rels += [os.path.relpath(os.path.join(top, n), root) for n in sorted(names) if n.endswith(".py")]
    walked = time.perf_counter() - started
    started = time.perf_counter()
    for rel in members:
        fd = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:  # what read_file does with the descriptor: stat, read, stat again, hash
            os.fstat(fd)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            os.fstat(fd)
            hashlib.sha256(b"".join(chunks)).digest()
        finally:
            os.close(fd)
    return len(rels), walked, time.perf_counter() - started


def main() -> None:
    root = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["stdlib"])
    ours: list[tuple[float, float]] = []
    ref: list[tuple[float, float]] = []
    members: list[str] = []
    found = 0
    for _ in range(RUNS):
        members, walked, read = through_tree(root)
        ours.append((walked, read))
        found, walked, read = joined_paths(root, members)
        ref.append((walked, read))

    def med(rows: list[tuple[float, float]], i: int) -> float:
        return 1000 * statistics.median(r[i] for r in rows)

    print(f"{root}: {len(members)} member files read by both; the walks: the tree's with the membership "
          f"rule, the reference's over all {found} *.py files with none")
    print(f"{'':24}{'walk ms':>10}{'read ms':>10}{'read µs/file':>14}")
    for label, rows in (("tree.Tree (this suite)", ours), ("joined paths (ref.)", ref)):
        print(f"{label:24}{med(rows, 0):10.1f}{med(rows, 1):10.1f}{1000 * med(rows, 1) / len(members):14.1f}")


if __name__ == "__main__":
    main()
