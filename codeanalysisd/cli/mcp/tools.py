"""The tools: what each asks the Manager, and the answer an agent gets back.

Every tool checks its arguments against its own schema (``args``), asks the Manager over the
bus as the agent's user, and answers one JSON object bounded by ``max_chars`` and paged
(``pages``). Every answer says, for each project in it, whether the index is fresh there
(``freshness``: from IndexStatus, asked alongside the tool's own call).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from codeanalysisd.bus.api import LIST_PAGE
from codeanalysisd.cli import restore_write
from codeanalysisd.cli.mcp import args as checks
from codeanalysisd.cli.mcp import pages
from codeanalysisd.cli.mcp.args import ToolError, invalid
from codeanalysisd.cli.mcp.bus import Bus, plain, when
from codeanalysisd.cli.mcp.pages import Answer, Item
from codeanalysisd.cli.progress import COUNTING
from codeanalysisd.names import ERROR_PREFIX
from codeanalysisd.query_language import KINDS

T = TypeVar("T")
SERVICE_ROWS = 1000  # the most rows the Manager answers for one query (lookup.MAX_LIMIT)
KEPT_RESULTS = 8  # repair reports kept for paging
# How long an IndexStatus answer serves the calls that follow: an agent's burst of calls costs
# the owner one question, and no answer's freshness is older than this (the watcher itself
# reports a backlog up to 0.05 s late)
FRESH_FOR = 0.1

# ----------------------------------------------------------------------------- schemas
PROJECT = {"type": "string", "maxLength": 4096, "default": "",
           "description": "Project id (list_projects) or root. Default: this server's --project, else every "
                          "project (queries) or the one holding the path or working directory (files)."}
PATH_GLOB = {"type": "string", "maxLength": 1024, "default": "",
             "description": "Only paths (relative to the root) matching this glob; * crosses directories: "
                            "'tests/*', '*/models.py', 'src/'."}
FILE = {"type": "string", "minLength": 1, "maxLength": 4096,
        "description": "File path relative to the project root, or absolute under it."}
CURSOR = {"type": "string", "maxLength": pages.MAX_CURSOR,
          "description": "next_cursor of the previous answer: the next page (with the same arguments, or alone)."}
MAX_CHARS = {"type": "integer", "minimum": pages.MIN_CHARS, "maximum": pages.MAX_CHARS,
             "default": pages.DEFAULT_CHARS,
             "description": f"Longest answer in characters (default {pages.DEFAULT_CHARS}); the rest comes with "
                            "next_cursor."}


def limit(default: int, most: int, what: str = "results") -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": most, "default": default,
            "description": f"At most this many {what} per page (default {default})."}


def schema(properties: Mapping[str, Mapping[str, Any]], required: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": dict(properties), "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


# ----------------------------------------------------------------------------- the bridge
Fresh = tuple[dict[str, list[Any]], str]  # IndexStatus rows by project, or why freshness is not known


@dataclass
class Call:
    """One tool call: the checked arguments (defaults filled in) and what was actually given."""

    args: dict[str, Any]
    given: dict[str, Any]


@dataclass
class Bridge:
    """What every tool stands on: the bus, the default project, the working directory, and
    the repair reports kept for paging."""

    bus: Bus
    default_project: str = ""
    cwd: str = field(default_factory=os.getcwd)
    kept: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    known: dict[str, tuple[float, Fresh]] = field(default_factory=dict)  # IndexStatus by project, and when

    def project(self, given: str) -> str:
        return given or self.default_project

    async def file_project(self, given: str, path: str = "") -> str:
        """The project a file tool works on: the one named, the default, else the project (of
        those the caller sees) whose root holds the absolute path, or the working directory."""
        if given or self.default_project:
            return given or self.default_project
        (rows,) = await self.bus("ListProjects", 0, LIST_PAGE)
        roots: dict[str, str] = {str(row[2]): str(row[0]) for row in rows}
        for place in ([path] if path.startswith("/") else []) + [self.cwd]:
            holding = [root for root in roots if place == root or place.startswith(root.rstrip("/") + "/")]
            if holding:
                return roots[max(holding, key=len)]
        ids = ", ".join(sorted(roots.values())[:20]) or "none yet (add_project registers one)"
        raise invalid(f"project must be given: neither the path nor the working directory {self.cwd} is in a "
                      f"project you can see. Projects: {ids}")

    async def freshness(self, project: str) -> Fresh:
        """IndexStatus rows by project (of one project, or of all the caller sees for ""), or
        why freshness is not known; at most FRESH_FOR seconds old."""
        asked = time.monotonic()
        known = self.known.get(project)
        if known is not None and asked - known[0] < FRESH_FOR:
            return known[1]
        try:
            (rows,) = await self.bus("IndexStatus", project)
        except ToolError as exc:
            return {}, f"freshness not known: {exc.name}: {exc.message}"
        fresh: Fresh = ({row[0]: row for row in rows}, "")
        self.known[project] = (asked, fresh)
        return fresh

    def changed(self) -> None:
        """A tool changed the index: what was known of its freshness is asked again."""
        self.known.clear()

    def keep(self, result: dict[str, Any]) -> str:
        key = hashlib.sha256(os.urandom(16)).hexdigest()[:16]
        self.kept[key] = result
        while len(self.kept) > KEPT_RESULTS:
            self.kept.popitem(last=False)
        return key


def freshness_of(rows: Mapping[str, Sequence[Any]], projects: Iterable[str], compact: bool) -> dict[str, Any]:
    """The freshness of each project named, as an agent reads it."""
    out: dict[str, Any] = {}
    for project in dict.fromkeys(projects):
        row = rows.get(project)
        if row is None:
            continue
        _id, indexed, pending, last, stale, why = row
        if compact:
            out[project] = {"stale": bool(stale)}
            continue
        entry = {"stale": bool(stale), "files_indexed": indexed, "files_pending": pending, "last_change": when(last)}
        if stale:
            entry["why"] = why
        out[project] = entry
    return out


async def alongside(main: Awaitable[T], fresh: Coroutine[Any, Any, Fresh]) -> tuple[T, Fresh]:
    """The tool's call and IndexStatus at once: freshness costs no extra round trip."""
    task = asyncio.ensure_future(fresh)
    try:
        result = await main
    except BaseException:
        task.cancel()
        raise
    return result, await task


