"""codeanalysisctl mcp under a real system manager, driven by two independent MCP clients.

The server runs inside the sandbox as `agent`, an unprivileged member of codeanalysis-users
(setpriv, as an agent would start it as its user), on stdio reached through nsenter; the test
process talks to it with the official SDK's ClientSession and, separately, with the MCP
Inspector's command-line mode (Node.js, from build/npm: `make npm`). `other` keeps a private
project (home 0700, opened to the service alone by ACL): nothing of it reaches any answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_client
import pytest
from conftest import REPO, figure
from helpers import ctl, start_suite
from mcp import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_client import Reply, tool
from sandbox.box import wait_until

AGENT = {"user": "agent", "groups": "codeanalysis-users"}
OTHER = {"user": "other", "groups": "codeanalysis-users"}
ROOT = "/home/agent/mcpproj"
SECOND = "/home/agent/mcpsecond"
PRIVATE = "/home/other/mcpsecret"
SECRET = "OTHER_PRIVATE_MARKER_5150"
# what must never reach the agent: the other user's contents, names and paths
LEAKS = (SECRET, "other_secret_fn", "secret_mod.py", "mcpsecret", "/home/other")
WATCHER = "codeanalysisd-watcher.service"
INVALID = "org.codeanalysis1.Error.InvalidArgument"
NOT_FOUND = "org.codeanalysis1.Error.NotFound"

MOD = ('"""The agent\'s module."""\n\n\ndef agent_fn(value):\n    """Double a value."""\n'
       "    return helper(value) * 2\n\n\ndef helper(value):\n    return value\n")
# a small package: a subclass across modules through an aliased relative import, a re-export
# under another name, self.method and a method called on an instance of an aliased module's class
SHAPES = {
    "shapes/__init__.py": '"""Shapes."""\nfrom shapes.base import Shape as BaseShape\n\n__all__ = ["BaseShape"]\n',
    "shapes/base.py": ("class Shape:\n    def area(self):\n        return 0\n\n    def describe(self):\n"
                       "        return f\"area {self.area()}\"\n"),
    "shapes/square.py": ("from . import base as b\n\n\nclass Square(b.Shape):\n    def __init__(self, side):\n"
                         "        self.side = side\n\n    def area(self):\n        return self.side ** 2\n"),
    "use_shapes.py": ("import shapes.square as sq\nfrom shapes import BaseShape\n\n\ndef total(side):\n"
                      "    return sq.Square(side).area()\n\n\ndef plain():\n    return BaseShape().describe()\n"),
}
BIG = "".join(f"LINE_{i:05d} = {i}  # {'padding ' * 8}\n" for i in range(3000))
TOOLS = {"search", "find_symbol", "find_references", "read_file", "file_history", "restore_file", "list_projects",
         "add_project", "index_status", "repair_database", "start_repair_worker", "stop_repair_worker",
         "repair_worker_status", "outline", "imports", "relations"}


# ----------------------------------------------------------------------------- the clients
def server_argv(system, who: dict[str, str] = AGENT) -> list[str]:
    return mcp_client.server_argv(system, who)


def served(system, scenario: Callable[[ClientSession], Awaitable[Any]], who: dict[str, str] = AGENT) -> Any:
    return mcp_client.served(system, scenario, who)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def write_as(system, who: dict[str, str], path: str, content: str) -> None:
    system.run("sh", "-c", 'cat > "$1"', "sh", path, input=content, **who)


