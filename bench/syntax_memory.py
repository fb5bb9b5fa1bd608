"""Benchmark: what libcst's verification costs a parser unit in memory, and what bounds it.

Over the files of a corpus (default: bench/scale.py's 10x corpus if it was prepared, else the
standard library) that the suite would parse (at most 1 MiB), the --files largest by the
number of nodes of their `ast` tree:
  - each file's verdict alone, in a fresh process: the process' peak (VmHWM) before and
    after `index/syntax.verdict` with no bound, so libcst's tree in KB per ast node, and
    `ast` counting the nodes against libcst's time;
  - a parser unit's life over all of them, in a fresh process each: every verdict on the
    unit's libcst thread (`workers/libcst_thread.off_the_loop`, as the unit runs it), largest
    last, four ways:
      no bound, the heap kept by glibc after each file;
      the heap given back after each file (`give_back_memory`, malloc_trim), no bound;
      the heap given back after each file, [Parser] MaxSyntaxNodes= at its default;
      the heap given back after a file past `KEEP_HEAP_MB` of resident memory, MaxSyntaxNodes=
      at its default (what the unit does now).
    Peak and resident memory at the end of each.

Run: .venv/bin/python bench/syntax_memory.py [--root DIR] [--files 40]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import statistics
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import default_stdlib  # noqa: E402

from codeanalysisd.config import Config  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.workers.libcst_thread import KEEP_HEAP_MB  # noqa: E402

SCALE_CORPUS = REPO / "build" / "scale" / "corpus"
MAX_PARSE = Config().max_parse_size
DEFAULT_BOUND = Config().max_syntax_nodes

# Run in a fresh process each: VmHWM is the process' own (ru_maxrss would carry the parent's over exec).
ONE_FILE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from codeanalysisd.index import syntax
import libcst
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":")) / 1024
src = open(sys.argv[2], "rb").read()
before = status("VmHWM")
t0 = time.perf_counter(); nodes = syntax.node_count(src, 10**9); t1 = time.perf_counter()
verdict = syntax.verdict(src); t2 = time.perf_counter()
print(json.dumps({"nodes": nodes, "before_mb": before, "peak_mb": status("VmHWM"), "count_s": t1 - t0,
                  "verdict_s": t2 - t1, "exact": verdict == syntax.EXACT}))
"""

A_UNITS_LIFE = r"""
import asyncio, functools, json, sys
sys.path.insert(0, sys.argv[1])
from codeanalysisd.index import syntax
from codeanalysisd.workers import libcst_thread
import libcst
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":")) / 1024
heap, bound, paths = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
if heap == "keep":
    libcst_thread.keep_heap_bounded = lambda: False  # glibc keeps what libcst freed
elif heap == "trim":
    libcst_thread.KEEP_HEAP_MB = 0  # given back after every file
async def life():
    passed_over = 0
    for path in paths:
        data = open(path, "rb").read()
        verdict = await libcst_thread.off_the_loop(functools.partial(syntax.verdict, max_nodes=bound), data)
        passed_over += verdict.startswith(syntax.NOT_VERIFIED)
    return passed_over
start = status("VmRSS")
passed_over = asyncio.run(life())
print(json.dumps({"start_mb": start, "peak_mb": status("VmHWM"), "end_mb": status("VmRSS"),
                  "passed_over": passed_over}))
"""


def largest(root: pathlib.Path, count: int) -> list[tuple[int, str]]:
    """(ast nodes, path) of the ``count`` files with the most nodes that the suite would parse."""
    found = []
    for rel in ProjectFiles(str(root)).walk():
        path = root / rel
        try:
            if path.stat().st_size > MAX_PARSE:
                continue
            found.append((sum(1 for _ in ast.walk(ast.parse(path.read_bytes()))), str(path)))
        except (SyntaxError, ValueError, RecursionError, OSError):
            continue
    found.sort(reverse=True)
    return found[:count]


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, str(REPO), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=SCALE_CORPUS if SCALE_CORPUS.is_dir() else pathlib.Path(default_stdlib()))
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    files = largest(args.root, args.files)
    print(f"corpus: {args.root}; the {len(files)} files of at most {MAX_PARSE} bytes with the most ast nodes")
    print(f"{'ast nodes':>9} {'KB':>6} {'libcst peak':>11} {'KB/node':>7} {'count':>7} {'libcst':>7}  file")
    per_node, shares = [], []
    for nodes, path in files:
        r = run(ONE_FILE, path)
        tree_mb = r["peak_mb"] - r["before_mb"]
        per_node.append(tree_mb * 1024 / nodes)
        shares.append(r["count_s"] / r["verdict_s"])
        print(f"{nodes:9d} {os.path.getsize(path) // 1024:6d} {r['peak_mb']:8.0f} MB {per_node[-1]:7.2f} "
              f"{r['count_s']:6.2f}s {r['verdict_s']:6.2f}s  {os.path.relpath(path, args.root)}")
    print(f"libcst's tree per ast node: min {min(per_node):.2f}, median {statistics.median(per_node):.2f}, "
          f"max {max(per_node):.2f} KB; counting the nodes with ast: median {100 * statistics.median(shares):.1f} % "
          "of the verdict's time")
    over = sum(nodes > DEFAULT_BOUND for nodes, _ in files)
    print(f"files over MaxSyntaxNodes={DEFAULT_BOUND}: {over}")
    order = json.dumps([path for _, path in reversed(files)])  # largest last: what was freed before is reused
    for label, heap, bound in (("no bound, heap kept", "keep", 0),
                               ("heap given back after each file, no bound", "trim", 0),
                               (f"heap given back after each file, MaxSyntaxNodes={DEFAULT_BOUND}", "trim",
                                DEFAULT_BOUND),
                               (f"now: heap given back past {KEEP_HEAP_MB} MB, MaxSyntaxNodes={DEFAULT_BOUND}",
                                "bounded", DEFAULT_BOUND)):
        r = run(A_UNITS_LIFE, heap, str(bound), order)
        print(f"a parser unit's life over the {len(files)} files, {label}: start {r['start_mb']:.0f} MB, "
              f"peak {r['peak_mb']:.0f} MB, at the end {r['end_mb']:.0f} MB; passed over: {r['passed_over']}")


if __name__ == "__main__":
    main()
