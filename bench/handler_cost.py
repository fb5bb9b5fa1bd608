"""Benchmark: what the owner's bus face and core add to a query, in process.

Calls the Manager's handlers as dbus-fast calls them (the guarded face method: argument
checks, project lookup, the error table, row conversion) and, as the reference in the same
run, the store read they end in, on a small index (this repository's own package). No bus:
the bus round trip is measured by bench/index_stdlib.py and bench/load.py.

Run:  .venv/bin/python bench/handler_cost.py
"""

from __future__ import annotations

import pathlib
import statistics
import tempfile
import timeit
import types
from collections.abc import Callable

from codeanalysisd.config import Config
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.manager import Manager
from codeanalysisd.paths import roots_overlap

REPO = pathlib.Path(__file__).resolve().parent.parent


def per_call_us(thunk: Callable[[], object], number: int = 2000, repeat: int = 7) -> float:
    return statistics.median(timeit.repeat(thunk, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    state = tempfile.mkdtemp()
    store, _ = Store.open(f"{state}/index.sqlite3", f"{state}/history.sqlite3")
    root = str(REPO)
    project = store.writes.projects.add(root, roots_overlap)
    updates = []
    for path in sorted((REPO / "codeanalysisd").rglob("*.py")):
        item = read_file(root, str(path.relative_to(REPO)))
        if item is not None:
            updates.append(file_update(item, 1 << 20)[0])
    store.writes.files.index(project.id, updates)
    # dbus-fast calls the method's function with the interface object; no bus is needed for that
    manager = Manager(OwnerCore(store, types.SimpleNamespace(bus=None), Config()))  # type: ignore[arg-type]

    def handler(name: str) -> Callable[..., object]:
        # the class attribute is the function dbus-fast calls, with the interface object first
        return vars(Manager)[name]  # type: ignore[no-any-return]

    reads = store.reads.files
    cases = [
        ("ListProjects", lambda: handler("ListProjects")(manager), lambda: store.reads.projects.list()),
        ("FindSymbol Store", lambda: handler("FindSymbol")(manager, "Store", "", "", 0),
         lambda: reads.find_symbol("Store", None, "", 20)),
        ("FindSymbol Store, in the project", lambda: handler("FindSymbol")(manager, "Store", project.id, "", 0),
         lambda: reads.find_symbol("Store", project.id, "", 20)),
        ("Search 'transaction'", lambda: handler("Search")(manager, "transaction", "", 0),
         lambda: reads.search("transaction", None, 20)),
    ]
    print(f"index: {len(updates)} files of {root}")
    print(f"{'call':36} {'handler':>12} {'store read alone':>18} {'added':>10}")
    for name, through_face, alone in cases:
        face_us, alone_us = per_call_us(through_face), per_call_us(alone)
        print(f"{name:36} {face_us:9.1f} us {alone_us:15.1f} us {face_us - alone_us:7.1f} us")
    store.close()


if __name__ == "__main__":
    main()