# ----------------------------------------------------------------------------- setup
@pytest.fixture(scope="module", autouse=True)
def world(system, request):
    start_suite(system)

    def cleanup() -> None:
        start_suite(system)
        for root in (ROOT, SECOND, PRIVATE):
            ctl(system, "remove", root, check=False)
        system.sh("for u in agent other; do id $u >/dev/null 2>&1 && userdel -r $u 2>/dev/null; done; true")

    request.addfinalizer(cleanup)
    system.sh("useradd -m -G codeanalysis-users agent && useradd -m -G codeanalysis-users other")
    system.write_file(f"{ROOT}/mod.py", MOD)
    system.write_file(f"{ROOT}/big.py", BIG)
    system.write_file(f"{ROOT}/gone.py", "GONE_MARKER = 1\n")
    for path, text in SHAPES.items():
        system.write_file(f"{ROOT}/{path}", text)
    system.write_file(f"{SECOND}/second.py", "SECOND = 2\n")
    system.sh(f"chown -R agent:agent {ROOT} {SECOND} && chmod 0755 /home/agent")
    system.write_file(f"{PRIVATE}/secret_mod.py",
                      f'SECRET = "{SECRET}"\n\n\ndef other_secret_fn(value):\n    return helper(value)\n')
    system.sh(f"chown -R other:other /home/other && chmod 0700 /home/other && setfacl -m u:codeanalysis:x /home/other "
              f"&& setfacl -R -m u:codeanalysis:rX,d:u:codeanalysis:rX {PRIVATE}")
    ctl(system, "add", ROOT, **AGENT)
    ctl(system, "add", PRIVATE, **OTHER)

    def defined(name: str, who: dict[str, str]) -> bool:
        r = ctl(system, "--json", "def", name, check=False, **who)
        return r.returncode == 0 and any(d["qualname"] == name for d in json.loads(r.stdout))

    wait_until(lambda: defined("agent_fn", AGENT) and defined("total", AGENT) and defined("Square", AGENT),
               timeout=30, what="the agent's project indexed")
    wait_until(lambda: defined("other_secret_fn", OTHER), timeout=30, what="the other's project indexed")
    system.run("rm", f"{ROOT}/gone.py", **AGENT)  # in the history only, for restore_file


# ----------------------------------------------------------------------------- tests
def test_the_tools_are_listed_with_closed_schemas_for_an_agent(system):
    async def scenario(s: ClientSession):
        listed = await s.list_tools()
        return {t.name: t for t in listed.tools}

    tools = served(system, scenario)
    assert set(tools) == TOOLS
    for name, t in tools.items():
        assert t.input_schema["type"] == "object" and t.input_schema["additionalProperties"] is False, name
        assert len(t.description) > 80, name
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["search"].input_schema["properties"]["mode"]["enum"] == ["hybrid", "text", "semantic"]
    assert tools["search"].annotations.read_only_hint and not tools["restore_file"].annotations.read_only_hint
    assert set(tools["repair_database"].input_schema["properties"]) >= {"project", "dry_run"}
    assert set(tools["start_repair_worker"].input_schema["properties"]) == {"project", "batch_size", "poll_interval"}
    assert set(tools["stop_repair_worker"].input_schema["properties"]) == {"timeout", "force"}
    assert set(tools["repair_worker_status"].input_schema["properties"]) == {"project"}
    assert tools["outline"].input_schema["required"] == ["path"]
    assert tools["imports"].input_schema["properties"]["direction"]["enum"] == ["out", "in"]
    assert "to" in tools["imports"].input_schema["properties"]
    assert tools["relations"].input_schema["required"] == ["kind", "target"]
    assert tools["relations"].input_schema["properties"]["kind"]["enum"] == ["hierarchy", "calls", "usages"]
    assert all(tools[name].annotations.read_only_hint for name in ("outline", "imports", "relations"))


def test_search_reads_the_query_language(system):
    """The search tool passes the query to the service as written: the same operators as
    Search and HybridSearch, and bad syntax named with its column."""
    async def scenario(s: ClientSession):
        return {"kind": await tool(s, "search", query="value kind:function sym:help", mode="text"),
                "phrase": await tool(s, "search", query='"helper(value) * 2"', mode="text"),
                "hybrid": await tool(s, "search", query="double a value path:mod.py -path:big"),
                "bad": await tool(s, "search", query='value "never closed', mode="text")}

    replies = served(system, scenario)
    assert [(r["path"], r["line"]) for r in replies["kind"].data["results"]] == [("mod.py", 9)]
    assert [(r["path"], r["line"]) for r in replies["phrase"].data["results"]] == [("mod.py", 6)]
    assert replies["hybrid"].data["results"] and {r["path"] for r in replies["hybrid"].data["results"]} == {"mod.py"}
    assert replies["bad"].error and replies["bad"].name == INVALID and "column 7" in replies["bad"].text

