"""In-sandbox half of bench/structure.py: structure calls through the system bus, timed.

Runs with the suite's own interpreter inside the sandbox; reads what to ask from a JSON file
and prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from codeanalysisd.bus import api
from codeanalysisd.bus.calls import call
from codeanalysisd.bus.connection import BusKind, connect
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99), "max_ms": max(ms)}


class Bus:
    def __init__(self) -> None:
        self.bus: Any = None

    async def __aenter__(self) -> Bus:
        self.bus = await connect(BusKind.SYSTEM)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.bus.disconnect()

    async def __call__(self, member: str, *args: Any) -> Any:
        (reply,) = await call(self.bus, BUS_NAME, OBJECT_PATH, MANAGER_INTERFACE, member, api.MANAGER[member].args,
                              list(args))
        return reply


async def imports(project: str, modules: list[str]) -> dict[str, list[list[Any]]]:
    """Every module's direct imports, as the Imports method gives them."""
    out = {}
    async with Bus() as ask:
        for module in modules:
            out[module] = [list(r) for r in await ask("Imports", project, module, "out", 1)]
    return out


async def usages(project: str, targets: list[str]) -> dict[str, Any]:
    """FindUsages of each target (limit 1000), with the time each call took through the bus."""
    out: dict[str, Any] = {}
    async with Bus() as ask:
        for target in targets:
            t0 = time.perf_counter()
            rows = await ask("FindUsages", target, project, 1000)
            out[target] = {"rows": [list(r) for r in rows], "ms": (time.perf_counter() - t0) * 1000}
    return out


async def latency(project: str, queries: dict[str, list[list[Any]]], rounds: int) -> dict[str, Any]:
    """Each method over its queries, ``rounds`` times round robin (after one warm-up pass)."""
    out: dict[str, Any] = {}
    async with Bus() as ask:
        for _ in range(20):
            await ask_ping(ask)
        floor = []
        for _ in range(200):
            t0 = time.perf_counter()
            await ask_ping(ask)
            floor.append((time.perf_counter() - t0) * 1000)
        out["Peer.Ping (floor)"] = summary(floor)
        for label, calls in queries.items():
            member = label.split(" ", 1)[0]
            samples, rows = [], []
            for args in calls:  # warm-up: what a first question after a change pays is measured apart
                await ask(member, project, *args) if member != "FindUsages" else await ask(member, args[0], project,
                                                                                          args[1])
            for _ in range(rounds):
                for args in calls:
                    t0 = time.perf_counter()
                    reply = await (ask(member, project, *args) if member != "FindUsages" else
                                   ask(member, args[0], project, args[1]))
                    samples.append((time.perf_counter() - t0) * 1000)
                    rows.append(len(reply))
            out[label] = {**summary(samples), "queries": len(calls), "rows_median": statistics.median(rows),
                          "rows_max": max(rows)}
    return out


async def ask_ping(ask: Bus) -> None:
    await call(ask.bus, BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Peer", "Ping", "", [])


async def live(project: str, root: str, edits: int) -> dict[str, Any]:
    """Save -> visible for what depends on the saved module: a class whose base comes from
    another module is re-resolved when only that module changes (ClassHierarchy), and a call
    through an import is found when the caller's file is saved (FindUsages)."""
    base_file = os.path.join(root, "_bench_structure_base.py")
    user_file = os.path.join(root, "_bench_structure_user.py")
    write(base_file, "class Base0:\n    pass\n\n\nclass Base1:\n    pass\n\n\nChosen = Base0\n")
    write(user_file, "from _bench_structure_base import Chosen\n\n\nclass Derived(Chosen):\n    pass\n")
    out: dict[str, Any] = {}
    async with Bus() as ask:
        await wait_for(ask, lambda: ask("ClassHierarchy", project, "_bench_structure_user.Derived", "up"),
                       lambda rows: len(rows) > 1 and rows[1][0] == "_bench_structure_base.Base0", 30)
        hierarchy, first_calls, usages_ = [], [], []
        for n in range(edits):
            chosen = f"Base{(n + 1) % 2}"
            t0 = time.perf_counter()
            write(base_file, f"class Base0:\n    pass\n\n\nclass Base1:\n    pass\n\n\nChosen = {chosen}\n")
            await wait_for(ask, lambda: ask("ClassHierarchy", project, "_bench_structure_user.Derived", "up"),
                           lambda rows, c=chosen: len(rows) > 1 and rows[1][0] == f"_bench_structure_base.{c}", 10)
            hierarchy.append((time.perf_counter() - t0) * 1000)
            # the first question after the save pays for bringing the model current
            t0 = time.perf_counter()
            await ask("CallGraph", project, "_bench_structure_base.Base0", "callers", 1)
            first_calls.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            write(user_file, "from _bench_structure_base import Chosen\n\n\nclass Derived(Chosen):\n    pass\n\n\n"
                             f"def use():\n    return Chosen()  # {n}\n")
            await wait_for(ask, lambda: ask("FindUsages", "_bench_structure_base.Chosen", project, 100),
                           lambda rows, n=n: any(r[5] == 9 for r in rows), 10)
            usages_.append((time.perf_counter() - t0) * 1000)
            write(user_file, "from _bench_structure_base import Chosen\n\n\nclass Derived(Chosen):\n    pass\n")
            await wait_for(ask, lambda: ask("FindUsages", "_bench_structure_base.Chosen", project, 100),
                           lambda rows: not any(r[5] == 9 for r in rows), 10)
        out["save -> ClassHierarchy of an importer re-resolved"] = summary(hierarchy)
        out["first CallGraph after a save (model brought current)"] = summary(first_calls)
        out["save -> FindUsages sees the new call"] = summary(usages_)
    os.unlink(base_file)
    os.unlink(user_file)
    return out


def write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


async def wait_for(ask: Bus, question: Any, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if done(await question()):
                return
        except Exception:  # a module not indexed yet: NotFound until it is
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the change was not seen in time")
        await asyncio.sleep(0.001)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["imports", "usages", "latency", "live"])
    parser.add_argument("project")
    parser.add_argument("input", help="a JSON file (imports: modules; usages: targets; latency: queries), "
                                      "or the project's root (live)")
    parser.add_argument("-n", type=int, default=3, help="rounds (latency) or edits (live)")
    args = parser.parse_args()
    if args.mode == "live":
        result = asyncio.run(live(args.project, args.input, args.n))
    else:
        with open(args.input) as f:
            given = json.load(f)
        if args.mode == "imports":
            result = asyncio.run(imports(args.project, given))
        elif args.mode == "usages":
            result = asyncio.run(usages(args.project, given))
        else:
            result = asyncio.run(latency(args.project, given, args.n))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