def envelope(shown: list[Item] | None, key: str, more: bool, cursor: Callable[[], str], fresh: Fresh,
             compact: bool, notes: Sequence[str] = (), projects: Iterable[str] | None = None,
             **extra: Any) -> Answer:
    """An answer: the items (under ``key``; None: an answer of one thing, in ``extra``),
    whether there is more and from where, freshness of the projects in it (by id: a tool about
    one project names all of ``fresh``, which IndexStatus answered for it, by id or root),
    and notes."""
    rows, unknown = fresh
    out: Answer = dict(extra)
    if shown is not None:
        out[key] = shown
    out["more"] = more
    if more:
        out["next_cursor"] = cursor()
    named = projects if projects is not None else (item["project"] for item in shown or ())
    out["freshness"] = freshness_of(rows, named, compact)
    for text in ([unknown] if unknown else []) + list(notes):
        pages.note(out, text)
    return out


def touched(shown: list[Item], fresh: Fresh, scoped: bool) -> list[str]:
    """The projects a query's answer is about: those of its rows, the one it was asked of, and,
    when nothing was found anywhere, every project whose index is stale (the answer may be
    there, not indexed yet)."""
    named = [str(item["project"]) for item in shown]
    if scoped:
        return named + list(fresh[0])
    return named + ([p for p, row in fresh[0].items() if row[4]] if not shown else [])


# ----------------------------------------------------------------------------- queries
async def _rows_until(bus: Bus, member: str, body: Callable[[int], tuple[Any, ...]], keep: Callable[[list[Any]], bool],
                      need: int, filtered: bool) -> tuple[list[list[Any]], bool]:
    """Rows of a ranked query, asked for in growing numbers until ``need`` of them pass the
    filter or the service has no more; and whether the service's cap was reached."""
    ask = min(SERVICE_ROWS, need if not filtered else max(need * 4, 200))
    while True:
        (rows,) = await bus(member, *body(ask))
        kept = [r for r in rows if keep(r)]
        if len(kept) >= need or len(rows) < ask or ask >= SERVICE_ROWS:
            return kept, len(rows) >= SERVICE_ROWS
        ask = min(SERVICE_ROWS, ask * 4)


async def ranked(bridge: Bridge, call: Call, tool: str, query_keys: Sequence[str], member: str,
                 body: Callable[[dict[str, Any], int], tuple[Any, ...]], row: Callable[[list[Any]], Item],
                 cuttable: Sequence[str], extra: Callable[[str], dict[str, Any]] | None = None,
                 fallback: Callable[[ToolError], tuple[str, str] | None] | None = None) -> Answer:
    """A ranked query (search, definitions, references), paged over the service's ranking."""
    query, offset, _ = pages.resume(tool, call.args, call.given, query_keys)
    per_page = call.args["limit"]
    project = bridge.project(query["project"])
    match = pages.path_matcher(query.get("path", ""))
    need = offset + per_page + 1
    notes: list[str] = []

    async def rows_of(member: str) -> tuple[list[list[Any]], bool]:
        return await _rows_until(bridge.bus, member, lambda ask: body({**query, "project": project}, ask),
                                 lambda r: match(r[1]), need, bool(query.get("path")))

    try:
        (found, capped), fresh = await alongside(rows_of(member), bridge.freshness(project))
    except ToolError as exc:
        instead = fallback(exc) if fallback else None
        if instead is None:
            raise
        member, why = instead
        notes.append(why)
        (found, capped), fresh = await alongside(rows_of(member), bridge.freshness(project))
    page = [row(r) for r in found[offset:offset + per_page]]
    beyond = len(found) > offset + per_page
    if capped and not beyond:
        notes.append(f"the service ranks at most {SERVICE_ROWS} results for one query"
                     + (" before the path filter" if query.get("path") else "")
                     + ": narrow it (project, path, more words) to see past them")
    if not found:
        notes.append("nothing found" + ("; full-text search needs every word to occur: try fewer words, or "
                                        "mode 'hybrid'" if member == "Search" else ""))

    def build(shown: list[Item], compact: bool) -> Answer:
        more = beyond or len(shown) < len(page)
        return envelope(shown, "results", more,
                        lambda: pages.Cursor(tool, query, offset + len(shown)).encode(), fresh, compact, notes,
                        touched(shown, fresh, bool(project)), **(extra(member) if extra else {}))

    return pages.fit(page, call.args["max_chars"], build, cuttable)


SEARCH_MEMBERS = {"text": "Search", "semantic": "SemanticSearch", "hybrid": "HybridSearch"}
MODES = {member: mode for mode, member in SEARCH_MEMBERS.items()}


async def search(bridge: Bridge, call: Call) -> Answer:
    def body(q: dict[str, Any], ask: int) -> tuple[Any, ...]:
        return (q["query"], q["project"], ask)

    def row(r: list[Any]) -> Item:
        if len(r) == 6:  # Search: project, path, line, symbol, line text, score
            project, path, line, symbol, text, score = r
            return {"project": project, "path": path, "line": line, "symbol": symbol, "text": text,
                    "score": round(score, 4)}
        project, path, symbol, line, end, score, text = r
        return {"project": project, "path": path, "line": line, "end_line": end, "symbol": symbol, "text": text,
                "score": round(score, 4)}

    def to_text(exc: ToolError) -> tuple[str, str] | None:
        # hybrid without the vectorizer is still full-text search: say so, answer that
        if exc.name in (ERROR_PREFIX + "Unavailable", ERROR_PREFIX + "Busy"):
            return "Search", f"semantic search is not available ({exc.message}): full-text results only"
        return None

    query, _, _ = pages.resume("search", call.args, call.given, ("query", "mode", "project", "path"))
    mode = query["mode"]
    return await ranked(bridge, call, "search", ("query", "mode", "project", "path"), SEARCH_MEMBERS[mode], body,
                        row, ("text", "symbol"), lambda member: {"mode": MODES[member]},
                        to_text if mode == "hybrid" else None)


