"""Benchmark: suite start and stop on a real systemd, and control-call latency through the bus.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
then measures, over repeated cycles:
  - `systemctl start codeanalysisd.target` until it returns (the target is ordered after
    its services, so that is when all four have sent READY=1);
  - `systemctl stop codeanalysisd.target` until every service is inactive;
  - ListProjects and WorkerStatus latency through the system bus, with Peer.Ping to the
    same owner as the reference floor (bench/bus_calls.py, run inside the sandbox).

Run as root after `make wheels`:  .venv/bin/python bench/suite_lifecycle.py [--cycles 20]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sandbox.box import SYSBOX, Box, wait_until  # noqa: E402

SERVICES = ("codeanalysisd-db.service", "codeanalysisd-watcher.service",
            "codeanalysisd-vectorizer.service", "codeanalysisd-repair.service")


def inactive(box: Box) -> bool:
    return all(box.show(u, "ActiveState")["ActiveState"] == "inactive" for u in SERVICES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    wheels = REPO / "build" / "wheels"
    if not (wheels / ".done").exists():
        sys.exit("run `make wheels` first")
    subprocess.run([str(SYSBOX), "gc"], check=False, capture_output=True)
    binds = (f"{REPO}:/opt/codeanalysisd-src:ro", f"{wheels}:/opt/codeanalysisd-wheels:ro")
    box = Box(f"bench-{os.getpid()}", binds=binds, private_network=True)
    box.start()
    try:
        box.run("make", "-C", "/opt/codeanalysisd-src", "--no-print-directory", "install",
                "WHEELHOUSE=/opt/codeanalysisd-wheels", timeout=600)
        box.sh("mkdir -p /srv/p")
        starts, stops = [], []
        for i in range(args.cycles):
            t0 = time.perf_counter()
            box.systemctl("start", "codeanalysisd.target")
            starts.append(time.perf_counter() - t0)
            if i == 0:
                box.run("codeanalysisctl", "add", "--no-block", "/srv/p")
            t0 = time.perf_counter()
            box.systemctl("stop", "codeanalysisd.target")
            wait_until(lambda: inactive(box), timeout=10, interval=0.005, what="stop")
            stops.append(time.perf_counter() - t0)
        box.systemctl("start", "codeanalysisd.target")
        calls = json.loads(box.run("/usr/lib/codeanalysisd/bin/python", "/opt/codeanalysisd-src/bench/bus_calls.py",
                                   "-n", str(args.calls)).stdout)
        killed = box.run("journalctl", "--no-pager", "-o", "cat", "-g", "SIGKILL|Killing", check=False).stdout
    finally:
        box.stop()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print(f"suite start (systemctl start codeanalysisd.target, all four READY=1), n={len(starts)}: "
          f"median {statistics.median(starts):.3f} s, max {max(starts):.3f} s")
    print(f"suite stop (until all four inactive), n={len(stops)}: "
          f"median {statistics.median(stops):.3f} s, max {max(stops):.3f} s; "
          f"SIGKILL lines in the journal: {len([line for line in killed.splitlines() if line.strip()])}")
    for label, figures in calls.items():
        print(f"{label:20s} through the system bus, n={figures['n']}: p50 {figures['p50_ms']:.3f} ms, "
              f"p99 {figures['p99_ms']:.3f} ms")


if __name__ == "__main__":
    main()