def test_every_tool_with_good_and_bad_arguments(system):
    async def scenario(s: ClientSession):
        good = {}
        good["search"] = await tool(s, "search", query="agent_fn", mode="text")
        good["hybrid"] = await tool(s, "search", query="double a value")
        good["find_symbol"] = await tool(s, "find_symbol", name="agent_fn")
        good["outline"] = await tool(s, "find_symbol", project="mcpproj", path="mod.py")
        good["find_references"] = await tool(s, "find_references", name="helper")
        good["read_file"] = await tool(s, "read_file", project="mcpproj", path="mod.py")
        good["file_history"] = await tool(s, "file_history", project="mcpproj", path="mod.py")
        good["list_projects"] = await tool(s, "list_projects")
        good["index_status"] = await tool(s, "index_status", project="mcpproj")
        good["repair_database"] = await tool(s, "repair_database", project="mcpproj", dry_run=True)
        good["restore_file"] = await tool(s, "restore_file", project="mcpproj", path="gone.py")
        good["add_project"] = await tool(s, "add_project", root=SECOND)
        good["file outline"] = await tool(s, "outline", project="mcpproj", path="mod.py")
        good["imports"] = await tool(s, "imports", project="mcpproj", module="mod")
        good["relations"] = await tool(s, "relations", kind="usages", target="mod.helper", project="mcpproj")
        worker = {name: await tool(s, name, **arguments) for name, arguments in (
            ("start_repair_worker", {"project": "mcpproj", "batch_size": 10, "poll_interval": 1.5}),
            ("repair_worker_status", {"project": "mcpproj"}),
            ("stop_repair_worker", {"timeout": 5.0, "force": False}))}
        bad = {
            "search": [{}, {"query": ""}, {"query": 3}, {"query": "x", "limit": -1}, {"query": "x", "mode": "fuzzy"},
                       {"query": "x", "max_chars": 10}, {"query": "x", "cursor": "not-a-cursor"},
                       {"query": "x", "colour": "red"}],
            "find_symbol": [{"kind": "lambda"}, {"limit": 0}, {"name": ""}],
            "find_references": [{}, {"name": "x", "limit": 1000}],
            "read_file": [{"project": "mcpproj"}, {"project": "mcpproj", "path": "mod.py", "start_line": 0},
                          {"project": "mcpproj", "path": "mod.py", "start_line": 99},
                          {"project": "mcpproj", "path": "mod.py", "end_line": -2}],
            "file_history": [{}, {"path": "mod.py", "project": "mcpproj", "limit": "all"}],
            "restore_file": [{}, {"project": "mcpproj", "path": "mod.py", "overwrite": "yes"}],
            "list_projects": [{"limit": 0}, {"cursor": 5}],
            "add_project": [{"root": 7}],
            "index_status": [{"limit": -5}],
            "repair_database": [{"project": "mcpproj", "dry_run": "no"}],
            "start_repair_worker": [{"batch_size": "many"}, {"poll_interval": -1}],
            "stop_repair_worker": [{"timeout": -1}, {"force": 1}],
            "repair_worker_status": [{"project": 5}],
            "outline": [{"project": "mcpproj"}, {"project": "mcpproj", "path": "mod.py", "limit": 0},
                        {"project": "mcpproj", "path": ""}],
            "imports": [{"project": "mcpproj"}, {"project": "mcpproj", "module": "mod", "direction": "up"},
                        {"project": "mcpproj", "module": "mod", "depth": 99},
                        {"project": "mcpproj", "module": "mod", "to": "shapes", "direction": "in"},
                        {"project": "mcpproj", "module": "mod", "cursor": "xyz"}],
            "relations": [{"target": "mod.helper"}, {"kind": "usages"}, {"kind": "imports", "target": "mod"},
                          {"kind": "hierarchy", "target": "Shape", "direction": "callers", "project": "mcpproj"},
                          {"kind": "calls", "target": "mod.helper", "direction": "down", "project": "mcpproj"},
                          {"kind": "usages", "target": "mod.helper", "direction": "up"},
                          {"kind": "usages", "target": "mod.helper", "depth": 2},
                          {"kind": "calls", "target": "not a name", "project": "mcpproj"},
                          {"kind": "usages", "target": "mod.helper", "limit": 500}],
        }
        refused = {name: [await tool(s, name, **arguments) for arguments in cases] for name, cases in bad.items()}
        # two versions of a file: restoring the first over the second needs overwrite
        write_as(system, AGENT, f"{ROOT}/twice.py", "TWICE = 1\n")

        async def versions(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                reply = await tool(s, "file_history", project="mcpproj", path="twice.py")
                return not reply.error and len(reply.data["versions"]) >= count
            return check

        await eventually(await versions(1), 10, "twice.py indexed")
        write_as(system, AGENT, f"{ROOT}/twice.py", "TWICE = 2\n")
        await eventually(await versions(2), 10, "twice.py's second version")
        good["overwrite"] = await tool(s, "restore_file", project="mcpproj", path="twice.py", version="1",
                                       overwrite=True)
        named = {
            "missing file": await tool(s, "read_file", project="mcpproj", path="nope.py"),
            "unknown project": await tool(s, "find_symbol", name="x", project="nosuchproj"),
            "existing file": await tool(s, "restore_file", project="mcpproj", path="twice.py", version="2"),
            "system tree": await tool(s, "add_project", root="/etc"),
            "unknown status": await tool(s, "index_status", project="nosuchproj"),
            "outline of a missing file": await tool(s, "outline", project="mcpproj", path="nope.py"),
            "unknown module": await tool(s, "imports", project="mcpproj", module="no.such.module"),
            "unknown class": await tool(s, "relations", kind="hierarchy", target="NoSuchClass", project="mcpproj"),
            "unknown function": await tool(s, "relations", kind="calls", target="mod.nope", project="mcpproj"),
        }
        with pytest.raises(MCPError):
            await s.call_tool("no_such_tool", {})
        alive = await s.list_tools()  # nothing above ended the server
        return good, worker, refused, named, len(alive.tools)

    good, worker, refused, named, alive = served(system, scenario)
    assert alive == len(TOOLS)
    for name, reply in good.items():
        assert not reply.error, (name, reply.text)
    assert {("mcpproj", "mod.py")} <= {(r["project"], r["path"]) for r in good["search"].data["results"]}
    assert good["hybrid"].data["mode"] in ("hybrid", "text") and good["hybrid"].data["results"]
    assert [d["name"] for d in good["find_symbol"].data["results"]] == ["agent_fn"]
    assert {"agent_fn", "helper"} <= {d["name"] for d in good["outline"].data["results"]}
    assert any(u["in"] == "agent_fn" for u in good["find_references"].data["results"])
    assert good["read_file"].data["text"] == MOD and good["read_file"].data["lines"] == MOD.count("\n")
    assert good["file_history"].data["versions"][0]["reason"] in ("added", "repaired")
    assert "mcpproj" in {p["project"] for p in good["list_projects"].data["projects"]}
    status = good["index_status"].data["projects"][0]
    assert status["project"] == "mcpproj" and status["phase"] in ("ready", "waiting", "scanning", "showing",
                                                                  "indexing"), status
    assert "watcher" in good["index_status"].data["units"]
    assert good["repair_database"].data["dry_run"] is True and good["repair_database"].data["checked"] >= 2
    restored = good["restore_file"].data
    assert restored["written"] and restored["version"] >= 1
    assert system.run("stat", "-c", "%U", f"{ROOT}/gone.py").stdout.strip() == "agent"  # written as the agent
    assert system.run("cat", f"{ROOT}/gone.py").stdout == "GONE_MARKER = 1\n"
    assert good["add_project"].data["project"] == "mcpsecond"
    assert good["overwrite"].data["written"] and good["overwrite"].data["version"] == 1
    assert system.run("cat", f"{ROOT}/twice.py").stdout == "TWICE = 1\n"
    for name in ("search", "find_symbol", "read_file", "file_history", "list_projects", "repair_database"):
        fresh = good[name].data["freshness"]
        assert "mcpproj" in fresh and set(fresh["mcpproj"]) >= {"stale", "files_indexed", "files_pending",
                                                                   "last_change"}, (name, fresh)
    for name, reply in worker.items():
        # starting and stopping the repair worker is for root and codeanalysis-admin: this agent's
        # user gets the bus's refusal as a named tool error; its status is everyone's
        if name == "repair_worker_status":
            assert not reply.error and "cycle" in reply.data, (name, reply.text)
        else:
            assert reply.error and reply.name == "org.freedesktop.DBus.Error.AccessDenied", (name, reply.text)
    for name, replies in refused.items():
        for reply in replies:
            assert reply.error and reply.name == INVALID, (name, reply.text)
    assert named["missing file"].name == NOT_FOUND and named["unknown project"].name == NOT_FOUND
    assert named["existing file"].name == "org.codeanalysis1.Error.Exists"
    assert named["system tree"].name == "org.codeanalysis1.Error.AccessDenied"
    assert named["unknown status"].name == NOT_FOUND
    for name in ("outline of a missing file", "unknown module", "unknown class", "unknown function"):
        assert named[name].name == NOT_FOUND, (name, named[name].text)
    assert [d["name"] for d in good["file outline"].data["definitions"]] == ["agent_fn", "helper"]
    assert good["imports"].data["imports"] == [] and good["imports"].data["module"] == "mod"
    assert [(u["in"], u["kind"], u["resolution"]) for u in good["relations"].data["results"]] == [
        ("agent_fn", "call", "resolved")]
    for name in ("file outline", "imports", "relations"):
        assert set(good[name].data["freshness"]["mcpproj"]) >= {"stale", "files_indexed"}, name


def test_structure_follows_aliases_re_exports_self_and_subclasses_across_modules(system):
    async def scenario(s: ClientSession):
        asked = {
            "outline": ("outline", {"project": "mcpproj", "path": "shapes/base.py"}),
            "imports out": ("imports", {"project": "mcpproj", "module": "shapes/square.py"}),
            "imported by": ("imports", {"project": "mcpproj", "module": "shapes.base", "direction": "in"}),
            "all imports": ("imports", {"project": "mcpproj", "module": "use_shapes", "depth": 0}),
            "chain": ("imports", {"project": "mcpproj", "module": "use_shapes", "to": "shapes.base"}),
            "no chain": ("imports", {"project": "mcpproj", "module": "shapes.base", "to": "use_shapes"}),
            "subclasses": ("relations", {"kind": "hierarchy", "target": "shapes.base.Shape", "direction": "down",
                                         "project": "mcpproj"}),
            "bases": ("relations", {"kind": "hierarchy", "target": "Square", "project": "mcpproj"}),
            "self call": ("relations", {"kind": "calls", "target": "shapes.base.Shape.area", "project": "mcpproj"}),
            "callees": ("relations", {"kind": "calls", "target": "use_shapes.total", "direction": "callees",
                                      "project": "mcpproj"}),
            "usages": ("relations", {"kind": "usages", "target": "shapes.base.Shape", "project": "mcpproj"}),
            "inherited": ("relations", {"kind": "usages", "target": "shapes.base.Shape.describe"}),
        }
        replies = {label: await tool(s, name, **arguments) for label, (name, arguments) in asked.items()}
        # a page at a time, one row a page: the cursor alone carries the question
        rows, cursor = [], None
        while True:
            reply = await tool(s, "relations", limit=1, **({"cursor": cursor} if cursor else {
                "kind": "usages", "target": "shapes.base.Shape", "project": "mcpproj"}))
            rows += reply.data["results"]
            if not reply.data["more"]:
                break
            cursor = reply.data["next_cursor"]
        return replies, rows

    replies, paged = served(system, scenario)
    for label, reply in replies.items():
        assert not reply.error, (label, reply.text)
        assert "mcpproj" in reply.data["freshness"], label
    outline = replies["outline"].data["definitions"]
    assert [(d["name"], d["kind"], d["depth"]) for d in outline] == [
        ("Shape", "class", 0), ("Shape.area", "method", 1), ("Shape.describe", "method", 1)]
    assert outline[0]["line"] == 1 and outline[0]["end_line"] == 6
    edges = lambda label: {(r["importer"], r["imported"]) for r in replies[label].data["imports"]}  # noqa: E731
    assert edges("imports out") == {("shapes.square", "shapes.base")}  # `from . import base as b`
    assert edges("imported by") == {("shapes", "shapes.base"), ("shapes.square", "shapes.base")}
    assert edges("all imports") == {("use_shapes", "shapes.square"), ("use_shapes", "shapes"),
                                    ("shapes.square", "shapes.base"), ("shapes", "shapes.base")}
    assert replies["chain"].data["chain"] == ["use_shapes", "shapes.square", "shapes.base"]
    assert replies["chain"].data["found"] is True
    assert replies["no chain"].data["found"] is False and replies["no chain"].data["chain"] == []
    assert [(r["class"], r["path"], r["depth"]) for r in replies["subclasses"].data["results"]] == [
        ("shapes.base.Shape", "shapes/base.py", 0), ("shapes.square.Square", "shapes/square.py", 1)]
    assert [(r["class"], r["depth"]) for r in replies["bases"].data["results"]] == [
        ("shapes.square.Square", 0), ("shapes.base.Shape", 1)]
    assert [(r["caller"], r["in"], r["line"], r["resolution"]) for r in replies["self call"].data["results"]] == [
        ("shapes.base.Shape.describe", "Shape.describe", 6, "resolved")]
    callees = {(r["callee"], r["resolution"]) for r in replies["callees"].data["results"]}
    assert ("shapes.square.Square.area", "resolved") in callees  # sq.Square(side).area(): through the alias
    uses = {(r["path"], r["line"], r["text"], r["resolution"]) for r in replies["usages"].data["results"]}
    assert uses == {("shapes/__init__.py", 2, "Shape", "resolved"), ("shapes/square.py", 4, "b.Shape", "resolved"),
                    ("use_shapes.py", 2, "BaseShape", "resolved"), ("use_shapes.py", 10, "BaseShape", "resolved")}
    assert [(r["project"], r["path"], r["in"], r["text"]) for r in replies["inherited"].data["results"]] == [
        ("mcpproj", "use_shapes.py", "plain", "BaseShape().describe")]
    assert {(r["path"], r["line"]) for r in paged} == {(path, line) for path, line, _t, _r in uses}
    assert len(paged) == len(uses)


def test_answers_are_bounded_and_paged_without_losing_anything(system):
    async def scenario(s: ClientSession):
        text, cursor, pages = "", None, 0
        while True:
            arguments = {"cursor": cursor} if cursor else {"project": "mcpproj", "path": "big.py"}
            reply = await tool(s, "read_file", max_chars=1000, **arguments)
            assert not reply.error, reply.text
            text += reply.data["text"]
            pages += 1
            if not reply.data["more"]:
                break
            cursor = reply.data["next_cursor"]
        seen, cursor = [], None
        while True:
            reply = await tool(s, "find_symbol", name="LINE_0*", limit=7, max_chars=1500,
                               **({"cursor": cursor} if cursor else {}))
            seen += [(r["path"], r["line"]) for r in reply.data["results"]]
            if not reply.data["more"]:
                break
            cursor = reply.data["next_cursor"]
        first = await tool(s, "search", query="padding", mode="text", limit=100, max_chars=1000)
        return text, pages, seen, first

    text, pages, seen, first = served(system, scenario)
    assert text == BIG and pages > 10
    assert len(seen) == len(set(seen))
    assert first.data["more"] and any("did not fit" in n for n in first.data.get("notes", []))
    figure(f"MCP read_file of a {len(BIG):,}-character file at max_chars=1000: {pages} pages, reassembled exactly")


def test_a_saved_file_is_found_at_once_and_the_answer_is_fresh(system):
    marker = f"FRESH_SAVE_{os.getpid()}"

    async def scenario(s: ClientSession):
        await tool(s, "search", query="agent_fn", mode="text")  # connected and warm
        write_as(system, AGENT, f"{ROOT}/fresh_save.py", f"def {marker.lower()}():\n    return '{marker}'\n")
        saved = time.monotonic()

        async def found() -> Reply | None:
            reply = await tool(s, "search", query=marker, mode="text", project="mcpproj")
            return reply if reply.data.get("results") else None

        reply = await eventually(found, 5.0, "the saved file to be found")
        took = time.monotonic() - saved

        async def fresh() -> Reply | None:
            again = await tool(s, "search", query=marker, mode="text", project="mcpproj")
            return again if again.data["freshness"]["mcpproj"]["stale"] is False else None

        settled = await eventually(fresh, 5.0, "the answer to say the index is fresh")
        return reply, took, settled

    reply, took, settled = served(system, scenario)
    assert reply.data["results"][0]["path"] == "fresh_save.py"
    assert settled.data["freshness"]["mcpproj"]["last_change"] is not None
    assert took < 1.5, f"found {took:.2f} s after the save"
    figure(f"MCP search finds a freshly saved file {took * 1000:.0f} ms after the save")


def test_answers_say_stale_while_the_watcher_is_stopped(system):
    marker = f"STALE_EDIT_{os.getpid()}"
    # the repair worker with it: a stopped watcher's drift is the repair worker's to index
    system.systemctl("stop", WATCHER, "codeanalysisd-repair.service")
    try:
        write_as(system, AGENT, f"{ROOT}/mod.py", MOD + f"\n{marker} = 1\n")

        async def scenario(s: ClientSession):
            replies = {
                "search": await tool(s, "search", query=marker, mode="text"),
                "read_file": await tool(s, "read_file", project="mcpproj", path="mod.py"),
                "list_projects": await tool(s, "list_projects"),
                "index_status": await tool(s, "index_status", project="mcpproj"),
            }
            return replies

        replies = served(system, scenario)
        # not found anywhere: the answer names the stale projects, where it may lie unindexed
        assert replies["search"].data["results"] == []
        for name in ("search", "read_file", "list_projects"):
            fresh = replies[name].data["freshness"]["mcpproj"]
            assert fresh["stale"] is True and "watcher" in fresh["why"], (name, fresh)
        (row,) = replies["index_status"].data["projects"]
        assert row["stale"] and "inactive" in row["why"] and row["phase"] == "stale", row
        assert replies["index_status"].data["units"]["watcher"].startswith("inactive")
    finally:
        system.systemctl("start", WATCHER, "codeanalysisd-repair.service")

    async def after(s: ClientSession):
        async def fresh_and_found() -> Reply | None:
            reply = await tool(s, "search", query=marker, mode="text", project="mcpproj")
            return reply if reply.data["results"] and not reply.data["freshness"]["mcpproj"]["stale"] else None

        return await eventually(fresh_and_found, 20.0, "the watcher to catch up")

    assert served(system, after).data["results"][0]["path"] == "mod.py"


def test_nothing_of_another_users_private_project_reaches_any_answer(system):
    async def scenario(s: ClientSession):
        replies = []
        calls = [("search", {"query": SECRET, "mode": mode}) for mode in ("text", "hybrid", "semantic")]
        calls += [("search", {"query": "helper value", "mode": "text", "limit": 100}),
                  ("search", {"query": "return the value of a helper", "limit": 100}),
                  ("find_symbol", {"name": "other_secret_fn"}), ("find_references", {"name": "helper", "limit": 200}),
                  ("list_projects", {"limit": 200}), ("index_status", {"limit": 200}),
                  ("read_file", {"project": "mcpsecret", "path": "secret_mod.py"}),
                  ("read_file", {"path": f"{PRIVATE}/secret_mod.py"}),
                  ("file_history", {"project": "mcpsecret", "path": "secret_mod.py"}),
                  ("restore_file", {"project": "mcpsecret", "path": "secret_mod.py"}),
                  ("repair_database", {"project": "mcpsecret", "dry_run": True}),
                  ("repair_database", {"project": PRIVATE, "dry_run": True}),
                  ("repair_worker_status", {"project": "mcpsecret"}),
                  ("add_project", {"root": PRIVATE}),
                  ("relations", {"kind": "usages", "target": "helper", "limit": 200}),
                  ("relations", {"kind": "usages", "target": "secret_mod.other_secret_fn", "project": "mcpsecret"}),
                  ("outline", {"project": "mcpsecret", "path": "secret_mod.py"}),
                  ("imports", {"project": "mcpsecret", "module": "secret_mod", "direction": "in"})]
        for name, arguments in calls:
            replies.append((name, arguments, await tool(s, name, **arguments)))
        cursor, pages = None, 0
        while pages < 50:  # every definition the agent can see, page by page
            reply = await tool(s, "find_symbol", limit=200, max_chars=40000, **({"cursor": cursor} if cursor else {}))
            replies.append(("find_symbol", {}, reply))
            pages += 1
            if not reply.data.get("more"):
                break
            cursor = reply.data["next_cursor"]
        return replies

    replies = served(system, scenario)
    for name, arguments, reply in replies:
        text = reply.text
        for typed in sorted({str(v) for v in arguments.values() if len(str(v)) >= 3}, key=len, reverse=True):
            text = text.replace(typed, "<typed>")
        leaked = [leak for leak in LEAKS if leak in text]
        assert not leaked, (name, arguments, leaked, reply.text[:2000])
    by_call = {(n, json.dumps(a, sort_keys=True)): r for n, a, r in replies}
    secret_read = by_call[("read_file", json.dumps({"project": "mcpsecret", "path": "secret_mod.py"}, sort_keys=True))]
    assert secret_read.name == NOT_FOUND  # as for a project that does not exist
    # the other user sees her own project through the same tools
    mine = served(system, lambda s: tool(s, "search", query=SECRET, mode="text"), who=OTHER)
    assert mine.data["results"] and mine.data["freshness"]["mcpsecret"]["stale"] in (True, False)


# ----------------------------------------------------------------------------- the Inspector
@pytest.fixture(scope="module")
def inspector():
    """The MCP Inspector's command line (installed by `make npm` into build/npm) and a home of
    its own: it keeps a catalog and secrets under ~."""
    subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "npm"], check=True, capture_output=True)
    npm = REPO / "build" / "npm" / "node_modules"
    node = npm / ".bin" / "node"
    launcher = npm / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
    with tempfile.TemporaryDirectory(prefix="mcp-inspector-") as home:
        yield [str(node), str(launcher)], home