async def find_symbol(bridge: Bridge, call: Call) -> Answer:
    def row(r: list[Any]) -> Item:
        project, path, qualname, kind, line, column, end, signature, doc = r
        return {"project": project, "path": path, "name": qualname, "kind": kind, "line": line, "column": column,
                "end_line": end, "signature": signature, "doc": doc}

    return await ranked(bridge, call, "find_symbol", ("name", "kind", "project", "path"), "FindSymbol",
                        lambda q, ask: (q["name"], q["project"], q["kind"], ask), row, ("doc", "signature"))


async def find_references(bridge: Bridge, call: Call) -> Answer:
    def row(r: list[Any]) -> Item:
        project, path, name, kind, scope, line, column = r
        return {"project": project, "path": path, "name": name, "kind": kind, "in": scope or "<module>",
                "line": line, "column": column}

    return await ranked(bridge, call, "find_references", ("name", "project", "path"), "FindReferences",
                        lambda q, ask: (q["name"], q["project"], ask), row, ("name", "in"))


# ----------------------------------------------------------------------------- structure
def split_more(rows: Sequence[Sequence[Any]]) -> tuple[list[list[Any]], int, str]:
    """A structure reply's rows, and, when the service cut it at its bound, how many rows it
    left out and what it says of them (its last row: first field "", first number the count)."""
    if rows and rows[-1][0] == "":
        last = rows[-1]
        count = next((v for v in last if isinstance(v, int) and not isinstance(v, bool)), 0)
        text = next((v for v in last if isinstance(v, str) and " " in v), "")
        return [list(r) for r in rows[:-1]], count, text
    return [list(r) for r in rows], 0, ""


def paged_rows(tool: str, query: dict[str, Any], offset: int, per_page: int, max_chars: int,
               rows: Sequence[Sequence[Any]], row: Callable[[list[Any]], Item], key: str, fresh: Fresh,
               projects: Callable[[list[Item]], Iterable[str]], cuttable: Sequence[str], narrow: str,
               notes: Sequence[str] = (), asked: int = SERVICE_ROWS, **extra: Any) -> Answer:
    """One page of a structure reply (the service answers every row at once, up to its bound;
    each page asks again and shows its slice). A reply the service cut at its bound says so,
    with how to narrow the question; one cut only because fewer rows were ``asked`` for goes
    on with next_cursor."""
    found, left, said = split_more(rows)
    page = [row(r) for r in found[offset:offset + per_page]]
    told = list(notes)
    capped = left > 0 and asked >= SERVICE_ROWS
    if capped:
        told.append(f"the service answers at most {SERVICE_ROWS} rows for one question and {said}: {narrow}")

    def build(shown: list[Item], compact: bool) -> Answer:
        more = len(found) > offset + len(shown) or (left > 0 and not capped and len(shown) == len(page))
        return envelope(shown, key, more, lambda: pages.Cursor(tool, query, offset + len(shown)).encode(), fresh,
                        compact, told, projects(shown), **extra)

    return pages.fit(page, max_chars, build, cuttable)


async def outline(bridge: Bridge, call: Call) -> Answer:
    query, offset, _ = pages.resume("outline", call.args, call.given, ("project", "path"))
    project = await bridge.file_project(query["project"], query["path"])
    (rows,), fresh = await alongside(bridge.bus("Outline", project, query["path"]), bridge.freshness(project))

    def row(r: list[Any]) -> Item:
        qualname, kind, line, end, depth, signature = r
        return {"name": qualname, "kind": kind, "line": line, "end_line": end, "depth": depth,
                "signature": signature}

    return paged_rows("outline", query, offset, call.args["limit"], call.args["max_chars"], rows, row,
                      "definitions", fresh, lambda shown: list(fresh[0]), ("signature",),
                      "read the file in parts with read_file", [] if rows else ["no definitions in this file"],
                      project=project, path=query["path"])


IMPORT_DEFAULTS = {"direction": "out", "depth": 1}


async def imports(bridge: Bridge, call: Call) -> Answer:
    query, offset, _ = pages.resume("imports", call.args, call.given, ("project", "module", "direction", "depth",
                                                                       "to"))
    project = await bridge.file_project(query["project"])
    if query["to"]:
        # one chain answers "how does module come to import to": a direction or depth would be ignored
        ignored = [k for k, v in IMPORT_DEFAULTS.items() if query[k] != v]
        if ignored:
            raise invalid(f"to asks for one shortest chain from module to to: leave {' and '.join(ignored)} out "
                          "(or leave to out to list imports)")
        (chain,), fresh = await alongside(bridge.bus("ImportChain", project, query["module"], query["to"]),
                                          bridge.freshness(project))
        notes = [] if chain else [f"{query['module']} does not import {query['to']}, directly or through other "
                                  "modules of the project"]
        return envelope(None, "", False, str, fresh, False, notes, list(fresh[0]), project=project,
                        module=query["module"], to=query["to"], chain=list(chain), found=bool(chain))
    (rows,), fresh = await alongside(bridge.bus("Imports", project, query["module"], query["direction"],
                                                query["depth"]), bridge.freshness(project))

    def row(r: list[Any]) -> Item:
        importer, imported, path, line = r
        return {"importer": importer, "imported": imported, "path": path, "line": line}

    nothing = ("imports nothing" if query["direction"] == "out" else "is imported by no module of the project")
    return paged_rows("imports", query, offset, call.args["limit"], call.args["max_chars"], rows, row, "imports",
                      fresh, lambda shown: list(fresh[0]), ("path",), "ask with a smaller depth",
                      [] if rows else [f"{query['module']} {nothing}"], project=project, module=query["module"],
                      direction=query["direction"])


