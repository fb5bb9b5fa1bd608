"""codeanalysisctl mcp speaks MCP on stdio (over a pipe, its own asyncio transport), answers
on stdout and nothing else, and ends when stdin does. No bus is needed: the call here is
refused for its arguments before anything is asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from codeanalysisd.cli.mcp.stdio import _pipe_like

REQUESTS = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search", "arguments": {"limit": -1}}},
]


def test_requests_on_stdin_answers_on_stdout_then_the_end():
    answers = {}
    with subprocess.Popen([sys.executable, "-m", "codeanalysisd.cli.main", "mcp"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        for request in REQUESTS:
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
            if "id" in request:
                answer = json.loads(server.stdout.readline())
                answers[answer["id"]] = answer
        server.stdin.close()
        assert server.wait(timeout=30) == 0, server.stderr.read()
        assert server.stdout.read() == ""  # nothing after the answers
    assert answers[1]["result"]["serverInfo"]["name"] == "codeanalysisd"
    assert len(answers[2]["result"]["tools"]) == 16
    error = answers[3]["result"]
    assert error["isError"] and error["structuredContent"]["error"]["name"] == "org.codeanalysis1.Error.InvalidArgument"


def test_only_pipes_and_sockets_get_the_asyncio_transport(tmp_path):
    read, write = os.pipe()
    with open(tmp_path / "f", "w") as regular:
        assert _pipe_like(read) and _pipe_like(write) and not _pipe_like(regular.fileno())
    os.close(read)
    os.close(write)
