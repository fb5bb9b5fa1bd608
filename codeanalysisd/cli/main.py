"""codeanalysisctl: the command-line client. It talks to the suite over the bus only."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple
from typing import Any

from dbus_fast import DBusError, Variant

from codeanalysisd import __version__, query_language
from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.cli import hits, progress, restore_write
from codeanalysisd.cli.client import Client, every_row
from codeanalysisd.names import BUS_NAME, TARGET_UNIT, WORKER_UNITS
from codeanalysisd.records import Counters, ProjectInfo

# C0 controls, DEL and C1 controls: what a terminal may act on (ESC and CSI start escape
# sequences; CR, BS and NL move the cursor) instead of showing.
_CONTROLS = (*range(0x20), 0x7F, *range(0x80, 0xA0))


@functools.cache
def _escapes(keep: str) -> dict[int, str]:
    return {c: f"\\x{c:02x}" for c in _CONTROLS if chr(c) not in keep}


def printable(text: str, keep: str = "") -> str:
    """Text from the index (paths, names, lines of source, messages) as a terminal may be
    given it: each C0 or C1 control character and DEL becomes a visible escape ("\\x1b"),
    except those in ``keep`` (a tab, in a line of source). Everything else is unchanged."""
    return text.translate(_escapes(keep))


def _plain(value: Any) -> Any:
    if isinstance(value, Variant):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, headers))] + [[printable(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _project_rows(rows: list[list[Any]]) -> list[dict[str, Any]]:
    projects = [ProjectInfo(*row) for row in rows]
    return [{"id": p.id, "name": p.name, "root": p.root, "files": p.file_count, "state": p.state} for p in projects]


def _worker_rows(client_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_plain(row) for row in client_rows]


def _print_workers(workers: list[dict[str, Any]]) -> None:
    rows, schedules = [], []
    for w in workers:
        counters = "/".join(str(n) for n in Counters.of(w).as_dict().values())
        if w["name"] == "db":
            counters = "-"
        rows.append([
            w["unit"], w["ActiveState"], w["SubState"], w["MainPID"] or "-", w["NRestarts"],
            counters, w["StatusText"] or "-",
        ])
        if w.get("schedule"):
            schedules.append(f"{w['unit']} schedule: {w['schedule']}")
    print(_table(["UNIT", "ACTIVE", "SUB", "PID", "RESTARTS", "PEND/DONE/ERR", "STATUS"], rows))
    for line in schedules:
        print(printable(line))


# --------------------------------------------------------------------- commands
FRESHNESS_KEYS = ("project", "files", "pending", "last_change", "stale", "why")


async def _all_rows_if_served(client: Client, member: str) -> list[Any]:
    """A per-project method's rows for every project the caller sees; none from a service,
    or a bus policy, that predates the method."""
    try:
        (rows,) = await client(member, "")
    except DBusError as exc:
        if exc.type in ("org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.AccessDenied"):
            return []
        raise
    return list(rows)


async def _freshness(client: Client) -> list[dict[str, Any]]:
    """IndexStatus of every project the caller sees."""
    return [dict(zip(FRESHNESS_KEYS, row, strict=True)) for row in await _all_rows_if_served(client, "IndexStatus")]


async def _progress(client: Client) -> list[progress.Row]:
    """IndexProgress of every project the caller sees."""
    return [progress.Row.of(row) for row in await _all_rows_if_served(client, "IndexProgress")]


def _freshness_line(rows: list[dict[str, Any]]) -> str:
    stale = [r for r in rows if r["stale"]]
    if not stale:
        return f"   Index: fresh ({len(rows)} project(s))"
    shown = "; ".join(f"{r['project']}: {r['why']}" for r in stale[:3])
    more = f"; and {len(stale) - 3} more" if len(stale) > 3 else ""
    return f"   Index: stale for {len(stale)} of {len(rows)} project(s): {shown}{more}"


async def cmd_status(client: Client, args: argparse.Namespace) -> int:
    props = _plain(await client.properties())
    (workers,) = await client("WorkerStatus")
    workers = _worker_rows(workers)
    index = await _freshness(client)
    working = [r for r in await _progress(client) if r.phase in progress.WORKING]
    if args.json:
        print(json.dumps({"manager": props, "units": workers, "index": index,
                          "progress": [dict(zip(progress.KEYS, astuple(r), strict=True)) for r in working]},
                         indent=2))
        return 0
    bus = "session" if args.user else "system"
    healthy = all(w["ActiveState"] == "active" for w in workers)
    print(printable(f"{'●' if healthy else 'x'} codeanalysisd {props['Version']}: {BUS_NAME} on the {bus} bus"))
    print(f"   Projects: {props['Projects']}    Files indexed: {props['FilesIndexed']}    "
          f"Database: {_size(props['DatabaseBytes'])} (schema {props['SchemaVersion']})")
    models = ", ".join(f"{name} ({count} vectors{'' if complete else ', in progress'})"
                       for name, _dim, complete, count in props.get("EmbeddingModels", []))
    print(printable(f"   Chunks to embed: {props['ChunksPending']}    Models: {models or 'none yet'}"))
    if index:
        print(printable(_freshness_line(index)))
    for row in working:
        print(printable(f"   {progress.describe(row, None, True)}"))
    print()
    _print_workers(workers)
    return 0


async def cmd_projects(client: Client, args: argparse.Namespace) -> int:
    rows = await every_row(client, "ListProjects")
    projects = _project_rows(rows)
    if args.json:
        print(json.dumps(projects, indent=2))
    elif not projects:
        print("no projects registered; add one with: codeanalysisctl add DIR")
    else:
        print(_table(["ID", "NAME", "FILES", "STATE", "ROOT"],
                     [[p["id"], p["name"], p["files"], p["state"], p["root"]] for p in projects]))
    return 0


async def cmd_add(client: Client, args: argparse.Namespace) -> int:
    import os
    import shutil

    # The service resolves the path itself; an absolute path here only saves the user from
    # having to know the service's working directory.
    root = os.path.abspath(args.root)
    (project_id,) = await client("AddProject", root)
    if not args.json:
        print(printable(f"added project {project_id} ({root})"), flush=True)
    if args.no_block:
        if args.json:
            print(json.dumps({"id": project_id, "root": root}))
        return 0

    async def ask() -> progress.Row:
        (rows,) = await client("IndexProgress", project_id)
        return progress.Row.of(rows[0])

    # Progress goes to stderr, as a bar when that is a terminal: stdout stays the command's answer.
    display = None if args.json else progress.Display(
        sys.stderr, sys.stderr.isatty(), shutil.get_terminal_size((80, 24)).columns)
    try:
        waited = await progress.wait_indexed(ask, display)
    except DBusError as exc:
        if exc.type not in ("org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.AccessDenied"):
            raise
        # a service (or bus policy) from before IndexProgress: registered, nothing to wait with
        print(json.dumps({"id": project_id, "root": root}) if args.json else
              "the service does not tell indexing progress; codeanalysisctl status shows whether it is fresh")
        return 0
    row = waited.row
    if args.json:
        print(json.dumps({"id": project_id, "root": root, "phase": row.phase if row else "",
                          "indexed": row.indexed if row else 0, "interrupted": waited.interrupted,
                          "seconds": round(waited.seconds, 3)}))
    elif display is not None:
        if waited.interrupted:
            display.end(printable(f"stopped waiting; {project_id} is still being indexed "
                                  "(codeanalysisctl status shows how far)"))
        elif row is not None and row.phase == progress.READY:
            display.end(printable(f"{project_id}: indexed, {row.indexed} file(s) in {waited.seconds:.1f} s"))
        elif row is not None:
            display.end(printable(f"{project_id} is registered but not indexed now: {row.why}"))
    if waited.interrupted:
        return 130  # as a shell reports a command SIGINT ended
    return 0 if row is not None and row.phase == progress.READY else 1


async def cmd_remove(client: Client, args: argparse.Namespace) -> int:
    await client("RemoveProject", args.project)
    if args.json:
        print(json.dumps({"removed": args.project}))
    else:
        print(printable(f"removed project {args.project}"))
    return 0


REPAIR = "repair"
STOP_WAIT = 5.0  # seconds `worker stop repair --force` waits before killing, unless --timeout says


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "-"


def _print_repair_status(s: dict[str, Any]) -> None:
    """RepairWorkerStatus, laid out as systemctl status lays out a unit."""
    active = s["ActiveState"] == "active"
    pid = f"    Main PID: {s['MainPID']}" if s["MainPID"] else ""
    since = f" (since {_when(s['since'])})" if s["since"] else ""
    reported = (f" (reported {s['reported_ago']:.1f} s ago)" if s["reported_ago"] >= 0
                else " (no report since the DB owner started)")
    lines = [
        f"{'●' if active else '○'} {s['unit']} - the repair worker",
        f"     Active: {s['ActiveState']} ({s['SubState']}){pid}",
        f"   Schedule: {s['schedule']}{since}",
        f"      Cycle: {s['cycle']}: {s['cycle_done']}/{s['cycle_files']} file(s) checked, "
        f"{s['cycle_repaired']} repaired{reported}",
        f"     Status: \"{s['StatusText']}\"" if s["StatusText"] else "     Status: -",
    ]
    for line in lines:
        print(printable(line))
    if s["projects"]:
        print()
        print(_table(["PROJECT", "CHECKED", "REPAIRED", "LAST ACTION", "WHEN"],
                     [[p["project"], p["checked"], p["repaired"],
                       f"{p['action']} {p['path']}".strip() or "-", _when(p["at"])] for p in s["projects"]]))


async def _repair_worker(client: Client, args: argparse.Namespace) -> int | None:
    """The repair worker's own commands, where the arguments ask for one; None where the plain
    worker command does (start or stop with no option of the repair worker's)."""
    if args.action == "status":
        (reply,) = await client("RepairWorkerStatus", args.project or "")
        result = _plain(reply)
        keys = ("project", "checked", "repaired", "action", "path", "at")
        result["projects"] = [dict(zip(keys, row, strict=True)) for row in result["projects"]]
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            _print_repair_status(result)
        return 0
    if args.action == "start" and (args.project is not None or args.batch_size is not None
                                   or args.poll_interval is not None):
        (reply,) = await client("StartRepairWorker", args.project or "", args.batch_size or 0,
                                args.poll_interval or 0.0)
        result = _plain(reply)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(printable(f"started {result['unit']} ({result['ActiveState']}): {result['schedule']}"))
        return 0
    if args.action == "stop" and (args.timeout is not None or args.force):
        timeout = STOP_WAIT if args.timeout is None else args.timeout
        (reply,) = await client("StopRepairWorker", timeout, args.force)
        result = _plain(reply)
        if args.json:
            print(json.dumps(result, indent=2))
        elif result["result"] == "stopped":
            print(f"stopped {result['unit']} in {result['seconds']:.2f} s")
        elif result["result"] == "killed":
            print(f"killed {result['unit']} (SIGKILL through systemd): it had not stopped within {timeout:g} s; "
                  f"{result['seconds']:.2f} s in all")
        else:
            print(f"{result['unit']} is still stopping after {result['seconds']:.2f} s"
                  + ("" if args.force else "; systemd kills it at its TimeoutStopSec=, or ask again with --force"),
                  file=sys.stderr)
        return 1 if result["result"] == "still-stopping" else 0
    return None


def _repair_options(args: argparse.Namespace) -> list[str]:
    """The repair worker's options given, for refusing them where they mean nothing."""
    given = [("--project", args.project is not None), ("--batch-size", args.batch_size is not None),
             ("--poll-interval", args.poll_interval is not None), ("--timeout", args.timeout is not None),
             ("--force", args.force)]
    return [name for name, present in given if present]


async def cmd_worker(client: Client, args: argparse.Namespace) -> int:
    allowed = {"start": {"--project", "--batch-size", "--poll-interval"}, "stop": {"--timeout", "--force"},
               "status": {"--project"}}.get(args.action, set())
    is_repair = args.name in (REPAIR, WORKER_UNITS[REPAIR])
    stray = [o for o in _repair_options(args) if not is_repair or o not in allowed]
    if stray:
        raise SystemExit(f"codeanalysisctl: {', '.join(stray)} only with: worker start repair [--project P] "
                         "[--batch-size N] [--poll-interval S], worker stop repair [--timeout S] [--force], "
                         "worker status repair [--project P]")
    if is_repair and (done := await _repair_worker(client, args)) is not None:
        return done
    if args.action == "status":
        (workers,) = await client("WorkerStatus")
        workers = [w for w in _worker_rows(workers) if args.name in (None, w["name"], w["unit"])]
        if args.name and not workers:
            raise SystemExit(f"codeanalysisctl: unknown worker {args.name!r}")
        if args.json:
            print(json.dumps(workers, indent=2))
        else:
            _print_workers(workers)
        return 0
    if not args.name:
        names = ", ".join(WORKER_UNITS)
        raise SystemExit(f"codeanalysisctl: worker {args.action} needs a worker name ({names})")
    member = {"start": "StartWorker", "stop": "StopWorker", "restart": "RestartWorker"}[args.action]
    await client(member, args.name)
    if args.json:
        print(json.dumps({"worker": args.name, "action": args.action, "ok": True}))
    else:
        print(f"{args.action} {args.name}: done")
    return 0


def _results(args: argparse.Namespace, rows: list, keys: Sequence[str], line: Callable[[dict], str]) -> int:
    """Rows of a query as JSON objects or one line each, every text of it printable (a snippet,
    a line of source, keeps its tabs); exit status 1 when there are none."""
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        for row in found:
            print(line({k: printable(v, "\t" if k == "snippet" else "") if isinstance(v, str) else v
                        for k, v in row.items()}))
    return 0 if found else 1


def _symbol(row: dict) -> str:
    return f" ({row['symbol']})" if row["symbol"] else ""


def _query_text(args: argparse.Namespace) -> str:
    """The words as given, with --page as the language's page:."""
    text = " ".join(args.query)
    return f"{text} page:{args.page}" if getattr(args, "page", 0) > 1 else text


def _parsed(text: str) -> query_language.Query | None:
    """The query as the service read it (it answered, so it parses), for highlighting."""
    try:
        return query_language.parse(text)
    except query_language.BadQuery:
        return None


def _more(args: argparse.Namespace, rows: list) -> None:
    if rows and len(rows) >= args.limit and sys.stdout.isatty():
        print(f"(a full page: --page {max(args.page, 1) + 1} shows the next)", file=sys.stderr)


async def cmd_search(client: Client, args: argparse.Namespace) -> int:
    text = _query_text(args)
    (rows,) = await client("Search", text, args.project, args.limit)
    if args.json:
        return _results(args, rows, ("project", "path", "line", "symbol", "snippet", "score"), lambda h: "")
    query, color = _parsed(text), hits.use_color(args.color, sys.stdout)
    sources: dict[tuple[str, str], list[str] | None] = {}
    for n, (project, path, line, symbol, snippet, _score) in enumerate(rows):
        hit = hits.Shown(project, path, line, symbol, snippet)
        if args.context is None:
            print(hits.hit_line(hit, query, color, printable))
            continue
        if (project, path) not in sources:
            sources[project, path] = await _stored_lines(client, project, path)
        if n:
            print(hits.GROUP_SEPARATOR if not color else f"{hits.SEPARATOR}{hits.GROUP_SEPARATOR}{hits.RESET}")
        print("\n".join(hits.context(hit, sources[project, path], args.context, query, color, printable)))
    _more(args, rows)
    return 0 if rows else 1


async def _stored_lines(client: Client, project: str, path: str) -> list[str] | None:
    """A file's lines as the index stores them, through the bus: what the caller may read.
    None when it cannot be had (gone since the search, or never stored)."""
    try:
        (data,) = await client("GetFileSource", project, path, "")
    except DBusError:
        return None
    return hits.source_lines(bytes(data))


async def cmd_semantic(client: Client, args: argparse.Namespace) -> int:
    member = "HybridSearch" if args.hybrid else "SemanticSearch"
    if args.page > 1 and not args.hybrid:
        raise SystemExit("codeanalysisctl: --page needs --hybrid (semantic search alone answers one ranking: "
                         "ask for more with -n)")
    text = _query_text(args) if args.hybrid else " ".join(args.query)
    (rows,) = await client(member, text, args.project, args.limit)
    if args.json:
        return _results(args, rows, ("project", "path", "symbol", "line", "end_line", "score", "snippet"),
                        lambda m: "")
    query = _parsed(text) if args.hybrid else None
    color = hits.use_color(args.color, sys.stdout)
    for project, path, symbol, line, end_line, score, snippet in rows:
        shown = hits.Shown(project, path, line, symbol, snippet)
        where = hits.location(shown, line, ":", color, printable)
        print(f"{score:.3f}  {where}-{end_line}{hits.with_symbol(shown, printable)}: "
              f"{hits.highlight(snippet, query, color, printable)}")
    if args.hybrid:
        _more(args, rows)
    return 0 if rows else 1


async def cmd_def(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("FindSymbol", args.name, args.project, args.kind, args.limit)
    return _results(args, rows, ("project", "path", "qualname", "kind", "line", "column", "end_line", "signature",
                                 "docstring"),
                    lambda d: f"{d['project']}:{d['path']}:{d['line']}:{d['column']}: {d['kind']} {d['qualname']}"
                              f"{d['signature']}" + (f"  # {d['docstring']}" if d["docstring"] else ""))


async def cmd_refs(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("FindReferences", args.name, args.project, args.limit)
    return _results(args, rows, ("project", "path", "name", "kind", "scope", "line", "column"),
                    lambda u: f"{u['project']}:{u['path']}:{u['line']}:{u['column']}: {u['kind']} {u['name']}"
                              f" in {u['scope'] or '<module>'}")


def _structure(args: argparse.Namespace, rows: list, keys: Sequence[str], line: Callable[[dict], str],
               count: str) -> int:
    """A structure reply: rows as JSON objects or one line each. A reply cut at its bound ends
    with a row whose first field is "" (``count`` names its number field): said as a last
    object {"more": N, "text": ...} in JSON, and on stderr otherwise. Exit status 1 when empty."""
    more = None
    if rows and rows[-1][0] == "":
        more = dict(zip(keys, rows.pop(), strict=True))
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    if args.json:
        tail = [{"more": more[count], "text": next(v for v in more.values() if isinstance(v, str) and " " in v)}
                ] if more else []
        print(json.dumps(found + tail, indent=2))
    else:
        for row in found:
            print(line({k: printable(v) if isinstance(v, str) else v for k, v in row.items()}))
        if more:
            text = next(v for v in more.values() if isinstance(v, str) and " " in v)
            print(printable(f"codeanalysisctl: {text}"), file=sys.stderr)
    return 0 if found else 1


async def cmd_outline(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("Outline", args.project, args.path)
    return _structure(args, rows, ("qualname", "kind", "line", "end_line", "depth", "signature"),
                      lambda d: f"{d['line']:>5}-{d['end_line']:<5} {'  ' * d['depth']}{d['kind']} "
                                f"{d['qualname'].rsplit('.', 1)[-1]}{d['signature']}", "line")


async def cmd_imports(client: Client, args: argparse.Namespace) -> int:
    direction = "in" if args.importers else "out"
    (rows,) = await client("Imports", args.project, args.module, direction, 0 if args.all else args.depth)
    return _structure(args, rows, ("importer", "imported", "path", "line"),
                      lambda r: f"{r['importer']} -> {r['imported']}  ({r['path']}:{r['line']})", "line")


async def cmd_chain(client: Client, args: argparse.Namespace) -> int:
    (chain,) = await client("ImportChain", args.project, args.importer, args.imported)
    if args.json:
        print(json.dumps(chain))
    elif chain:
        print(printable(" -> ".join(chain)))
    else:
        print(printable(f"{args.importer} does not import {args.imported}, directly or not"), file=sys.stderr)
    return 0 if chain else 1


async def cmd_hierarchy(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("ClassHierarchy", args.project, args.name, "down" if args.down else "up")
    return _structure(args, rows, ("name", "module", "path", "line", "depth"),
                      lambda c: f"{'  ' * c['depth']}{c['name']}" + (f"  ({c['path']}:{c['line']})" if c["path"]
                                                                      else ""), "line")


async def cmd_calls(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("CallGraph", args.project, args.symbol, args.direction, 0 if args.all else args.depth)
    return _structure(args, rows, ("caller", "callee", "path", "scope", "line", "resolution"),
                      lambda c: f"{c['path']}:{c['line']}: {c['caller']} -> {c['callee']}"
                                + ("" if c["resolution"] == "resolved" else "  [by name only]"), "line")


async def cmd_usages(client: Client, args: argparse.Namespace) -> int:
    (rows,) = await client("FindUsages", args.target, args.project, args.limit)
    return _structure(args, rows, ("project", "path", "scope", "kind", "text", "line", "column", "resolution"),
                      lambda u: f"{u['project']}:{u['path']}:{u['line']}:{u['column']}: {u['kind']} {u['text']}"
                                f" in {u['scope'] or '<module>'}"
                                + ("" if u["resolution"] == "resolved" else "  [by name only]"), "line")


async def cmd_show(client: Client, args: argparse.Namespace) -> int:
    (data,) = await client("GetFileSource", args.project, args.path, args.version)
    data = bytes(data)
    if sys.stdout.isatty():
        # Shown, not obeyed: control characters other than tabs and line ends become escapes,
        # and bytes that are not UTF-8 too. Piped or redirected, the bytes stay exact.
        text = printable(data.decode("utf-8", "backslashreplace"), "\t\n")
        data = text.encode(sys.stdout.encoding or "utf-8", "backslashreplace")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


async def cmd_problems(client: Client, args: argparse.Namespace) -> int:
    rows = await every_row(client, "ListProblems", args.project)
    found = [{"project": p, "path": path, "problems": problems.split("\n")} for p, path, problems in rows]
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        for f in found:
            print(printable(f"{f['project']}:{f['path']}: {'; '.join(f['problems'])}"))
    return 0


async def cmd_history(client: Client, args: argparse.Namespace) -> int:
    import time

    (rows,) = await client("ListVersions", args.project, args.path)
    keys = ("version", "sha256", "at", "size", "reason", "present", "other_path")
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    table = []
    for v in found:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v["at"]))
        what = v["reason"]
        if v["other_path"]:
            what += f" {'from' if v['present'] else 'to'} {v['other_path']}"
        table.append([v["version"], when, _size(v["size"]), v["sha256"][:12], what])
    print(_table(["VERSION", "TIME", "SIZE", "SHA256", "WHAT"], table))
    return 0


def _restored(done: restore_write.Restored) -> dict[str, Any]:
    return {"path": done.path, "target": done.target, "version": done.version, "written": done.written,
            "replaced_version": done.replaced_version, "mode": f"0{done.mode:o}", "size": done.size}


async def cmd_restore(client: Client, args: argparse.Namespace) -> int:
    try:
        done = await restore_write.restore(client, args.project, args.path, args.version, args.overwrite)
    except restore_write.RestoreRefused as exc:
        print(printable(f"codeanalysisctl: {exc}"), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_restored(done), indent=2))
    elif not done.written:
        print(printable(f"{done.path} already holds version {done.version}; nothing written"))
    else:
        kept = (f"; the replaced content is version {done.replaced_version}" if done.replaced_version else "")
        print(printable(f"restored {done.path} (version {done.version}, mode 0{done.mode:o}){kept}"))
    return 0


async def _restore_missing(client: Client, project: str, listed: list[list[Any]]) -> list[dict[str, Any]]:
    """Write back what a repair listed, one file at a time as the caller; a file that cannot
    be written stays marked deleted, its content in the history."""
    results = []
    for path, version in listed:
        try:
            done = await restore_write.restore(client, project, path, str(version), False)
            results.append({**_restored(done), "error": ""})
        except (restore_write.RestoreRefused, DBusError) as exc:
            why = exc.text if isinstance(exc, DBusError) else str(exc)
            results.append({"path": path, "version": version, "written": False, "error": why})
    return results


async def cmd_repair(client: Client, args: argparse.Namespace) -> int:
    member = "RepairAndRestore" if args.restore_missing else "Repair"
    if not args.json and not args.dry_run:
        print(f"repairing {args.project}: the watcher, vectorizer and repair worker pause meanwhile...",
              file=sys.stderr)
    (reply,) = await client(member, args.project, args.dry_run)
    result = _plain(reply)
    result["actions"] = [dict(zip(("path", "case", "action", "detail"), a, strict=True)) for a in result["actions"]]
    listed = result.pop("restore", [])
    # RepairAndRestore marks the missing files deleted and lists them; they are written back
    # here, by the caller, after the repair (and its pause of the workers) is over.
    result["restored"] = [] if args.dry_run else await _restore_missing(client, result["project"], listed)
    unwritten = [r for r in result["restored"] if r["error"]]
    if args.json:
        print(json.dumps(result, indent=2))
        return 1 if result["failed"] or unwritten else 0
    verb = "would take" if args.dry_run else "took"
    if result["actions"]:
        print(_table(["CASE", "ACTION", "PATH", "DETAIL"],
                     [[a["case"], a["action"], a["path"], a["detail"]] for a in result["actions"]]))
    print(f"{args.project}: {result['checked']} file(s) checked; {verb} {len(result['actions'])} action(s) "
          f"in {result['seconds']:.2f} s" + ("" if args.dry_run else
                                             f"; restarted: {', '.join(result['restarted']) or 'none'}"))
    if result["restored"]:
        print(f"written back: {len(result['restored']) - len(unwritten)} of {len(result['restored'])} file(s)")
    for r in unwritten:
        print(printable(f"codeanalysisctl: {r['path']} not written back (still marked deleted, its content in the "
                        f"history as version {r['version']}): {r['error']}"), file=sys.stderr)
    if result["failed"]:
        print(printable(f"codeanalysisctl: repair failed: {result['failed']}"), file=sys.stderr)
        return 1
    return 1 if unwritten else 0


async def cmd_check(client: Client, args: argparse.Namespace) -> int:
    (reply,) = await client("CheckIntegrity")
    result = _plain(reply)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name in ("index", "history"):
            problems = result.get(name, [])
            print(printable(f"{name}: {'ok' if not problems else '; '.join(problems[:10])}"))
        print(f"checked in {result['seconds']:.2f} s")
        if not result["ok"]:
            print("the DB owner restarts, moves the corrupt file aside and rebuilds "
                  "(journalctl -u codeanalysisd-db.service)", file=sys.stderr)
    return 0 if result["ok"] else 1


def _count(text: str) -> int:
    """A whole number of zero or more, for options the bus sends unsigned."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"a whole number of 0 or more is needed, got {text!r}")
    return number


def _context_lines(text: str) -> int:
    number = _count(text)
    if number > hits.MAX_CONTEXT:
        raise argparse.ArgumentTypeError(f"at most {hits.MAX_CONTEXT} lines of context, got {number}")
    return number


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--page", type=_page, default=1, metavar="N",
                   help="the N-th page of results (as page:N in the query)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="highlight what matched: auto (default) on a terminal unless NO_COLOR is set")


def _page(text: str) -> int:
    number = _count(text)
    if number < 1:
        raise argparse.ArgumentTypeError("pages are numbered from 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeanalysisctl",
        description="Control and query codeanalysisd, the live index of Python code bases, over D-Bus.",
        epilog=f"The suite runs as {TARGET_UNIT}; its logs: journalctl -u 'codeanalysisd-*'.",
    )
    parser.add_argument("--version", action="version", version=f"codeanalysisctl {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", action="store_true", default=argparse.SUPPRESS,
                        help="talk to the per-user suite on the session bus")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print machine-readable JSON")
    parser.add_argument("--user", action="store_true", help="talk to the per-user suite on the session bus")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("status", parents=[common], help="the units and the index, like systemctl status")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("projects", parents=[common], help="list registered projects")
    p.set_defaults(func=cmd_projects)
    p = sub.add_parser("add", parents=[common], help="register a directory as a project, wait until it is indexed")
    p.add_argument("root", help="the project's root directory")
    p.add_argument("--no-block", action="store_true",
                   help="return once the project is registered, without waiting for it to be indexed")
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("remove", parents=[common], help="unregister a project (its history stays)")
    p.add_argument("project", help="project id or root path")
    p.set_defaults(func=cmd_remove)
    p = sub.add_parser("search", parents=[common], help="full-text search in the query language, best first")
    p.add_argument("query", nargs="+", help='words (all must occur), "a phrase", path:GLOB, -path:GLOB, kind:KIND, '
                                            "sym:NAME, case:yes, /regex/, page:N")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.add_argument("-n", "--limit", type=int, default=20, help="at most this many hits (default 20)")
    p.add_argument("-C", "--context", type=_context_lines, default=None, metavar="N",
                   help="print N lines of context around each hit, from the stored source (like grep -C)")
    _output_options(p)
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("semantic", parents=[common], help="find code by what it does, in words (embeddings)")
    p.add_argument("query", nargs="+", help="a description, e.g. 'retry a request with backoff'")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.add_argument("-n", "--limit", type=int, default=10, help="at most this many (default 10)")
    p.add_argument("--hybrid", action="store_true", help="fuse with full-text search (reciprocal rank fusion); "
                                                         "the query is then read as search reads it")
    _output_options(p)
    p.set_defaults(func=cmd_semantic)
    p = sub.add_parser("def", parents=[common], help="where a name is defined")
    p.add_argument("name", help="a name (join), a qualified name (JSONEncoder.default) or a glob (test_*)")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.add_argument("-k", "--kind", default="", help="class, function, async_function, method or async_method")
    p.add_argument("-n", "--limit", type=int, default=50, help="at most this many (default 50)")
    p.set_defaults(func=cmd_def)
    p = sub.add_parser("refs", parents=[common], help="where a name is used")
    p.add_argument("name", help="a name (join) or a dotted name (os.path.join)")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.add_argument("-n", "--limit", type=int, default=100, help="at most this many (default 100)")
    p.set_defaults(func=cmd_refs)
    p = sub.add_parser("outline", parents=[common], help="a file's definitions, nested")
    p.add_argument("project", help="project id or root")
    p.add_argument("path", help="path relative to the project root, or absolute under it")
    p.set_defaults(func=cmd_outline)
    p = sub.add_parser("imports", parents=[common], help="what a module imports, or (--in) who imports it")
    p.add_argument("project", help="project id or root")
    p.add_argument("module", help="a dotted module name (pkg.mod) or a path (pkg/mod.py)")
    p.add_argument("--in", dest="importers", action="store_true", help="who imports it, instead of what it imports")
    p.add_argument("-d", "--depth", type=int, default=1, help="levels to follow (default 1: direct imports only)")
    p.add_argument("--all", action="store_true", help="follow every level (transitive)")
    p.set_defaults(func=cmd_imports)
    p = sub.add_parser("chain", parents=[common], help="a shortest chain of imports from one module to another")
    p.add_argument("project", help="project id or root")
    p.add_argument("importer", help="the module the chain starts at")
    p.add_argument("imported", help="the module it ends at")
    p.set_defaults(func=cmd_chain)
    p = sub.add_parser("hierarchy", parents=[common], help="a class's bases, or (--down) its subclasses")
    p.add_argument("project", help="project id or root")
    p.add_argument("name", help="a class by qualified (pkg.mod.Class) or plain name (Class)")
    p.add_argument("--down", action="store_true", help="its subclasses instead of its bases")
    p.set_defaults(func=cmd_hierarchy)
    p = sub.add_parser("calls", parents=[common], help="who calls a function, or what it calls")
    p.add_argument("project", help="project id or root")
    p.add_argument("symbol", help="a function, method or class by qualified name (pkg.mod.Class.method)")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--callers", dest="direction", action="store_const", const="callers",
                     help="who calls it (the default)")
    way.add_argument("--callees", dest="direction", action="store_const", const="callees", help="what it calls")
    way.add_argument("--both", dest="direction", action="store_const", const="both", help="both")
    p.set_defaults(direction="callers")
    p.add_argument("-d", "--depth", type=int, default=1, help="levels to follow (default 1: direct calls only)")
    p.add_argument("--all", action="store_true", help="follow every level (transitive)")
    p.set_defaults(func=cmd_calls)
    p = sub.add_parser("usages", parents=[common], help="where a qualified name is used, through imports and aliases")
    p.add_argument("target", help="a qualified name: os.path.join, json.JSONEncoder.default, pkg.mod.func")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.add_argument("-n", "--limit", type=int, default=100, help="at most this many (default 100, at most 1000)")
    p.set_defaults(func=cmd_usages)
    p = sub.add_parser("show", parents=[common], help="print a file's exact stored source")
    p.add_argument("project", help="project id or root")
    p.add_argument("path", help="path relative to the project root, or absolute under it")
    p.add_argument("--version", default="",
                   help="a version number from `history`, or 6+ hex digits of its sha256 (default: the current one)")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("history", parents=[common], help="the local history of one file")
    p.add_argument("project", help="project id or root")
    p.add_argument("path", help="path relative to the project root, or absolute under it")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("restore", parents=[common], help="write a stored version back into the project, as you")
    p.add_argument("project", help="project id or root")
    p.add_argument("path", help="path relative to the project root, or absolute under it")
    p.add_argument("--version", default="", help="the version to restore (default: the latest)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file (its content is kept as a version first)")
    p.set_defaults(func=cmd_restore)
    p = sub.add_parser("repair", parents=[common],
                       help="bring a project's index and history in line with disk")
    p.add_argument("project", help="project id or root")
    p.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")
    p.add_argument("--restore-missing", action="store_true",
                   help="then write back (as you) the files the index held that are gone from disk")
    p.set_defaults(func=cmd_repair)
    p = sub.add_parser("check", parents=[common], help="full integrity check of the databases")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("problems", parents=[common], help="files that could not be read or parsed, and why")
    p.add_argument("-p", "--project", default="", help="only this project (id or root)")
    p.set_defaults(func=cmd_problems)
    p = sub.add_parser("worker", parents=[common], help="start, stop, restart or show the worker units")
    p.add_argument("action", choices=["start", "stop", "restart", "status"])
    p.add_argument("name", nargs="?", help=f"one of: {', '.join(WORKER_UNITS)}")
    p.add_argument("-p", "--project", default=None,
                   help="repair worker: start on this project only (id or root); status of this project only")
    p.add_argument("--batch-size", type=_count, default=None, metavar="N",
                   help="repair worker: files per batch (1-100000; 0: [Repair] BatchSize=)")
    p.add_argument("--poll-interval", type=float, default=None, metavar="S",
                   help="repair worker: seconds between batches (0.1-86400; 0: [Repair] PollInterval=)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help=f"repair worker: seconds to wait for it to stop (default with --force: {STOP_WAIT:g})")
    p.add_argument("--force", action="store_true",
                   help="repair worker: kill it (SIGKILL, through systemd) if it has not stopped within --timeout")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("mcp", parents=[common], help="serve the index to a coding agent: MCP on stdin and stdout")
    p.add_argument("--project", default="",
                   help="the project the tools default to (id or root; default: every project, or for a file "
                        "the one holding it or the working directory)")
    p.set_defaults(func=None)
    for name, command in sub.choices.items():
        about, example = _ABOUT[name]
        command.description = f"{command.description or ''}\n\n{about}".strip() if about else command.description
        command.epilog = f"example:\n  {example}"
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


# What each command does, in more words than its one-line help, and an example: every
# `codeanalysisctl COMMAND --help` stands on its own.
_ABOUT = {
    "status": ("The suite's version and bus, the number of projects and indexed files, the database size,\n"
               "whether the index is fresh for each project you can see (stale while the watcher is stopped or\n"
               "has changes on disk left to index), and each unit as systemd reports it (state, PID, restarts,\n"
               "status line) with the worker's counters.",
               "codeanalysisctl status"),
    "projects": ("Every registered project: id (used by the other commands), name, live files, state (active,\n"
                 "or missing while its root is gone) and root.", "codeanalysisctl --json projects"),
    "add": ("Register a directory; the watcher indexes it at once and follows it. Which files belong: .py\n"
            "files minus .gitignore'd paths, virtual environments, __pycache__, .git and configured patterns.\n"
            "Waits until every file is indexed whole, showing progress on stderr: a bar with files done of\n"
            "all, rate and time left on a terminal, a plain line every few seconds elsewhere; a new project's\n"
            "files are made searchable first (a third of the time), then indexed whole. Ctrl-C stops\n"
            "the waiting, not the indexing (exit status 130); --no-block does not wait. Exit status 1 when the\n"
            "project cannot be indexed now (the watcher is stopped, the root is missing), with the reason.",
            "codeanalysisctl add ~/src/app"),
    "remove": ("Unregister a project: its index rows go, its history stays (until pruned); adding the same\n"
               "root again gets the same id and the history back.", "codeanalysisctl remove app"),
    "search": ("Full-text search over every indexed file (BM25 ranking). Words must all occur; also\n"
               '"exact phrase", path:GLOB and -path:GLOB, kind:KIND (definition lines of that kind), sym:NAME\n'
               "(definitions whose name contains it), case:yes, /regex/ (beside a word) and page:N. Prints\n"
               "project:path:line (enclosing symbol): the matching line, what matched highlighted on a terminal\n"
               "(not with NO_COLOR); -C N adds N lines around each hit from the stored source, as grep -C does.\n"
               "Exit status 1 when nothing matches.",
               "codeanalysisctl search -p app -C 2 'copytree kind:function -path:tests'"),
    "semantic": ("Find functions, methods, classes and modules by a description of what they do: the nearest\n"
                 "code chunks by embedding (all-MiniLM-L6-v2, offline). Prints the cosine similarity and\n"
                 "project:path:first-last line (symbol). --hybrid fuses the ranking with full-text search, which\n"
                 "helps when the query names identifiers. Exit status 1 when nothing is found.",
                 "codeanalysisctl semantic -p app 'retry a request with exponential backoff'"),
    "def": ("Where a name is defined: a plain name, a qualified name (Class.method) or a glob.",
            "codeanalysisctl def 'test_*' -k function -p app"),
    "refs": ("Where a name is used: calls, attribute uses and names, with the enclosing symbol.",
             "codeanalysisctl refs os.path.join -p app"),
    "outline": ("A file's classes, functions and methods in source order, nested as written: lines, kind,\n"
                "name and signature (a class's bases).", "codeanalysisctl outline app pkg/mod.py"),
    "imports": ("The modules a module imports (relative imports resolved; `import a.b` counts a.b, and\n"
                "`from a import b` counts a.b when that is a module, else a), or with --in the modules that\n"
                "import it; --depth N or --all follows the modules of the project further. Prints importer ->\n"
                "imported (importer's path:line).", "codeanalysisctl imports app pkg.mod --in --all"),
    "chain": ("A shortest chain of imports from one module of the project to another, or exit status 1 when\n"
              "the first does not import the second at all.", "codeanalysisctl chain app pkg.cli pkg.db.store"),
    "hierarchy": ("A class's bases in method resolution order, or with --down the classes deriving from it,\n"
                  "transitively, indented by depth; bases are followed through imports and aliases.",
                  "codeanalysisctl hierarchy app pkg.models.Base --down"),
    "calls": ("Who calls a function (--callers, the default), what it calls (--callees), or both, through\n"
              "imports, aliases, self/cls and the class hierarchy; a call matched by its name only (its\n"
              "receiver unknown) is marked so.", "codeanalysisctl calls app pkg.mod.Class.method --callees"),
    "usages": ("Every use of a qualified name: through `import x as y`, `from x import y as z`, re-exports by a\n"
               "package's __init__, self.m / cls.m and inherited methods. A use whose receiver is unknown and\n"
               "whose name matches is marked [by name only]. A cut list says how many more there are.",
               "codeanalysisctl usages json.JSONEncoder.default -p app"),
    "show": ("Print the exact stored bytes of a file, also of one deleted from disk, or of an older version\n"
             "(a number from `history`, or 6+ hex digits of its sha256).",
             "codeanalysisctl show app pkg/mod.py --version 3 > /tmp/mod-v3.py"),
    "history": ("The local history of one file: every content the index has seen, with when and why (added,\n"
                "modified, deleted, moved, repaired, restored, overwritten).",
                "codeanalysisctl history app pkg/mod.py"),
    "restore": ("Write a stored version back into the project (default: the latest, e.g. of a deleted file).\n"
                "It is written by this command, as you: only where you may write yourself, never through a\n"
                "symbolic link, atomically. A new file gets the version's recorded mode (less your umask); with\n"
                "--overwrite an existing file is replaced keeping its owner, mode and ACL, and what it held is\n"
                "kept as a version. Only the project's owner (or root) may restore into it.",
                "codeanalysisctl restore app pkg/mod.py --version 3 --overwrite"),
    "repair": ("Bring the project's index and history in line with disk: files on disk are indexed and current;\n"
               "files gone from disk are marked deleted, their content kept; content only the index still has is\n"
               "copied into the history. The watcher, vectorizer and repair worker are stopped meanwhile and\n"
               "started again. --dry-run only reports; --restore-missing then writes the missing files back,\n"
               "as `restore` does (as you, each with its recorded mode).",
               "codeanalysisctl repair app --dry-run"),
    "check": ("Run SQLite's full integrity check on the index and the history. If either is corrupt, the DB\n"
              "owner restarts, moves the file aside and rebuilds it. Exit status 1 when corrupt.",
              "codeanalysisctl check"),
    "problems": ("Files that could not be read, decoded or parsed, whose libcst tree differs from their bytes,\n"
                 "and symbolic links that are not followed, each with the reason.",
                 "codeanalysisctl problems -p app"),
    "worker": ("Start, stop or restart a worker unit through systemd (as `systemctl` would), or show the units\n"
               "with the workers' own counters (pending, done, errors). The repair worker also takes a schedule of\n"
               "its own (start repair with --project, --batch-size, --poll-interval: it holds until the next such\n"
               "start or a restart of the suite), a stop that kills it past a time (stop repair --timeout S\n"
               "--force; exit status 1 if it is still stopping), and a status of its cycle and of what it\n"
               "checked and repaired in each project you may see (status repair [--project P]).",
               "codeanalysisctl worker start repair --batch-size 50 --poll-interval 0.5 -p app"),
    "mcp": ("An MCP server on stdin and stdout for coding agents (Claude Code, Cursor, ...), run by the agent\n"
            "as you: search, definitions, references, outlines, imports, usages, calls, class hierarchies,\n"
            "files, history, restore, projects, freshness and repair, each answer what you could read\n"
            "yourself, saying whether the index is fresh, bounded and paged.\n"
            "--json does not apply. See README, Agents (MCP), for the agent's configuration.",
            "codeanalysisctl mcp --project app"),
}


_HINTS = {
    "org.freedesktop.DBus.Error.ServiceUnknown":
        f"{BUS_NAME} is not running; start it with: systemctl start {TARGET_UNIT}",
    "org.freedesktop.DBus.Error.NameHasNoOwner":
        f"{BUS_NAME} is not running; start it with: systemctl start {TARGET_UNIT}",
}


async def _main(args: argparse.Namespace) -> int:
    kind = BusKind.SESSION if args.user else BusKind.SYSTEM
    try:
        bus = await connect(kind)
    except (OSError, DBusError) as exc:
        print(printable(f"codeanalysisctl: cannot connect to the {kind.value} bus: {exc}"), file=sys.stderr)
        return 1
    try:
        return await args.func(Client(bus), args)
    except DBusError as exc:
        hint = _HINTS.get(exc.type)
        message = f"{hint} ({exc.text})" if hint else exc.text
        print(printable(f"codeanalysisctl: {message} [{exc.type}]"), file=sys.stderr)
        return 1
    finally:
        bus.disconnect()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "mcp":
        # imported here: the SDK takes longer to load than any other command runs
        from codeanalysisd.cli.mcp.server import run

        sys.exit(run(BusKind.SESSION if args.user else BusKind.SYSTEM, args.project))
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()