RELATIONS = {"hierarchy": ("up", "down"), "calls": ("callers", "callees", "both"), "usages": ("",)}


def relation_query(query: Mapping[str, Any]) -> str:
    """The direction a relations question goes (its kind's first when not given), or why the
    question is not one: each kind takes its own directions, and usages no depth."""
    kind, direction = query["kind"], query["direction"]
    allowed = RELATIONS[kind]
    if kind == "usages":
        if direction:
            raise invalid("direction is for hierarchy (up, down) and calls (callers, callees, both): usages are "
                          "the uses of target, leave direction out")
        if query["depth"] != 1:
            raise invalid("depth is for hierarchy and calls: usages are every use of target, leave depth out")
        return ""
    if not direction:
        return allowed[0]
    if direction not in allowed:
        raise invalid(f"direction for {kind} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {direction!r}")
    return str(direction)


def usage_row(r: list[Any]) -> Item:
    project, path, scope, kind, text, line, column, resolution = r
    return {"project": project, "path": path, "in": scope or "<module>", "kind": kind, "text": text, "line": line,
            "column": column, "resolution": resolution}


def class_row(r: list[Any]) -> Item:
    name, module, path, line, depth = r
    return {"class": name, "module": module, "path": path, "line": line, "depth": depth}


def call_row(r: list[Any]) -> Item:
    caller, callee, path, scope, line, resolution = r
    return {"caller": caller, "callee": callee, "path": path, "in": scope or "<module>", "line": line,
            "resolution": resolution}


async def relations(bridge: Bridge, call: Call) -> Answer:
    query, offset, _ = pages.resume("relations", call.args, call.given, ("kind", "target", "direction", "depth",
                                                                         "project"))
    direction = relation_query(query)
    kind, target, depth = query["kind"], query["target"], query["depth"]
    per_page, max_chars = call.args["limit"], call.args["max_chars"]
    about = {"kind": kind, "target": target, **({"direction": direction} if direction else {})}
    if kind == "usages":
        project = bridge.project(query["project"])  # "" is every project the caller sees
        ask = min(SERVICE_ROWS, offset + per_page)
        reply, fresh = await alongside(bridge.bus("FindUsages", target, project, ask), bridge.freshness(project))
        rows = reply[0]
        return paged_rows("relations", query, offset, per_page, max_chars, rows, usage_row, "results", fresh,
                          lambda shown: touched(shown, fresh, bool(project)), ("text", "in"),
                          "name one project, or a more precise target",
                          [] if rows else [f"no use of {target} found"], asked=ask, **about)
    project = await bridge.file_project(query["project"])
    if kind == "calls":
        reply, fresh = await alongside(bridge.bus("CallGraph", project, target, direction, depth),
                                         bridge.freshness(project))
        rows = reply[0]
        return paged_rows("relations", query, offset, per_page, max_chars, rows, call_row, "results", fresh,
                          lambda shown: list(fresh[0]), ("in",), "ask with a smaller depth or one direction",
                          [] if rows else [f"no {direction} of {target} found"], **about)
    reply, fresh = await alongside(bridge.bus("ClassHierarchy", project, target, direction),
                                     bridge.freshness(project))
    rows = reply[0]
    found, left, said = split_more(rows)
    # the service walks every level; depth keeps the nearer ones (the class itself is level 0)
    kept: list[Sequence[Any]] = [r for r in found if not depth or r[4] <= depth]
    notes = []
    if left and len(kept) < len(found):  # what the service left out lies past the rows kept, or not: say so
        notes.append(f"the service answers at most {SERVICE_ROWS} classes and {said}: some within depth may be "
                     "among them; name the class by its qualified name")
    elif left:
        kept.append(rows[-1])
    return paged_rows("relations", query, offset, per_page, max_chars, kept, class_row, "results", fresh,
                      lambda shown: list(fresh[0]), ("class",), "name the class by its qualified name", notes,
                      **about)


# ----------------------------------------------------------------------------- files
async def read_file(bridge: Bridge, call: Call) -> Answer:
    query, _, at = pages.resume("read_file", call.args, call.given,
                                ("project", "path", "version", "start_line", "end_line"))
    project = await bridge.file_project(query["project"], query["path"])
    # later pages read the very content the first one did, whatever happened on disk since
    version = at.get("sha") or query["version"]
    (data,), fresh = await alongside(bridge.bus("GetFileSource", project, query["path"], version),
                                     bridge.freshness(project))
    raw = bytes(data)
    sha = hashlib.sha256(raw).hexdigest()
    text = raw.decode("utf-8", "replace")
    lines = pages.lines_of(text)
    total = len(lines)
    first = int(at.get("line", query["start_line"]))
    column = int(at.get("column", 0))
    last = min(query["end_line"] or total, total)
    notes = [] if text.encode() == raw else ["the file is not valid UTF-8: bytes that are not are shown as U+FFFD"]
    if total == 0:
        return envelope(None, "", False, str, fresh, False, ["the file is empty"], list(fresh[0]), project=project,
                        path=query["path"], sha256=sha, lines=0, text="")
    if first > total:
        raise invalid(f"start_line {first} is past the end: the file has {total} line(s)")
    if last < first:
        raise invalid(f"end_line {last} is before start_line {first}")

    def build(span: pages.Span) -> Answer:
        def cursor() -> str:
            assert span.next is not None
            # 16 hex digits name the content as surely as 64, in a quarter of the cursor
            return pages.Cursor("read_file", query, 0,
                                {"line": span.next[0], "column": span.next[1], "sha": sha[:16]}).encode()

        out: Answer = {"project": project, "path": query["path"], "version": query["version"] or "current",
                       "sha256": sha, "lines": total, "start_line": span.first, "end_line": span.last}
        if span.column:
            out["start_column"] = span.column + 1
        out["text"] = span.text
        out.update(envelope(None, "", span.next is not None, cursor, fresh, False, notes, list(fresh[0])))
        return out

    return pages.fit_lines(lines, first, column, last, call.args["max_chars"], build)


