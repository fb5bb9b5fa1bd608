"""Benchmark: control and query calls while the standard library is being indexed.

8 concurrent clients (each its own bus connection) call ListProjects, WorkerStatus and
FindSymbol in turn, first on the idle suite (the reference, same run) and then from the
moment `AddProject` of the standard library is called until it is indexed. Reports
p50/p99/max per method. Target (DESIGN/issue): p99 <= 50 ms under the bulk index.

Run as root after `make wheels`:  .venv/bin/python bench/load.py [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

from stdlib_box import boot, copy_stdlib, default_stdlib, wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/load_probe.py"


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"n={len(ordered):6d}  p50 {statistics.median(ordered):7.2f} ms  p99 {p99:7.2f} ms  "
            f"max {ordered[-1]:7.2f} ms")


def files_indexed(box) -> int:
    return int(box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                       "org.codeanalysis1.Manager", "FilesIndexed").stdout.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle-seconds", type=float, default=5)
    parser.add_argument("--load-seconds", type=float, default=12)
    args = parser.parse_args()
    box = boot("load", default_stdlib())
    try:
        copy_stdlib(box)
        box.sh("mkdir -p /srv/small && echo 'def join(): pass' > /srv/small/m.py")
        box.systemctl("start", "codeanalysisd.target")
        box.run("codeanalysisctl", "add", "--no-block", "/srv/small")
        wait_until(lambda: files_indexed(box) >= 1, timeout=30, what="the small project")
        idle = json.loads(box.run(PY, PROBE, str(args.clients), str(args.idle_seconds), timeout=300).stdout)
        load = subprocess.Popen(box.argv(PY, PROBE, str(args.clients), str(args.load_seconds)),
                                stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        started = time.monotonic()
        box.run("codeanalysisctl", "add", "--no-block", "/srv/stdlib")
        out, _ = load.communicate(timeout=300)
        indexed_at_end = files_indexed(box)
        busy = json.loads(out)
        wait_until(lambda: files_indexed(box) >= 1790, timeout=300, interval=0.2, what="the stdlib indexed")
        took = time.monotonic() - started
    finally:
        box.stop()
    print(f"{args.clients} concurrent clients, each calling ListProjects, WorkerStatus, FindSymbol in turn")
    print(f"idle suite ({args.idle_seconds:g} s, the reference):")
    for member, samples in idle.items():
        print(f"  {member:13s} {summary(samples)}")
    print(f"during AddProject of the stdlib ({args.load_seconds:g} s of load; {indexed_at_end} files indexed "
          f"by its end; whole index {took:.1f} s):")
    for member, samples in busy.items():
        print(f"  {member:13s} {summary(samples)}")


if __name__ == "__main__":
    main()
