"""Benchmark: what asking the suite one question costs the machine, by the way it is asked.

The stdlib benchmarks wait for stages of an index by asking the DB owner again and again. From
the host, each question is processes (nsenter, env, busctl, each connecting to the bus anew);
from inside the sandbox over one bus connection (index_probe.py), it is one message each way.
Whatever the asking costs comes out of the two cores being timed. Boots the sandboxed system
manager with the suite installed and idle, and counts the whole machine's busy CPU time
(/proc/stat) over windows of the same length: nothing asked; SyntaxPending asked every
--interval seconds from the host; the same over one connection in the sandbox; and the
in-sandbox asker started with nothing to ask (its interpreter's start, subtracted).

Run as root after `make wheels`:
  .venv/bin/python bench/poll_cost.py [--seconds 10] [--interval 0.05]
"""

from __future__ import annotations

import argparse
import json
import time

from stdlib_box import boot, default_stdlib

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/index_probe.py"


def busy_cpu_s() -> float:
    """The machine's CPU time spent on anything but idle and iowait, all cores, so far."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / 100.0  # USER_HZ is 100 on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    box = boot("poll", default_stdlib())
    try:
        box.systemctl("start", "codeanalysisd.target")
        time.sleep(20)  # the units started and settled: nothing to index, verify or embed

        def window(ask) -> tuple[float, int]:
            before = busy_cpu_s()
            asked = ask()
            return busy_cpu_s() - before, asked

        def nothing() -> int:
            time.sleep(args.seconds)
            return 0

        def from_host() -> int:
            asked, started = 0, time.monotonic()
            while time.monotonic() - started < args.seconds:
                box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                        "org.codeanalysis1.Manager", "SyntaxPending")
                asked += 1
                time.sleep(args.interval)
            return asked

        def in_box(seconds: float):
            def run() -> int:
                out = box.run(PY, PROBE, "ask", "--seconds", str(seconds), "--interval", str(args.interval)).stdout
                if seconds < args.seconds:
                    time.sleep(args.seconds - seconds)  # the same window's length, for the same idle share
                return int(json.loads(out)["asked"])
            return run

        idle, _ = window(nothing)
        host, host_asked = window(from_host)
        started_only, _ = window(in_box(0.0))
        probe, probe_asked = window(in_box(args.seconds))
    finally:
        box.stop()
    print(f"the machine's busy CPU over {args.seconds:.0f} s windows, the suite idle: nothing asked {idle:.2f} s")
    print(f"asked from the host (nsenter + busctl): {host:.2f} s for {host_asked} questions = "
          f"{(host - idle) / host_asked * 1000:.1f} ms each")
    print(f"asked over one bus connection in the sandbox: {probe:.2f} s for {probe_asked} questions, "
          f"less its start ({started_only:.2f} s) = {(probe - started_only) / probe_asked * 1000:.2f} ms each")


if __name__ == "__main__":
    main()
