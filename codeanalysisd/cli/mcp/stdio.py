"""MCP's stdio transport on asyncio's own pipe transports: newline-delimited JSON-RPC in on
stdin, out on stdout.

The SDK's ``stdio_server`` reads and writes the standard streams through worker threads:
each message crosses threads three times (a line read, a write, a flush), about 0.4 ms of
each tool call on this machine, more when the CPUs are busy. Here the pipes are read and
written by the event loop itself; the protocol above them is the SDK's, unchanged. As the
SDK does, the server's own descriptors 0 and 1 are pointed at /dev/null and stderr while it
serves, so that nothing printed by accident can corrupt the wire.

Where stdin or stdout is not a pipe or a socket (a terminal, a file), the SDK's transport is
used: a terminal must not be left non-blocking for the shell after the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

MAX_LINE = 64 * 1024 * 1024  # one JSON-RPC message; an agent's requests are a few KiB

Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]


def _pipe_like(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextlib.asynccontextmanager
async def _claimed() -> AsyncIterator[tuple[int, int]]:
    """Private copies of stdin and stdout for the wire; fd 0 reads /dev/null and fd 1 writes
    to stderr meanwhile, and both are put back at the end."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        yield wire_in, wire_out
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (null, saved_in, saved_out):
            os.close(fd)


async def _reader(loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_LINE, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 os.fdopen(fd, "rb", buffering=0))
    return reader


async def _writer(loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.StreamWriter:
    transport, protocol = await loop.connect_write_pipe(lambda: asyncio.StreamReaderProtocol(
        asyncio.StreamReader(loop=loop), loop=loop), os.fdopen(fd, "wb", buffering=0))
    return asyncio.StreamWriter(transport, protocol, None, loop)


@contextlib.asynccontextmanager
async def stdio() -> AsyncIterator[Streams]:
    """The read and write streams the SDK's server runs on."""
    if not (_pipe_like(0) and _pipe_like(1)):
        async with stdio_server() as streams:
            yield streams
        return
    loop = asyncio.get_running_loop()
    into, received = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    to_send, outgoing = anyio.create_memory_object_stream[SessionMessage](0)
    async with _claimed() as (wire_in, wire_out):
        reader, writer = await _reader(loop, wire_in), await _writer(loop, wire_out)

        async def pump_in() -> None:
            async with into:
                while line := await reader.readline():
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except Exception as exc:  # the session answers a malformed message; the server goes on
                        await into.send(exc)
                        continue
                    await into.send(SessionMessage(message))

        async def pump_out() -> None:
            async with outgoing:
                async for item in outgoing:
                    writer.write(item.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
                    await writer.drain()

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(pump_in)
                tasks.start_soon(pump_out)
                yield received, to_send
                tasks.cancel_scope.cancel()
        finally:
            writer.close()
