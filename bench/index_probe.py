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


async def manager_property(bus, name: str):
    return (await call(bus, BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get", "ss",
                       [MANAGER_INTERFACE, name]))[0].value


async def ask(seconds: float, interval: float) -> dict[str, object]:
    """SyntaxPending asked every ``interval`` seconds for ``seconds``, over one connection, as
    ``stages`` asks (bench/poll_cost.py measures what that costs the machine)."""
    bus = await connect(BusKind.SYSTEM)
    asked, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        await manager_property(bus, "SyntaxPending")
        asked += 1
        await asyncio.sleep(interval)
    bus.disconnect()
    return {"asked": asked}


SYSTEMD = "org.freedesktop.systemd1"


async def unit_property(bus, unit: str, interface: str, name: str):
    path = (await call(bus, SYSTEMD, "/org/freedesktop/systemd1", f"{SYSTEMD}.Manager", "GetUnit", "s", [unit]))[0]
    return (await call(bus, SYSTEMD, path, "org.freedesktop.DBus.Properties", "Get", "ss",
                       [f"{SYSTEMD}.{interface}", name]))[0].value


async def units_cpu_s(bus, units: list[str]) -> dict[str, float]:
    """CPU time (user + system) each unit has used so far, as systemd counts it (its cgroup)."""
    return {unit: await unit_property(bus, unit, "Service", "CPUUsageNSec") / 1e9 for unit in units}


async def peak_rss_mb(bus, unit: str) -> float:
    pid = await unit_property(bus, unit, "Service", "MainPID")
    if not pid:
        return float("nan")  # not running (--vectorizer-stopped)
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")), float("nan"))


async def stages(root: str, project: str, files: int, units: list[str], until_embedded: bool) -> dict[str, object]:
    """Adds ``root`` (`codeanalysisctl add --no-block`, as a user would) and times the
    stages of its first index from here, over one bus connection: every file searchable,
    the project ready, the first verdicts, every file verified, and with ``until_embedded``
    the first and the last vectors; each unit's CPU at each stage. Asked from the host, each
    question was processes (nsenter, env, busctl): about 10 ms of the machine's CPU, a fifth
    of a core at one question every 50 ms, taken from the units being timed; over one
    connection here, about 1 ms (bench/poll_cost.py)."""
    bus = await connect(BusKind.SYSTEM)
    own_cpu = time.process_time()

    async def prop(name: str) -> int:
        return await manager_property(bus, name)

    async def until(ready, what: str, interval: float = 0.05, timeout: float = 900.0) -> None:
        deadline = time.monotonic() + timeout
        while not await ready():
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: not within {timeout:.0f} s")
            await asyncio.sleep(interval)

    async def all_indexed() -> bool:
        return await prop("FilesIndexed") >= files

    async def project_ready() -> bool:
        return [row[1] for row in (await manager(bus, "IndexProgress", "s", project))[0]] == ["ready"]

    out: dict[str, object] = {}
    cpu_before = await units_cpu_s(bus, units)

    def spent(now: dict[str, float], since: dict[str, float]) -> dict[str, float]:
        return {unit: seconds - since.get(unit, 0.0) for unit, seconds in now.items()}

    t0 = time.monotonic()
    subprocess.run(["codeanalysisctl", "add", "--no-block", root], check=True, capture_output=True)
    await until(all_indexed, "every file indexed", timeout=600)
    out["add_to_indexed_s"] = time.monotonic() - t0
    out["cpu_during_index_s"] = spent(await units_cpu_s(bus, units), cpu_before)
    out["files_indexed"] = await prop("FilesIndexed")
    # Every file searchable; the rest of their facts (names, imports, chunks to embed)
    # follows: the project is indexed whole when the watcher says it is ready.
    await until(project_ready, "the project ready", timeout=600)
    indexed_at = time.monotonic()
    out["add_to_complete_s"] = indexed_at - t0
    cpu_indexed = await units_cpu_s(bus, units)
    out["cpu_to_complete_s"] = spent(cpu_indexed, cpu_before)
    out["db_bytes"] = await prop("DatabaseBytes")
    out["rss_after_index_mb"] = {unit: await peak_rss_mb(bus, unit) for unit in units}
    # how long the parser units took to begin: a verdict recorded lowers the count
    unverified = await prop("SyntaxPending")

    async def first_verdicts() -> bool:
        return await prop("SyntaxPending") < unverified

    await until(first_verdicts, "the first verdicts")
    out["verification_began_after_index_s"] = time.monotonic() - indexed_at
    # Counting chunks without a vector is a query over all of them: asked once a second,
    # and only when asked for, so as not to take the owner's CPU from what is measured.
    chunks_at_ready = await prop("ChunksPending") if until_embedded else 0
    looked = [0.0]

    async def verified() -> bool:
        # the first vectors stored lower ChunksPending (the index adds no chunk by now)
        if until_embedded and "embedding_began_after_index_s" not in out and time.monotonic() - looked[0] >= 1.0:
            looked[0] = time.monotonic()
            if await prop("ChunksPending") < chunks_at_ready:
                out["embedding_began_after_index_s"] = time.monotonic() - indexed_at
        return await prop("SyntaxPending") == 0

    await until(verified, "every file's concrete syntax verified")
    out["add_to_syntax_verified_s"] = time.monotonic() - t0
    out["syntax_after_index_s"] = time.monotonic() - indexed_at
    # what shares the cores with verification meanwhile (the vectorizer embeds the new files)
    out["cpu_during_verification_s"] = spent(await units_cpu_s(bus, units), cpu_indexed)
    if until_embedded:
        out["chunks_at_ready"] = chunks_at_ready

        async def first_vectors() -> bool:
            return await prop("ChunksPending") < chunks_at_ready

        async def embedded() -> bool:
            return await prop("ChunksPending") == 0

        await until(first_vectors, "the first vectors", 0.2)
        out.setdefault("embedding_began_after_index_s", time.monotonic() - indexed_at)
        await until(embedded, "every chunk embedded", 1.0, timeout=3600)
        out["embedded_after_index_s"] = time.monotonic() - indexed_at
    out["probe_cpu_s"] = time.process_time() - own_cpu
    bus.disconnect()
    return out


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
    p = sub.add_parser("stages")
    p.add_argument("root")
    p.add_argument("project")
    p.add_argument("--files", type=int, required=True, help="the files the project has: indexed when all are")
    p.add_argument("--units", nargs="+", required=True, help="the units whose CPU is counted")
    p.add_argument("--until-embedded", action="store_true")
    p = sub.add_parser("ask")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--interval", type=float, default=0.05)
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
    elif args.what == "ask":
        result = asyncio.run(ask(args.seconds, args.interval))
    elif args.what == "stages":
        result = asyncio.run(stages(args.root, args.project, args.files, args.units, args.until_embedded))
    else:
        result = asyncio.run(queries(args.n, LANGUAGE_QUERIES if args.language else QUERIES))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
