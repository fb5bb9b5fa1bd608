"""Benchmark: what the owner's bus face and core add to a query, in process.

Calls the Manager's handlers as dbus-fast calls them (the guarded face method: argument
checks, the caller's view, project lookup, the read thread with its deadline, the error
table, row conversion), for root and for an unprivileged caller who can read every file
(the visibility check on each row), and, as the reference in the same run, the store read
they end in, on the loop thread. The index is this repository's own package; no bus: the
bus round trip is in bench/index_stdlib.py and bench/load.py.

Run (as root, from a checkout others can read):  .venv/bin/python bench/handler_cost.py
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import tempfile
import time
import types
from collections.abc import Awaitable, Callable

from codeanalysisd.access import Caller
from codeanalysisd.config import Config
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.manager import Manager
from codeanalysisd.paths import roots_overlap
from codeanalysisd.tree import Tree

REPO = pathlib.Path(__file__).resolve().parent.parent
NOBODY = Caller(65534, frozenset({65534}))
ROOT = Caller(0, frozenset({0}))


class AsIf:
    """The owner's caller registry, answering for one caller (what Callers does from the bus)."""

    def __init__(self) -> None:
        self.caller = ROOT

    async def current(self) -> Caller:
        return self.caller


def per_call_us(run: Callable[[], object], number: int = 500, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            run()
        times.append((time.perf_counter() - started) / number * 1e6)
    return statistics.median(times)


def main() -> None:
    state = tempfile.mkdtemp()
    store, _ = Store.open(f"{state}/index.sqlite3", f"{state}/history.sqlite3")
    root = str(REPO)
    project = store.writes.projects.add(root, roots_overlap)
    updates = []
    tree = Tree(root)
    for path in sorted((REPO / "codeanalysisd").rglob("*.py")):
        item = read_file(tree, str(path.relative_to(REPO)))
        if item is not None:
            updates.append(file_update(item, 1 << 20)[0])
    store.writes.files.index(project.id, updates)
    core = OwnerCore(store, types.SimpleNamespace(bus=None), Config())  # type: ignore[arg-type]
    callers = AsIf()
    core.callers = callers  # type: ignore[assignment]
    manager = Manager(core)
    loop = asyncio.new_event_loop()

    def through(name: str, *args: object) -> Callable[[], object]:
        # what dbus-fast calls: the method's function, with the interface object first
        handler: Callable[..., Awaitable[object]] = vars(Manager)[name].__dict__["__DBUS_METHOD"].fn
        return lambda: loop.run_until_complete(handler(manager, *args))

    reads = store.reads.files
    cases = [
        ("FindSymbol Store", through("FindSymbol", "Store", "", "", 0),
         lambda: reads.find_symbol("Store", None, "", 20)),
        ("FindSymbol Store, in the project", through("FindSymbol", "Store", project.id, "", 0),
         lambda: reads.find_symbol("Store", project.id, "", 20)),
        ("Search 'transaction'", through("Search", "transaction", "", 0),
         lambda: reads.search("transaction", None, 20)),
    ]
    print(f"index: {len(updates)} files of {root}")
    print(f"{'call':34} {'read alone':>12} {'as root':>12} {'as uid 65534':>14}")
    for name, handler, alone in cases:
        alone_us = per_call_us(alone)
        callers.caller = ROOT
        root_us = per_call_us(handler)
        callers.caller = NOBODY
        if not handler():
            raise SystemExit(f"{name}: uid 65534 sees nothing; run from a checkout others can read")
        nobody_us = per_call_us(handler)
        print(f"{name:34} {alone_us:9.1f} us {root_us:9.1f} us {nobody_us:11.1f} us")
    loop.close()
    store.close()


if __name__ == "__main__":
    main()
