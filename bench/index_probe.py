"""In-sandbox half of bench/index_stdlib.py: reference parses, save->searchable latency, query latency.

Runs with the suite's own interpreter inside the sandbox and prints one JSON object.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from codeanalysisd.bus.calls import call
from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH
from codeanalysisd.workers.loop import wake_on_changes


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99), "max_ms": max(ms)}


def files_of(root: str) -> list[str]:
    return [os.path.join(root, rel) for rel in ProjectFiles(root).walk()]


def parse_reference(root: str, with_libcst: bool) -> dict[str, object]:
    """Raw parse times of exactly the files the suite indexes, one process, one core."""
    sources = []
    for path in files_of(root):
        with open(path, "rb") as f:
            sources.append(f.read())
    out: dict[str, object] = {"files": len(sources), "bytes": sum(map(len, sources))}
    t0 = time.perf_counter()
    failed = 0
    for src in sources:
        try:
            ast.parse(src)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            failed += 1
    out["ast_parse_s"] = time.perf_counter() - t0
    out["ast_failed"] = failed
    if with_libcst:
        import libcst

        t0 = time.perf_counter()
        failed = 0
        for src in sources:
            try:
                libcst.parse_module(src)
            except Exception:
                failed += 1
        out["libcst_parse_s"] = time.perf_counter() - t0
        out["libcst_failed"] = failed
    out.update(ctags_reference(files_of(root)))
    return out


def ctags_reference(paths: list[str]) -> dict[str, object]:
    """universal-ctags over the same files (tags only; one process): the second reference."""
    ctags = shutil.which("ctags")
    if ctags is None:
        return {"ctags": "not installed (apt install universal-ctags)"}
    version = subprocess.run([ctags, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    if "Universal Ctags" not in version:
        return {"ctags": f"not universal-ctags: {version}"}
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing, tempfile.TemporaryDirectory() as out:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        t0 = time.perf_counter()
        subprocess.run([ctags, "--languages=Python", "-L", listing.name, "-f", os.path.join(out, "tags")],
                       check=True, capture_output=True)
        took = time.perf_counter() - t0
        with open(os.path.join(out, "tags"), "rb") as f:
            tags = sum(1 for line in f if not line.startswith(b"!_TAG_"))
    return {"ctags": version, "ctags_s": took, "ctags_tags": tags}


async def manager(bus, member: str, signature: str = "", *body):
    return await call(bus, BUS_NAME, OBJECT_PATH, MANAGER_INTERFACE, member, signature, list(body))


SLOWEST = 4  # edits reported one by one: with 200, the p99 is the second slowest


async def save_and_find(bus, path: str, token: str, project: str, gap: float,
                        changed: asyncio.Event | None = None) -> tuple[float, float, float]:
    """Append a definition named ``token`` to ``path``, then ask Search and FindSymbol until
    both find it: (seconds to Search, seconds to FindSymbol, the save's Unix time). Asked
    every ``gap`` seconds, or with ``changed`` (set by the owner's announcement of a change of
    FilesIndexed, workers/loop.wake_on_changes) only after each announcement: what a client
    waiting for the index to change sees, with no question asked in vain."""
    if changed is not None:
        changed.clear()
    with open(path, "a") as f:
        f.write(f"\n\ndef {token}():\n    pass\n")
    saved_at = time.time()
    saved = time.perf_counter()
    found_search = found_symbol = None
    deadline = saved + 10
    while (found_search is None or found_symbol is None) and time.perf_counter() < deadline:
        if changed is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - time.perf_counter()))
            changed.clear()
        if found_search is None and (await manager(bus, "Search", "ssu", token, project, 1))[0]:
            found_search = time.perf_counter() - saved
        if found_symbol is None and (await manager(bus, "FindSymbol", "sssu", token, project, "", 1))[0]:
            found_symbol = time.perf_counter() - saved
        if changed is None:
            await asyncio.sleep(gap)
    if found_search is None or found_symbol is None:
        raise SystemExit(f"{token} not found within 10 s")
    return found_search, found_symbol, saved_at


async def latency(root: str, project: str, edits: int, gap: float = 0.001, on_change: bool = False
                  ) -> dict[str, object]:
    """Append a unique token to a file, then ask Search until it finds it: save -> searchable.
    Asked again ``gap`` seconds after each answer: a figure is at most ``gap`` and one call
    late, and the asking itself takes its share of the cores the units being measured run on.
    ``on_change``: asked only after each change of FilesIndexed the owner announces."""
    bus = await connect(BusKind.SYSTEM)
    changed = None
    if on_change:
        changed = asyncio.Event()
        await wake_on_changes(bus, changed, properties=("FilesIndexed",))
    targets = files_of(root)[:edits]
    search_samples, symbol_samples = [], []
    for i, path in enumerate(targets):
        found_search, found_symbol, _ = await save_and_find(bus, path, f"benchtoken_{os.getpid()}_{i}", project, gap,
                                                            changed)
        search_samples.append(found_search)
        symbol_samples.append(found_symbol)
    bus.disconnect()
    # The slowest edits, each beside what ast.parse alone takes of the file as saved, here
    # and now: the floor under anything that extracts its names.
    slowest = []
    for seconds, path in sorted(zip(search_samples, targets, strict=True), reverse=True)[:SLOWEST]:
        with open(path, "rb") as f:
            source = f.read()
        parses = []
        for _ in range(3):
            t0 = time.perf_counter()
            ast.parse(source)
            parses.append(time.perf_counter() - t0)
        slowest.append({"path": os.path.relpath(path, root), "bytes": len(source), "ms": seconds * 1000,
                        "ast_parse_ms": statistics.median(parses) * 1000})
    return {"save_to_search": summary(search_samples), "save_to_findsymbol": summary(symbol_samples),
            "slowest_to_search": slowest}


async def saves(root: str, project: str, rels: list[str], rounds: int, gap: float, pause: float,
                on_change: bool) -> list[dict]:
    """Each file saved ``rounds`` times, in turn, ``pause`` seconds apart: one row per save.
    ``on_change``: asked after each announcement of a change, not every ``gap`` seconds."""
    bus = await connect(BusKind.SYSTEM)
    changed = None
    if on_change:
        changed = asyncio.Event()
        await wake_on_changes(bus, changed, properties=("FilesIndexed",))
    rows = []
    for k in range(rounds):
        for rel in rels:
            path = os.path.join(root, rel)
            token = f"savetoken_{os.getpid()}_{k}_{rel.replace('/', '_').replace('.', '_')}"
            to_search, to_symbol, saved_at = await save_and_find(bus, path, token, project, gap, changed)
            rows.append({"path": rel, "bytes": os.path.getsize(path), "saved_at": saved_at,
                         "search_ms": to_search * 1000, "symbol_ms": to_symbol * 1000})
            await asyncio.sleep(pause)
    bus.disconnect()
    return rows


QUERIES = [
    ("Peer.Ping (floor)", "org.freedesktop.DBus.Peer", "Ping", "", ()),
    ("FindSymbol JSONEncoder", MANAGER_INTERFACE, "FindSymbol", "sssu", ("JSONEncoder", "", "", 20)),
    ("FindSymbol __init__ (3k+ defs, limit 20)", MANAGER_INTERFACE, "FindSymbol", "sssu", ("__init__", "", "", 20)),
    ("FindReferences os.path.join", MANAGER_INTERFACE, "FindReferences", "ssu", ("os.path.join", "", 20)),
    ("Search 'unified diff'", MANAGER_INTERFACE, "Search", "ssu", ("unified diff", "", 20)),
    ("Search 'self' (most common word)", MANAGER_INTERFACE, "Search", "ssu", ("self", "", 20)),
]

# The query language (bench/query_language.py): each operator over the whole standard library,
# as one caller would write it; "unified diff" again as the plain reference of the same run.
LANGUAGE_QUERIES = [
    ("Peer.Ping (floor)", "org.freedesktop.DBus.Peer", "Ping", "", ()),
    *[(f"Search {q!r}", MANAGER_INTERFACE, "Search", "ssu", (q, "", 20)) for q in (
        "unified diff",
        '"unified diff"',
        "unified diff path:difflib",
        "copytree -path:test",
        "dumps kind:function",
        "sym:copytree",
        "Error case:yes",
        r'raise /raise \w+Error\(f"/',
        r"self /self\.\w+ = None$/",
        r"import /^from \.+ import/",
        "self page:10",
        "self /no_such_text_anywhere/",  # the worst case: every candidate window read, none kept
    )],
]


async def queries(n: int, which: list[tuple[str, str, str, str, tuple]] = QUERIES) -> dict[str, object]:
    bus = await connect(BusKind.SYSTEM)
    out = {}
    for label, interface, member, signature, body in which:
        for _ in range(10):
            await call(bus, BUS_NAME, OBJECT_PATH, interface, member, signature, list(body))
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            await call(bus, BUS_NAME, OBJECT_PATH, interface, member, signature, list(body))
            samples.append(time.perf_counter() - t0)
        out[label] = summary(samples)
    bus.disconnect()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("parse")
    p.add_argument("root")
    p.add_argument("--libcst", action="store_true")
    p = sub.add_parser("latency")
    p.add_argument("root")
    p.add_argument("project")
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.001, help="seconds between one answer and the next question")
    p.add_argument("--on-change", action="store_true", help="ask after each change announced, not every --gap s")
    p = sub.add_parser("saves")
    p.add_argument("root")
    p.add_argument("project")
    p.add_argument("files", nargs="+")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--gap", type=float, default=0.001)
    p.add_argument("--pause", type=float, default=0.5)
    p.add_argument("--on-change", action="store_true", help="ask after each change announced, not every --gap s")
    p = sub.add_parser("queries")
    p.add_argument("-n", type=int, default=500)
    p.add_argument("--language", action="store_true", help="the query language's queries")
    args = parser.parse_args()
    if args.what == "parse":
        result = parse_reference(args.root, args.libcst)
    elif args.what == "latency":
        result = asyncio.run(latency(args.root, args.project, args.n, args.gap, args.on_change))
    elif args.what == "saves":
        result = asyncio.run(saves(args.root, args.project, args.files, args.rounds, args.gap, args.pause,
                                  args.on_change))
    else:
        result = asyncio.run(queries(args.n, LANGUAGE_QUERIES if args.language else QUERIES))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
