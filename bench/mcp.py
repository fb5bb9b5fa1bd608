"""Benchmark: what `codeanalysisctl mcp` adds to a query, against the same bus call alone.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
indexes a copy of the standard library, waits until its index is fresh and its concrete
syntax verified, stops the vectorizer and the repair worker (so that neither side is
measured against background work the other did not meet), and measures in one run, as an
unprivileged member of codeanalysis-users (what an agent is):
  - the bus calls alone: Search and FindSymbol as the tools make them, from inside the box
    with dbus-fast (bench/mcp_probe.py), one call at a time;
  - the same queries as MCP tool calls (`search` in text mode, `find_symbol`) through a real
    ClientSession of the official SDK to `codeanalysisctl mcp`, started inside the box as
    the same user and reached over stdio through nsenter, as an agent would run it;
in alternating rounds (what else the machine does then weighs on both alike), and prints
p50/p99 of each and what MCP adds at the median (target: at most 2 ms), with the CPU time
the server process and the client spent per call (what of it is work, not waiting). Then, on the host,
the same server over a stand-in for the bus that holds its CPU for as long as the DB owner
took (bench/mcp_stub.py): what the MCP round trip alone costs around a query of each
duration, with no bus in the way.

Run as root after `make wheels`:
  .venv/bin/python bench/mcp.py [--stdlib DIR] [-n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
# This script is named like the SDK: bench/ goes after site-packages, so `mcp` is the SDK
# and stdlib_box is still found.
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE] + [str(HERE)]
sys.path.insert(0, str(REPO / "tests"))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from sandbox.box import Box, wait_until  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/mcp_probe.py"
USER = {"user": "mcpbench", "groups": "codeanalysis-users"}

# label -> (the bus call alone, as bench/mcp_probe.py names it; the MCP tool and its arguments)
QUERIES = {
    "search 'unified diff' (text)": ("Search 'unified diff'", "search",
                                     {"query": "unified diff", "mode": "text", "limit": 20}),
    "search 'self' (text)": ("Search 'self'", "search", {"query": "self", "mode": "text", "limit": 20}),
    "find_symbol JSONEncoder": ("FindSymbol JSONEncoder", "find_symbol", {"name": "JSONEncoder", "limit": 50}),
    "find_symbol __init__": ("FindSymbol __init__", "find_symbol", {"name": "__init__", "limit": 50}),
}
# MCP alone, no bus call: a call the bridge refuses for its arguments (the floor of a tool call)
FLOOR = ("search", {"query": "x", "limit": 0})


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def manager_property(box: Box, name: str) -> int:
    out = box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1", "org.codeanalysis1.Manager",
                  name).stdout
    return int(out.split()[1])


def server_cpu_seconds() -> float:
    """CPU time (user + system) of the one `codeanalysisctl mcp` process, seen from the host."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and pathlib.Path(f"/proc/{entry}/comm").read_text().strip() == "codeanalysisctl":
                found.append(entry)
        except OSError:
            continue
    (pid,) = found
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def files_indexed(box: Box) -> int:
    return manager_property(box, "FilesIndexed")


