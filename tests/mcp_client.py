"""A real MCP client (the official SDK's ClientSession over stdio) for `codeanalysisctl mcp`
started inside the sandbox as a given user, as an agent's configuration starts it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def server_argv(system, who: dict[str, str]) -> list[str]:
    """`codeanalysisctl mcp` inside the box, as the user (setpriv, no inherited capabilities)."""
    return system.argv("setpriv", f"--reuid={who['user']}", f"--regid={who['user']}", f"--groups={who['groups']}",
                       "--inh-caps=-all", "--", "codeanalysisctl", "mcp")


def served(system, scenario: Callable[[ClientSession], Awaitable[Any]], who: dict[str, str]) -> Any:
    """Run the scenario against a fresh server, with the SDK's real stdio client."""
    argv = server_argv(system, who)

    async def main() -> Any:
        async with (stdio_client(StdioServerParameters(command=argv[0], args=argv[1:])) as (read, write),
                    ClientSession(read, write) as s):
            await s.initialize()
            return await scenario(s)

    return asyncio.run(main())


class Reply:
    """A tool's answer: its text (checked against the bound it was given) and structured data."""

    def __init__(self, result, max_chars: int) -> None:
        self.error = bool(result.is_error)
        self.text = result.content[0].text
        self.data = result.structured_content or {}
        if not self.error:
            assert len(self.text) <= max_chars, (len(self.text), max_chars)
            assert json.loads(self.text) == self.data

    @property
    def name(self) -> str:
        return self.data["error"]["name"] if self.error else ""


async def tool(s: ClientSession, tool_name: str, /, **arguments: Any) -> Reply:
    return Reply(await s.call_tool(tool_name, arguments), arguments.get("max_chars", 8000))