def inspect(system, inspector, *arguments: str) -> subprocess.CompletedProcess[str]:
    command, home = inspector
    # the server's command line holds options of nsenter's: given as a script, the Inspector
    # passes none of them to its own option parser
    script = pathlib.Path(home) / "codeanalysisctl-mcp"
    script.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in server_argv(system)) + "\n")
    script.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "HOME": home, "MCP_CATALOG_PATH": f"{home}/mcp.json"}
    return subprocess.run([*command, "--cli", str(script), *arguments], capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_mcp_inspector_lists_and_calls_the_tools(system, inspector):
    version = subprocess.run([*inspector[0], "--cli", "--version"], capture_output=True, text=True, check=True)
    listed = inspect(system, inspector, "--method", "tools/list", "--strict")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == TOOLS
    found = inspect(system, inspector, "--method", "tools/call", "--tool-name", "search", "--tool-arg",
                    "query=agent_fn", "--tool-arg", "mode=text", "--tool-arg", "limit=5")
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert not result.get("isError") and result["structuredContent"]["results"][0]["path"] == "mod.py"
    assert "mcpproj" in result["structuredContent"]["freshness"]
    bad = inspect(system, inspector, "--method", "tools/call", "--tool-name", "search", "--tool-arg", "limit=-3")
    assert bad.returncode != 0
    assert json.loads(bad.stdout)["isError"] is True and INVALID in bad.stdout
    secret = inspect(system, inspector, "--method", "tools/call", "--tool-name", "search", "--tool-arg",
                     f"query={SECRET}", "--tool-arg", "mode=text")
    assert SECRET not in secret.stdout.replace(f"query={SECRET}", "") and "other_secret_fn" not in secret.stdout
    figure(f"MCP Inspector {version.stdout.strip()} (Node.js from build/npm) lists and calls the tools")
