"""Latency of control calls to the DB owner through the bus (runs inside the suite's environment).

Peer.Ping to the same owner is measured alongside as the floor: one bus round trip with
no work in the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

from codeanalysisd.bus.calls import call
from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH

CALLS = {
    "Peer.Ping (floor)": ("org.freedesktop.DBus.Peer", "Ping", "", []),
    "ListProjects": (MANAGER_INTERFACE, "ListProjects", "uu", [0, 0]),
    "WorkerStatus": (MANAGER_INTERFACE, "WorkerStatus", "", []),
}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(n: int, kind: BusKind) -> dict[str, dict[str, float]]:
    bus = await connect(kind)
    out = {}
    for label, (interface, member, signature, body) in CALLS.items():
        for _ in range(20):  # warm up
            await call(bus, BUS_NAME, OBJECT_PATH, interface, member, signature, body)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            await call(bus, BUS_NAME, OBJECT_PATH, interface, member, signature, body)
            samples.append((time.perf_counter() - t0) * 1000)
        out[label] = {"n": n, "p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99)}
    bus.disconnect()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--user", action="store_true")
    args = parser.parse_args()
    json.dump(asyncio.run(main(args.n, BusKind.SESSION if args.user else BusKind.SYSTEM)), sys.stdout)