async def file_history(bridge: Bridge, call: Call) -> Answer:
    query, _, at = pages.resume("file_history", call.args, call.given, ("project", "path"))
    project = await bridge.file_project(query["project"], query["path"])
    (rows,), fresh = await alongside(bridge.bus("ListVersions", project, query["path"]), bridge.freshness(project))
    before = int(at.get("before", 0))
    # newest first; later pages go on below the last version shown, however many come meanwhile
    newest = [r for r in reversed(rows) if not before or r[0] < before]
    page = [{"version": n, "time": when(at_time), "size": size, "reason": reason, "present": present,
             "other_path": other, "sha256": sha[:16]}
            for n, sha, at_time, size, reason, present, other in newest[:call.args["limit"]]]

    def build(shown: list[Item], compact: bool) -> Answer:
        more = len(newest) > len(shown)
        return envelope(shown, "versions", more,
                        lambda: pages.Cursor("file_history", query, 0,
                                             {"before": shown[-1]["version"]} if shown else at).encode(),
                        fresh, compact, [] if rows else ["no versions"], list(fresh[0]), project=project,
                        path=query["path"], total_versions=len(rows))

    return pages.fit(page, call.args["max_chars"], build)


REFUSALS: tuple[tuple[type[restore_write.RestoreRefused], str], ...] = (
    (restore_write.TargetExists, "Exists"),
    (restore_write.NotARegularFile, "InvalidArgument"),
    (restore_write.LinkOnTheWay, "AccessDenied"),
    (restore_write.CannotWrite, "AccessDenied"),
    (restore_write.RootMoved, "NotFound"),
)


def refusal(exc: restore_write.RestoreRefused) -> ToolError:
    """A restore the bridge would not write, named as the service names the same refusal."""
    name = next((n for cls, n in REFUSALS if isinstance(exc, cls)), "Failed")
    return ToolError(ERROR_PREFIX + name, f"nothing written: {exc}")


async def restore_file(bridge: Bridge, call: Call) -> Answer:
    a = call.args
    project = await bridge.file_project(a["project"], a["path"])
    try:
        done = await restore_write.restore(bridge.bus, project, a["path"], a["version"], a["overwrite"])
    except restore_write.RestoreRefused as exc:
        raise refusal(exc) from None
    bridge.changed()
    fresh = await bridge.freshness(project)
    notes = [] if done.written else [f"{done.path} already holds version {done.version}: nothing written"]
    return envelope(None, "", False, str, fresh, False, notes, list(fresh[0]), project=project, path=done.path,
                    target=done.target, version=done.version, written=done.written,
                    replaced_version=done.replaced_version, mode=f"0{done.mode:o}", size=done.size)


# ----------------------------------------------------------------------------- projects
async def list_projects(bridge: Bridge, call: Call) -> Answer:
    _, offset, _ = pages.resume("list_projects", call.args, call.given, ())
    per_page = call.args["limit"]
    (rows,), fresh = await alongside(bridge.bus("ListProjects", offset, per_page + 1), bridge.freshness(""))
    page = [{"project": pid, "name": name, "root": root, "files": files, "state": state}
            for pid, name, root, files, state in rows[:per_page]]

    def build(shown: list[Item], compact: bool) -> Answer:
        more = len(rows) > len(shown)
        return envelope(shown, "projects", more,
                        lambda: pages.Cursor("list_projects", {}, offset + len(shown)).encode(), fresh, compact,
                        [] if rows or offset else ["no projects you can see; add_project adds one"])

    return pages.fit(page, call.args["max_chars"], build, ("root",))


async def add_project(bridge: Bridge, call: Call) -> Answer:
    root = os.path.abspath(os.path.join(bridge.cwd, os.path.expanduser(call.args["root"] or ".")))
    (project,) = await bridge.bus("AddProject", root)
    bridge.changed()
    fresh = await bridge.freshness(project)
    return envelope(None, "", False, str, fresh, False,
                    ["the watcher indexes it now; freshness says when it is done, index_status how far it is "
                     "(phase showing: its files are searchable already, their references and imports to come)"],
                    [project],
                    project=project, root=root)


async def index_status(bridge: Bridge, call: Call) -> Answer:
    query, offset, _ = pages.resume("index_status", call.args, call.given, ("project",))
    project = bridge.project(query["project"])
    (rows,), (progress,), (units,) = await asyncio.gather(
        bridge.bus("IndexStatus", project), bridge.bus("IndexProgress", project), bridge.bus("WorkerStatus"))
    props = await bridge.bus.properties()
    per_page = call.args["limit"]
    # How far the watcher is with each: its phase, and the files done of all while it shows
    # (makes searchable) or indexes them.
    phases = {p: (phase, done, total) for p, phase, done, total, _indexed, _why in progress}
    page = [{"project": p, "stale": bool(stale), "files_indexed": indexed, "files_pending": pending,
             "last_change": when(last), "why": why, **_phase(*phases.get(p, ("", 0, 0)))}
            for p, indexed, pending, last, stale, why in rows[offset:offset + per_page]]
    workers = {str(plain(u["name"])): f"{plain(u['ActiveState'])} ({plain(u['SubState'])})" for u in units}

    def build(shown: list[Item], compact: bool) -> Answer:
        more = len(rows) > offset + len(shown)
        return envelope(shown, "projects", more,
                        lambda: pages.Cursor("index_status", query, offset + len(shown)).encode(), ({}, ""),
                        compact, [] if rows else ["no projects you can see"], (), units=workers,
                        chunks_pending=int(plain(props.get("ChunksPending", 0))))

    answer = pages.fit(page, call.args["max_chars"], build, ("why",))
    answer.pop("freshness", None)  # the rows are the freshness
    return answer


