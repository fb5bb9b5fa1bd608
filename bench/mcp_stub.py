"""`codeanalysisctl mcp`'s real server (tools, pages, transport) over a stand-in for the bus that
answers a page of 51 definitions after holding its CPU for a given time, as the DB owner
would: what MCP costs around a query of that duration, with no bus and no other process
involved. Run by bench/mcp.py: `python bench/mcp_stub.py SECONDS`."""

from __future__ import annotations

import sys
import time
from typing import Any

import anyio

from codeanalysisd.cli.mcp import server, tools
from codeanalysisd.cli.mcp.stdio import stdio

ROWS = [["stdlib", f"pkg{i}/module_{i}.py", f"Class{i}.__init__", "method", 10 + i, 4, 20 + i,
         "(self, a, b, c=None, *args, **kwargs)", "Initialize the instance from its arguments."] for i in range(51)]
FRESH = [["stdlib", 1790, 0, 1700000000.0, False, ""]]


class Busy:
    """The Manager's answers after ``seconds`` of CPU (a busy wait: the process stays awake)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self, member: str, *body: Any) -> list[Any]:
        if member == "IndexStatus":
            return [FRESH]
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        return [ROWS[:body[-1]]]


async def main(seconds: float) -> None:
    mcp = server.make_server(tools.Bridge(Busy(seconds), "", "/"))  # answers every call the tools make, as Bus does
    async with stdio() as (read, write):
        await mcp.run(read, write, mcp.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main, float(sys.argv[1]))
