"""Benchmark: the CPU a parser unit spends verifying files with libcst, against libcst alone.

Over the files of a corpus the suite would parse (default: the standard library, as
`stdlib_box.copy_stdlib_here` copies it; every --every'th of them, in path order), each way
in a fresh process, --rounds times, alternating:
  - libcst alone: `index/syntax.verdict` of each file on the main thread (the reference);
  - before: each verdict on a thread of its own, the heap given back (malloc_trim) after
    every file, as the unit ran them until the libcst thread;
  - now: each verdict through `workers/libcst_thread.off_the_loop` from an event loop, as
    the unit runs it: one thread, the heap given back past `KEEP_HEAP_MB`.
For each: CPU (user + system), minor page faults, peak memory, and resident memory after
each file (median and max). Medians over the rounds.

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

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import copy_stdlib_here  # noqa: E402

from codeanalysisd.config import Config  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.workers.libcst_thread import KEEP_HEAP_MB  # noqa: E402

WAYS = ("libcst alone", "before", "now")

ONE_WAY = r"""
import asyncio, functools, json, resource, sys, threading
sys.path.insert(0, sys.argv[1])
from codeanalysisd.index import syntax
from codeanalysisd.workers import libcst_thread
import libcst
way, bound, paths = sys.argv[2], int(sys.argv[3]), json.loads(sys.stdin.read())
datas = [open(p, "rb").read() for p in paths]
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
async def now():
    for data in datas:
        await libcst_thread.off_the_loop(verdict, data)
        after.append(libcst_thread.resident_mb())
start = resource.getrusage(resource.RUSAGE_SELF)
if way == "now":
    asyncio.run(now())
else:
    for data in datas:
        verdict(data) if way == "libcst alone" else before(data)
        after.append(libcst_thread.resident_mb())
end = resource.getrusage(resource.RUSAGE_SELF)
after.sort()
print(json.dumps({"cpu_s": end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime,
                  "faults": end.ru_minflt - start.ru_minflt, "peak_mb": end.ru_maxrss / 1024,
                  "after_p50_mb": after[len(after) // 2], "after_max_mb": after[-1]}))
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


def measure(root: pathlib.Path, every: int, rounds: int) -> None:
    config = Config()
    paths = [str(root / rel) for rel in sorted(ProjectFiles(str(root)).walk())
             if (root / rel).stat().st_size <= config.max_parse_size][::every]
    size = sum(pathlib.Path(p).stat().st_size for p in paths)
    print(f"corpus: {root}: {len(paths)} files, {size / 1e6:.1f} MB (every {every}th the suite parses); "
          f"MaxSyntaxNodes={config.max_syntax_nodes}, KEEP_HEAP_MB={KEEP_HEAP_MB}; {rounds} round(s)")
    runs: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way in WAYS:
            out = subprocess.run([sys.executable, "-c", ONE_WAY, str(REPO), way, str(config.max_syntax_nodes)],
                                 input=json.dumps(paths), capture_output=True, text=True, check=True)
            runs[way].append(json.loads(out.stdout))
    alone = statistics.median(r["cpu_s"] for r in runs["libcst alone"])
    print("| way | CPU | x libcst alone | minor faults | peak | resident after a file, p50 / max |")
    print("| --- | --- | --- | --- | --- | --- |")
    for way in WAYS:
        m = {key: statistics.median(r[key] for r in runs[way]) for key in runs[way][0]}
        print(f"| {way} | {m['cpu_s']:.2f} s | {m['cpu_s'] / alone:.2f} | {m['faults']:,.0f} | {m['peak_mb']:.0f} MB | "
              f"{m['after_p50_mb']:.0f} / {m['after_max_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