def _phase(phase: str, done: int, total: int) -> dict[str, Any]:
    """IndexProgress's phase, with the files done of all while there is a count."""
    counted = phase in COUNTING and total
    return {"phase": phase, **({"files_done": done, "files_in_work": total} if counted else {})}


# ----------------------------------------------------------------------------- repair
ACTION_KEYS = ("path", "case", "action", "detail")
REPAIR_PAGE = 200  # actions per page at most; max_chars bounds it further


async def repair_database(bridge: Bridge, call: Call) -> Answer:
    query, offset, at = pages.resume("repair_database", call.args, call.given, ("project", "dry_run"))
    if "key" in at:
        result = bridge.kept.get(str(at["key"]))
        if result is None:
            raise invalid("the repair report this cursor pages is gone (the bridge keeps the last "
                          f"{KEPT_RESULTS}, until it exits); run repair_database again, with dry_run to only look")
        key = str(at["key"])
    else:
        project = await bridge.file_project(query["project"])
        (reply,) = await bridge.bus("RepairAndRestore", project, query["dry_run"])
        result = plain(reply)
        if result.get("failed"):
            raise ToolError(ERROR_PREFIX + "Failed", f"repair of {result.get('project', project)} failed: "
                                                     f"{result['failed']}; restarted: "
                                                     f"{', '.join(result.get('restarted', [])) or 'none'}")
        key = bridge.keep(result)
        bridge.changed()
    project = str(result["project"])
    listed = {path: version for path, version in result.get("restore", [])}
    actions = []
    for values in result.get("actions", []):
        action = dict(zip(ACTION_KEYS, values, strict=True))
        if action["path"] in listed:
            action["restore_version"] = listed[action["path"]]
        actions.append(action)
    summary: dict[str, int] = {}
    for action in actions:
        summary[f"{action['case']}: {action['action']}"] = summary.get(f"{action['case']}: {action['action']}", 0) + 1
    fresh = await bridge.freshness(project)
    page = actions[offset:offset + REPAIR_PAGE]
    notes = ([f"{len(listed)} file(s) gone from disk are kept as deleted; restore_file brings each back "
              "(path, and restore_version as version)"] if listed else [])

    def build(shown: list[Item], compact: bool) -> Answer:
        more = len(actions) > offset + len(shown)
        return envelope(shown, "actions", more,
                        lambda: pages.Cursor("repair_database", query, offset + len(shown), {"key": key}).encode(),
                        fresh, compact, notes, [project], project=project, dry_run=result.get("dry_run"),
                        checked=result.get("checked"), seconds=round(float(result.get("seconds", 0.0)), 3),
                        stopped=result.get("stopped", []), restarted=result.get("restarted", []),
                        summary=summary, total_actions=len(actions))

    return pages.fit(page, call.args["max_chars"], build, ("detail",))


def shrink(answer: Answer, max_chars: int) -> Answer:
    """A report of unknown shape (a{sv} from the service) bounded: its longest lists and texts
    are halved until it fits, each cut said."""
    out = dict(answer)
    cuts: dict[str, int] = {}

    def said() -> Answer:
        done = {**out, "notes": list(out.get("notes", []))}
        for name, shown in cuts.items():
            done["notes"].append(f"{name}: the first {shown} of {len(answer[name])} shown, to fit "
                                 f"max_chars={max_chars}")
        if not done["notes"]:
            del done["notes"]
        return done

    while not pages.fits(said(), max_chars):
        sized = [(len(pages.dumps(v)), k) for k, v in out.items() if isinstance(v, list | str) and v and k != "notes"]
        if not sized:
            break
        name = max(sized)[1]
        out[name] = out[name][:len(out[name]) // 2]
        cuts[name] = len(out[name])
    return said()


async def _report(bridge: Bridge, member: str, body: tuple[Any, ...], project: str | None) -> Answer:
    """A repair-worker call: its report, with the freshness of the project it is about (of
    every project for "", of none when it names none)."""
    main = bridge.bus(member, *body)
    if project is None:
        (reply,) = await main
        fresh: Fresh = ({}, "")
    else:
        got, fresh = await alongside(main, bridge.freshness(project))
        (reply,) = got
    report = plain(reply)
    fields = dict(report) if isinstance(report, dict) else {"report": report}
    # RepairWorkerStatus's per-project rows would take the name the answer's own list of
    # projects has (the envelope's), so they go by another
    if "projects" in fields:
        fields["by_project"] = fields.pop("projects")
    answer = envelope(None, "", False, str, fresh, False, (), list(fresh[0]), **fields)
    del answer["more"]
    return shrink(answer, pages.DEFAULT_CHARS)


async def start_repair_worker(bridge: Bridge, call: Call) -> Answer:
    a = call.args
    project = bridge.project(a["project"])
    return await _report(bridge, "StartRepairWorker", (project, a["batch_size"], float(a["poll_interval"])),
                         project)


async def stop_repair_worker(bridge: Bridge, call: Call) -> Answer:
    a = call.args
    return await _report(bridge, "StopRepairWorker", (float(a["timeout"]), a["force"]), None)


async def repair_worker_status(bridge: Bridge, call: Call) -> Answer:
    project = bridge.project(call.args["project"])
    return await _report(bridge, "RepairWorkerStatus", (project,), project)


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[Bridge, Call], Awaitable[Answer]]
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True

    def check(self, arguments: Mapping[str, Any] | None) -> Call:
        return Call(checks.check(self.input_schema, arguments), dict(arguments or {}))


FRESHNESS_WORDS = "The answer's freshness says per project if the index may lag disk (stale, why)."

