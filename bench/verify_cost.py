"""Benchmark: the CPU a parser unit spends verifying files with libcst, against libcst alone.

Over the files of a corpus the suite would parse (default: the standard library, as
`stdlib_box.copy_stdlib_here` copies it; every --every'th of them, in path order), each way
in a fresh process, --rounds times, alternating:
  - parse_module alone: `libcst.parse_module` of each file and nothing else, the reference
    `bench/index_stdlib.py` gives its verification time against;
  - libcst alone: `index/syntax.verdict` of each file on the main thread (the node count
    with `ast`, the parse, the code generated again and compared), the unit's work alone on
    a file indexed before the indexer kept its count of nodes;
  - before: each verdict on a thread of its own, the heap given back (malloc_trim) after
    every file, as the unit ran them until the libcst thread;
  - now: each verdict through `workers/libcst_thread.off_the_loop` from an event loop, as
    the unit runs it: one thread, the heap given back past `KEEP_HEAP_MB`, the file's count
    of nodes the one the indexer kept (counted here before the clock);
  - now, two processes side by side: as now, each process half the files, at once: two
    parser units on two cores with nothing else to do, the least verification can take;
and once more the verdicts, each part timed (the count, the parse, the code generated), with
libcst's own `Module.bytes` of each tree beside the verdict's code generation
(`index/codegen.py`), and how many files the two give different bytes for.
For each: CPU (user + system), wall time, minor page faults, peak memory, and resident
memory after each file (median and max). Medians over the rounds.

Run: .venv/bin/python bench/verify_cost.py [--root DIR] [--every 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
from typing import Any, cast

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import copy_stdlib_here  # noqa: E402

from codeanalysisd.config import Config  # noqa: E402
from codeanalysisd.index.codegen import without_position_hook  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.workers.libcst_thread import KEEP_HEAP_MB  # noqa: E402

WAYS = ("parse_module alone", "libcst alone", "before", "now")
TWO = "now, two processes side by side (half the files each)"
# The verdict's parts, each summed over the files (``syntax.verdict``): counting the nodes
# with ``ast``, libcst's parse, and the tree's code generated again to compare
# (``index/codegen.module_bytes``); and beside them libcst's own ``Module.bytes`` of the
# same trees, the code generation it stands for.
PARTS = ("count", "parse", "regenerate", "Module.bytes")

ONE_WAY = r"""
import asyncio, functools, json, resource, sys, threading, time
sys.path.insert(0, sys.argv[1])
from codeanalysisd.index import syntax
from codeanalysisd.index.codegen import module_bytes
from codeanalysisd.workers import libcst_thread
import libcst
way, bound, paths = sys.argv[2], int(sys.argv[3]), json.loads(sys.stdin.read())
datas = [open(p, "rb").read() for p in paths]
def counted(data):
    # as the indexer counts and the DB owner gives it (None: ast cannot parse it)
    return syntax.node_count(data, 0)
nodes = {id(data): counted(data) for data in datas}
syntax.verdict(b"x = 1\n", bound)  # libcst loaded and warm before the clock
after = []
def verdict(data):
    return syntax.verdict(data, bound)
def before(data):
    def run():
        verdict(data)
        libcst_thread.give_back_memory()
    thread = threading.Thread(target=run, name="libcst", daemon=True)
    thread.start()
    thread.join()
def verdict_counted(data):
    return syntax.verdict(data, bound, nodes[id(data)])
async def now():
    for data in datas:
        await libcst_thread.off_the_loop(verdict_counted, data)
        after.append(libcst_thread.resident_mb())
def parse_alone(data):
    try:
        libcst.parse_module(data)
    except Exception:
        pass
parts = {"count": 0.0, "parse": 0.0, "regenerate": 0.0, "Module.bytes": 0.0, "differ": 0}
def in_parts(data):
    t0 = time.process_time()
    syntax.node_count(data, bound)
    t1 = time.process_time()
    try:
        module = libcst.parse_module(data)
    except Exception:
        module = None
    t2 = time.process_time()
    ours = theirs = None
    if module is not None:
        try:
            ours = module_bytes(module)
        except Exception:
            pass
    t3 = time.process_time()
    if module is not None:
        try:
            theirs = module.bytes
        except Exception:
            pass
    t4 = time.process_time()
    parts["count"] += t1 - t0
    parts["parse"] += t2 - t1
    parts["regenerate"] += t3 - t2
    parts["Module.bytes"] += t4 - t3
    parts["differ"] += ours != theirs