async def alternating(box: Box, n: int, rounds: int
                      ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, tuple[float, float]]]:
    """Samples (ms) of the bus calls alone and of the MCP tool calls, round after round; and per
    tool call the CPU (ms) the server and this client spent on it, on average."""
    argv = box.argv("setpriv", f"--reuid={USER['user']}", f"--regid={USER['user']}", f"--groups={USER['groups']}",
                    "--inh-caps=-all", "--", "codeanalysisctl", "mcp")
    alone: dict[str, list[float]] = {}
    through: dict[str, list[float]] = {label: [] for label in [*QUERIES, "floor"]}
    cpu = {label: [0.0, 0.0] for label in through}
    async with (stdio_client(StdioServerParameters(command=argv[0], args=argv[1:])) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        for _ in range(rounds):
            probe = json.loads(box.run(PY, PROBE, "-n", str(n), timeout=900, **USER).stdout)
            for call, samples in probe.items():
                alone.setdefault(call, []).extend(samples)
            for label, (_, tool, arguments) in [*QUERIES.items(), ("floor", ("", *FLOOR))]:
                for _ in range(20):
                    result = await session.call_tool(tool, arguments)
                    assert (result.is_error if label == "floor" else not result.is_error
                            and result.structured_content["results"]), result.content
                server0, client0 = server_cpu_seconds(), time.process_time()
                for _ in range(n):
                    t0 = time.perf_counter()
                    await session.call_tool(tool, arguments)
                    through[label].append((time.perf_counter() - t0) * 1000)
                cpu[label][0] += server_cpu_seconds() - server0
                cpu[label][1] += time.process_time() - client0
    per_call = {label: (server * 1000 / len(through[label]), client * 1000 / len(through[label]))
                for label, (server, client) in cpu.items()}
    return alone, through, per_call


async def around_a_wait(seconds: float, n: int) -> dict[str, float]:
    """find_symbol (a page of 50) through the real server over the stand-in bus."""
    # -P: bench/ (which holds a mcp.py) is not put before the SDK on the stub's path
    stub = StdioServerParameters(command=sys.executable, args=["-P", str(HERE / "mcp_stub.py"), str(seconds)],
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
    samples = []
    async with (stdio_client(stub) as (read, write), ClientSession(read, write) as session):
        await session.initialize()
        for i in range(20 + n):
            t0 = time.perf_counter()
            await session.call_tool("find_symbol", {"name": "__init__", "limit": 50})
            if i >= 20:
                samples.append((time.perf_counter() - t0) * 1000 - seconds * 1000)
    return figures(samples)


def figures(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("-n", type=int, default=100, help="calls of each kind per round (default 100)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stdlib = args.stdlib or default_stdlib()
    box = boot("mcp", stdlib)
    try:
        copy_stdlib(box)
        box.sh(f"useradd --no-create-home --groups codeanalysis-users {USER['user']}")
        box.systemctl("start", "codeanalysisd.target")
        box.run("codeanalysisctl", "add", "--no-block", "/srv/stdlib")

        def settled() -> bool:
            rows = json.loads(box.run("codeanalysisctl", "--json", "status").stdout)["index"]
            return files_indexed(box) > 1000 and all(not row["stale"] for row in rows)

        wait_until(settled, timeout=900, interval=0.5, what="the stdlib indexed and fresh")
        wait_until(lambda: manager_property(box, "SyntaxPending") == 0, timeout=900, interval=1,
                   what="every file's concrete syntax verified")
        box.systemctl("stop", "codeanalysisd-vectorizer.service", "codeanalysisd-repair.service")
        corpus = files_indexed(box)
        alone, through, per_call = asyncio.run(alternating(box, args.n, args.rounds))
        bus = {call: figures(samples) for call, samples in alone.items()}
        mcp = {label: figures(samples) for label, samples in through.items()}
        client_version = box.run(PY, "-c", "import importlib.metadata as m; print(m.version('mcp'))").stdout.strip()
    finally:
        box.stop()
    waits = {call: bus[call]["p50_ms"] / 1000 for call, _, _ in QUERIES.values()}
    stub = {call: asyncio.run(around_a_wait(seconds, args.n * args.rounds)) for call, seconds in waits.items()}
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}; MCP SDK {client_version} (server and client)")
    print(f"corpus: {stdlib}, {corpus} files indexed; {args.rounds} alternating rounds of {args.n} calls of each, "
          "one at a time, as a member of codeanalysis-users; vectorizer and repair worker stopped")
    for label, (call, _, _) in QUERIES.items():
        alone, tool = bus[call], mcp[label]
        print(f"{label:30s} MCP p50 {tool['p50_ms']:.2f} ms, p99 {tool['p99_ms']:.2f} ms | bus call alone "
              f"({call}) p50 {alone['p50_ms']:.2f} ms, p99 {alone['p99_ms']:.2f} ms | MCP adds "
              f"{tool['p50_ms'] - alone['p50_ms']:.2f} ms at p50 | CPU per call: server {per_call[label][0]:.2f} ms, "
              f"client {per_call[label][1]:.2f} ms")
    for call, seconds in waits.items():
        print(f"MCP around a {seconds * 1000:.2f} ms wait ({call}'s p50), no bus (bench/mcp_stub.py): adds p50 "
              f"{stub[call]['p50_ms']:.2f} ms, p99 {stub[call]['p99_ms']:.2f} ms")
    floor = mcp["floor"]
    print(f"MCP floor (a call refused by argument checks, no bus call): p50 {floor['p50_ms']:.2f} ms, "
          f"p99 {floor['p99_ms']:.2f} ms | CPU per call: server {per_call['floor'][0]:.2f} ms, "
          f"client {per_call['floor'][1]:.2f} ms")
    status = bus["IndexStatus ''"]
    print(f"IndexStatus (asked alongside a tool call, at most every 0.1 s) alone: p50 {status['p50_ms']:.2f} ms, "
          f"p99 {status['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
