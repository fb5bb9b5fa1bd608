"""The bus calls `codeanalysisctl mcp` makes for its tools, alone (runs inside the suite's
environment, as the caller being measured): each call's time in ms, one call at a time."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.cli.client import Client

# the calls the tools make for bench/mcp.py's queries: a page of N rows asks for N + 1
CALLS = {
    "Search 'unified diff'": ("Search", ["unified diff", "", 21]),
    "Search 'self'": ("Search", ["self", "", 21]),
    "FindSymbol JSONEncoder": ("FindSymbol", ["JSONEncoder", "", "", 51]),
    "FindSymbol __init__": ("FindSymbol", ["__init__", "", "", 51]),
    "IndexStatus ''": ("IndexStatus", [""]),
}


async def main(n: int) -> dict[str, list[float]]:
    bus = await connect(BusKind.SYSTEM)
    client = Client(bus)
    out = {}
    for label, (member, body) in CALLS.items():
        for _ in range(20):
            await client(member, *body)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            await client(member, *body)
            samples.append((time.perf_counter() - t0) * 1000)
        out[label] = samples
    bus.disconnect()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=500)
    json.dump(asyncio.run(main(parser.parse_args().n)), sys.stdout)