start = resource.getrusage(resource.RUSAGE_SELF)
began = time.perf_counter()
if way == "now":
    asyncio.run(now())
else:
    one = {"libcst alone": verdict, "before": before, "parse_module alone": parse_alone, "parts": in_parts}[way]
    for data in datas:
        one(data)
        after.append(libcst_thread.resident_mb())
wall = time.perf_counter() - began
end = resource.getrusage(resource.RUSAGE_SELF)
after.sort()
print(json.dumps({"cpu_s": end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime, "wall_s": wall,
                  "faults": end.ru_minflt - start.ru_minflt, "peak_mb": end.ru_maxrss / 1024,
                  "after_p50_mb": after[len(after) // 2], "after_max_mb": after[-1], "parts": parts}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=None)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or pathlib.Path(copy_stdlib_here(scratch))
        measure(root, args.every, args.rounds)


def one_way(way: str, bound: int, paths: list[str]) -> subprocess.Popen[str]:
    """``way`` over ``paths`` in a fresh process, started (its JSON on stdout when it ends)."""
    process = subprocess.Popen([sys.executable, "-c", ONE_WAY, str(REPO), way, str(bound)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None
    process.stdin.write(json.dumps(paths))
    process.stdin.close()
    return process


def result(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    out = process.stdout.read()
    if process.wait() != 0:
        raise SystemExit(f"a way failed: {process.args}")
    return cast(dict[str, Any], json.loads(out))


def measure(root: pathlib.Path, every: int, rounds: int) -> None:
    config = Config()
    bound = config.max_syntax_nodes
    paths = [str(root / rel) for rel in sorted(ProjectFiles(str(root)).walk())
             if (root / rel).stat().st_size <= config.max_parse_size][::every]
    size = sum(pathlib.Path(p).stat().st_size for p in paths)
    print(f"corpus: {root}: {len(paths)} files, {size / 1e6:.1f} MB (every {every}th the suite parses); "
          f"MaxSyntaxNodes={bound}, KEEP_HEAP_MB={KEEP_HEAP_MB}; {rounds} round(s); the verdict regenerates "
          + ("without libcst's position hook" if without_position_hook() else
             "with Module.bytes (this libcst keeps its codegen state elsewhere)"))
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in (*WAYS, "parts", TWO)}
    for _ in range(rounds):
        for way in (*WAYS, "parts"):
            runs[way].append(result(one_way(way, bound, paths)))
        # Two parser units' work on two cores: each half of the files, side by side.
        halves = [result(p) for p in [one_way("now", bound, paths[0::2]), one_way("now", bound, paths[1::2])]]
        runs[TWO].append({"cpu_s": sum(h["cpu_s"] for h in halves), "wall_s": max(h["wall_s"] for h in halves),
                          "faults": sum(h["faults"] for h in halves), "peak_mb": max(h["peak_mb"] for h in halves),
                          "after_p50_mb": max(h["after_p50_mb"] for h in halves),
                          "after_max_mb": max(h["after_max_mb"] for h in halves)})
    reference = statistics.median(r["cpu_s"] for r in runs["parse_module alone"])
    alone = statistics.median(r["cpu_s"] for r in runs["libcst alone"])
    print("| way | CPU | x libcst alone | x parse_module alone | wall | wall x parse_module alone | minor faults "
          "| peak | resident after a file, p50 / max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for way in (*WAYS, TWO):
        m = {key: statistics.median(r[key] for r in runs[way]) for key in runs[way][0] if key != "parts"}
        print(f"| {way} | {m['cpu_s']:.2f} s | {m['cpu_s'] / alone:.2f} | {m['cpu_s'] / reference:.2f} | "
              f"{m['wall_s']:.2f} s | {m['wall_s'] / reference:.2f} | {m['faults']:,.0f} | {m['peak_mb']:.0f} MB | "
              f"{m['after_p50_mb']:.0f} / {m['after_max_mb']:.0f} MB |")
    parts = {part: statistics.median(r["parts"][part] for r in runs["parts"]) for part in PARTS}
    print("\nthe verdict's parts (CPU, x libcst.parse_module in the same pass): "
          + ", ".join(f"{part} {seconds:.2f} s ({seconds / parts['parse']:.2f})" for part, seconds in parts.items())
          + f"; files whose regenerated bytes differ from Module.bytes: "
          f"{max(r['parts']['differ'] for r in runs['parts'])}")


if __name__ == "__main__":
    main()
