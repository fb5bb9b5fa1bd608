"""Runs inside the sandbox: N concurrent clients, each on its own bus connection, calling
ListProjects, WorkerStatus and FindSymbol in turn for a while; prints latencies as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from dbus_fast import BusType, Message
from dbus_fast.aio import MessageBus

CALLS = {
    "ListProjects": ("uu", [0, 0]),
    "WorkerStatus": ("", []),
    "FindSymbol": ("sssu", ["join", "", "", 20]),
}


async def client(seconds: float, out: dict[str, list[float]]) -> None:
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for member, (signature, body) in CALLS.items():
            started = time.perf_counter()
            await bus.call(Message(destination="org.codeanalysis1", path="/org/codeanalysis1",
                                   interface="org.codeanalysis1.Manager", member=member, signature=signature,
                                   body=body))
            out[member].append((time.perf_counter() - started) * 1000)
    bus.disconnect()


async def main(clients: int, seconds: float) -> None:
    out: dict[str, list[float]] = {m: [] for m in CALLS}
    await asyncio.gather(*(client(seconds, out) for _ in range(clients)))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
