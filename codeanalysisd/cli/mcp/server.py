"""The MCP server on stdio (the official SDK's low-level server): tools/list and tools/call.

A tool call never ends the server: a bad argument, a bus error, a refused restore and any
unexpected failure are all tool errors (``isError``) naming the error and saying what to do.
Only a tool name that does not exist is a protocol error, as MCP asks.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from codeanalysisd import __version__
from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.cli.mcp.args import ToolError
from codeanalysisd.cli.mcp.bus import Bus
from codeanalysisd.cli.mcp.pages import dumps
from codeanalysisd.cli.mcp.stdio import stdio
from codeanalysisd.cli.mcp.tools import BY_NAME, TOOLS, Bridge, Tool
from codeanalysisd.names import ERROR_PREFIX

log = logging.getLogger("codeanalysisctl.mcp")

INSTRUCTIONS = (
    "codeanalysisd keeps a live index of the Python projects on this machine, followed on disk as files "
    "change. Answers show only what you could read on disk yourself. Start with list_projects (or search "
    "across all). For structure, outline shows a file's definitions, imports the import graph, and relations "
    "the usages, calls and class hierarchy of a qualified name, resolved through imports and aliases. Every "
    "answer says per project whether the index is fresh (freshness: stale, files_pending, "
    "why); if stale, results may miss the latest edits. Answers are bounded by max_chars and paged: when more "
    "is true, call again with next_cursor. Errors carry the service's error name and what to do."
)


def _tool(tool: Tool) -> types.Tool:
    return types.Tool(
        name=tool.name, description=tool.description, input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(read_only_hint=tool.read_only, destructive_hint=tool.destructive,
                                          idempotent_hint=tool.idempotent, open_world_hint=False))


LISTED = types.ListToolsResult(tools=[_tool(t) for t in TOOLS])


def failed(name: str, message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=f"{name}: {message}")],
                                structured_content={"error": {"name": name, "message": message}}, is_error=True)


async def answer(bridge: Bridge, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """One tool call, as its result: the answer, or a tool error."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise MCPError(types.INVALID_PARAMS, f"no tool named {name!r}; the tools are {', '.join(BY_NAME)}")
    try:
        result = await tool.run(bridge, tool.check(arguments))
    except ToolError as exc:
        return failed(exc.name, exc.message)
    except Exception as exc:  # the server goes on; the journal of the caller's terminal (stderr) has the rest
        log.exception("%s failed unexpectedly", name)
        return failed(ERROR_PREFIX + "Failed", f"codeanalysisctl mcp failed unexpectedly in {name}: {exc!r}")
    return types.CallToolResult(content=[types.TextContent(text=dumps(result))], structured_content=result)


def make_server(bridge: Bridge) -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return LISTED

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
                        ) -> types.CallToolResult:
        return await answer(bridge, params.name, params.arguments)

    return Server("codeanalysisd", version=__version__, instructions=INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call_tool)


async def serve(kind: BusKind, default_project: str = "") -> None:
    bus = Bus(lambda: connect(kind), kind.value)
    bridge = Bridge(bus, default_project)
    server = make_server(bridge)
    try:
        async with stdio() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        bus.close()


def run(kind: BusKind, default_project: str = "") -> int:
    """Serve until the agent closes stdin; stdout carries nothing but MCP."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="codeanalysisctl mcp: %(message)s")
    anyio.run(serve, kind, default_project)
    return 0