TOOLS: tuple[Tool, ...] = (
    Tool("search",
         "Search the indexed Python code of projects you can read. mode 'hybrid' (default) ranks by both meaning "
         "and words, for a description ('retry a request with backoff') or identifiers; 'text' is exact full "
         "text, every word must occur (BM25), one row per matching line; 'semantic' is by meaning only. 'text' "
         "and 'hybrid' read operators in the query: \"exact phrase\", path:GLOB, -path:GLOB, kind:function|"
         "class|method, sym:NAME (in a definition's name), case:yes, /regex/ (beside a word). Rows: "
         "project, path, line (end_line for a hybrid or semantic chunk), enclosing symbol, text, score. "
         + FRESHNESS_WORDS,
         schema({"query": {"type": "string", "minLength": 1, "maxLength": 1024,
                           "description": "Words or identifiers to find, or a description of what the code does; "
                                          "with operators such as path:tests/ kind:function \"a phrase\"."},
                 "mode": {"type": "string", "enum": ["hybrid", "text", "semantic"], "default": "hybrid",
                          "description": "hybrid (default): meaning and words fused; text: every word, exact; "
                                         "semantic: meaning only."},
                 "project": PROJECT, "path": PATH_GLOB, "limit": limit(20, 100), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}, ["query"]),
         search),
    Tool("find_symbol",
         "Where names are defined: functions, classes, methods. name is a plain name ('join'), a qualified "
         "name ('JSONEncoder.default') or a glob ('test_*'); with path and the default '*', every definition in "
         "the files matching path (outline gives one file's, nested). Rows: project, path, qualified name, kind, "
         "line, column, end_line, signature, first docstring line. " + FRESHNESS_WORDS,
         schema({"name": {"type": "string", "minLength": 1, "maxLength": 1024, "default": "*",
                          "description": "Name, qualified name or glob (default '*': every definition)."},
                 "kind": {"type": "string", "enum": ["", *KINDS], "default": "",
                          "description": "Only definitions of this kind (default: any)."},
                 "project": PROJECT, "path": PATH_GLOB, "limit": limit(50, 200), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}),
         find_symbol),
    Tool("find_references",
         "Where a name is used (calls, attribute uses, plain names), found by name: 'join' or a dotted name "
         "'os.path.join'. Rows: project, path, name as written, kind, enclosing symbol (in), line, column. "
         + FRESHNESS_WORDS,
         schema({"name": {"type": "string", "minLength": 1, "maxLength": 1024,
                          "description": "The name or dotted name used."},
                 "project": PROJECT, "path": PATH_GLOB, "limit": limit(100, 200), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}, ["name"]),
         find_references),
    Tool("outline",
         "The definitions of one file, in source order and nested as written: each class, function and method "
         "with its qualified name in the file ('Parser.feed'), kind, line, end_line, depth of nesting (0: top "
         "level) and signature (a function's parameters, a class's bases). Cheaper than reading the file to see "
         "its shape. " + FRESHNESS_WORDS,
         schema({"project": PROJECT, "path": FILE, "limit": limit(200, 1000, "definitions"), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}, ["path"]),
         outline),
    Tool("imports",
         "The import graph of a project's modules. direction 'out' (default): what module imports; 'in': which "
         "modules import it. depth 1 (default) is direct imports, n follows n steps, 0 all of them. Relative "
         "imports are resolved and 'import a.b' counts a.b. Rows: importer, imported, path of the importer, "
         "line of the import. With to: instead, a shortest chain of imports from module to to (['a', 'b', "
         "'c']: a imports b, b imports c), or found false when module does not import to at all. "
         + FRESHNESS_WORDS,
         schema({"project": PROJECT,
                 "module": {"type": "string", "minLength": 1, "maxLength": 1000,
                            "description": "The module, by dotted name ('pkg.db.store') or path ('pkg/db/store.py')."},
                 "direction": {"type": "string", "enum": ["out", "in"], "default": "out",
                               "description": "out (default): what module imports; in: who imports module."},
                 "depth": {"type": "integer", "minimum": 0, "maximum": 64, "default": 1,
                           "description": "Steps to follow (default 1: direct imports; 0: all, transitively)."},
                 "to": {"type": "string", "maxLength": 1000, "default": "",
                        "description": "Another module: answer a shortest import chain from module to it instead "
                                       "of listing imports (direction and depth then stay at their defaults)."},
                 "limit": limit(100, 500, "imports"), "cursor": CURSOR, "max_chars": MAX_CHARS}, ["module"]),
         imports),
    Tool("relations",
         "How code is related, resolved through imports, aliases ('import x as y', 'from x import y as z', "
         "re-exports), self/cls and inheritance. kind 'usages': every use of a qualified name ('pkg.mod.func', "
         "'json.JSONEncoder.default', 'os.path.join'), rows: project, path, enclosing symbol (in), kind, text as "
         "written, line, column. kind 'calls': callers (default), callees or both of a function or method by "
         "qualified name ('pkg.mod.Class.method'), rows: caller, callee, path, in, line. kind 'hierarchy': a "
         "class's bases (direction up, default) or subclasses (down), by qualified or plain name, rows: class, "
         "module, path, line, depth (the class itself is depth 0; a base outside the project has no path). "
         "Calls and usages carry resolution: 'resolved' when bound through the code, 'name' when only the name "
         "matched (receiver unknown). " + FRESHNESS_WORDS,
         schema({"kind": {"type": "string", "enum": list(RELATIONS),
                          "description": "usages: uses of target; calls: the call graph around target; hierarchy: "
                                         "bases or subclasses of target."},
                 "target": {"type": "string", "minLength": 1, "maxLength": 1000,
                            "description": "A qualified name: the class (hierarchy; a plain name also), the function "
                                           "or method (calls), anything defined or imported (usages)."},
                 "direction": {"type": "string", "enum": ["", "up", "down", "callers", "callees", "both"],
                               "default": "",
                               "description": "hierarchy: up (default) or down; calls: callers (default), callees "
                                              "or both; usages: none."},
                 "depth": {"type": "integer", "minimum": 0, "maximum": 64, "default": 1,
                           "description": "hierarchy and calls: levels to follow (default 1: direct bases, "
                                          "subclasses, callers or callees; 0: all, transitively)."},
                 "project": PROJECT, "limit": limit(50, 200), "cursor": CURSOR, "max_chars": MAX_CHARS},
                ["kind", "target"]),
         relations),
    Tool("read_file",
         "The exact stored text of a file (also of one deleted from disk, or of an older version from "
         "file_history), lines start_line..end_line. A long file comes in pages: pass next_cursor to go on. "
         "Answer: text, start_line, end_line, lines (total), sha256. " + FRESHNESS_WORDS,
         schema({"project": PROJECT, "path": FILE,
                 "version": {"type": "string", "maxLength": 80, "default": "",
                             "description": "A version number from file_history, or 6+ hex digits of its sha256 "
                                            "(default: the current content)."},
                 "start_line": {"type": "integer", "minimum": 1, "default": 1,
                                "description": "First line to show (default 1)."},
                 "end_line": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Last line to show (default 0: to the end)."},
                 "cursor": CURSOR, "max_chars": MAX_CHARS}, ["path"]),
         read_file),
    Tool("file_history",
         "The local history of one file, newest first: every content the index has seen, with version, time, "
         "size, reason (added, modified, deleted, moved, repaired, restored, overwritten), whether the file "
         "existed after it, and sha256. read_file and restore_file take the version. " + FRESHNESS_WORDS,
         schema({"project": PROJECT, "path": FILE, "limit": limit(20, 200, "versions"), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}, ["path"]),
         file_history),
    Tool("restore_file",
         "Write a stored version of a file back into its project (default: the latest, e.g. of a deleted "
         "file), as you: only where you could write yourself, never through a symbolic link, atomically. An "
         "existing file is replaced only with overwrite (its content is kept as a version first). Only the "
         "project's owner may restore into it. " + FRESHNESS_WORDS,
         schema({"project": PROJECT, "path": FILE,
                 "version": {"type": "string", "maxLength": 80, "default": "",
                             "description": "Version number or 6+ hex digits of its sha256 (default: the latest)."},
                 "overwrite": {"type": "boolean", "default": False,
                               "description": "Replace the file if one is there (default false)."}}, ["path"]),
         restore_file, read_only=False, destructive=True, idempotent=True),
    Tool("list_projects",
         "The projects you can see: project id (what the other tools take), name, root, number of files, state "
         "(active, or missing while the root is gone). " + FRESHNESS_WORDS,
         schema({"limit": limit(50, 200, "projects"), "cursor": CURSOR, "max_chars": MAX_CHARS}),
         list_projects),
    Tool("add_project",
         "Register a directory of yours as a project; the watcher indexes it at once and follows every change. "
         "Which files: .py files, minus .gitignore'd paths, virtual environments, __pycache__ and .git. "
         "Answer: the project id. " + FRESHNESS_WORDS,
         schema({"root": {"type": "string", "maxLength": 4096, "default": "",
                          "description": "The directory (default: the working directory of this server)."}}),
         add_project, read_only=False, idempotent=False),
    Tool("index_status",
         "Whether the index is fresh, per project: stale, files indexed, files changed on disk and not indexed "
         "yet, last change seen, and why when stale; the watcher's phase (waiting, scanning, showing: a new "
         "project's files being made searchable ahead of their references and imports, indexing, ready, "
         "stale) and, while it shows or indexes, files_done of files_in_work; with the state of the suite's "
         "units and the number of code chunks still to embed for semantic search.",
         schema({"project": PROJECT, "limit": limit(50, 200, "projects"), "cursor": CURSOR,
                 "max_chars": MAX_CHARS}),
         index_status),
    Tool("repair_database",
         "Bring a project's index and history in line with disk (its owner only): files on disk indexed and "
         "current, files gone from disk marked deleted with their content kept, content only the index still "
         "had copied into the history. Pauses the watcher, vectorizer and repair worker meanwhile. dry_run "
         "only reports. Files gone from disk are listed with restore_version for restore_file. "
         + FRESHNESS_WORDS,
         schema({"project": PROJECT,
                 "dry_run": {"type": "boolean", "default": False,
                             "description": "Only report what would be done (default false)."},
                 "cursor": CURSOR, "max_chars": MAX_CHARS}),
         repair_database, read_only=False, idempotent=True),
    Tool("start_repair_worker",
         "Start the repair worker: every poll_interval seconds it checks the next batch_size files (round robin "
         "over the projects, or only project) against disk and repairs what differs, without stopping anything.",
         schema({"project": PROJECT,
                 "batch_size": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 0,
                                "description": "Files checked per batch (default 0: the configured BatchSize=)."},
                 "poll_interval": {"type": "number", "minimum": 0, "maximum": 86400, "default": 0,
                                   "description": "Seconds between batches (default 0: the configured "
                                                  "PollInterval=)."}}),
         start_repair_worker, read_only=False, idempotent=True),
    Tool("stop_repair_worker",
         "Stop the repair worker, waiting up to timeout seconds for it to finish its batch; force ends it at "
         "once after that.",
         schema({"timeout": {"type": "number", "minimum": 0, "maximum": 3600, "default": 30,
                             "description": "Seconds to wait for the worker to stop (default 30)."},
                 "force": {"type": "boolean", "default": False,
                           "description": "End it if it has not stopped within timeout (default false)."}}),
         stop_repair_worker, read_only=False, idempotent=True),
    Tool("repair_worker_status",
         "The repair worker: whether it runs, its batch size and interval, and what it has checked and "
         "repaired.",
         schema({"project": PROJECT}),
         repair_worker_status),
)

BY_NAME = {tool.name: tool for tool in TOOLS}

