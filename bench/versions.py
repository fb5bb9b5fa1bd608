"""What the benchmarks comparing two versions of the suite share: the other version checked
out as a `git worktree`, and a probe run in a subprocess against one version's package."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

REPO = pathlib.Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def other_version(revision: str, prefix: str) -> Iterator[tuple[pathlib.Path, pathlib.Path, str]]:
    """(a scratch directory, ``revision`` checked out in it, its one-line log); both gone after."""
    work = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    tree = work / "before"
    try:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision], check=True,
                       capture_output=True)
        try:
            described = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h %s"], capture_output=True,
                                       text=True, check=True).stdout.strip()
            yield work, tree, described
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def probe_in(tree: pathlib.Path, script: str, work: pathlib.Path, *args: str) -> dict[str, Any]:
    """``script --probe work *args`` in a subprocess importing the suite from ``tree``: the
    JSON object it prints. ``work`` (its state) is made here."""
    work.mkdir(parents=True)
    out = subprocess.run([sys.executable, script, "--probe", str(work), *args], cwd=tree,
                         env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def before_adding(text: str, path: str = "codeanalysisd/db/migrations.py") -> str:
    """The parent of the commit that added ``text`` to ``path``: the version before a change."""
    added = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "-S", text, "--", path],
                           capture_output=True, text=True, check=True).stdout.split()
    if not added:
        raise SystemExit(f"{text!r} is not committed yet: give --before REV")
    return f"{added[-1]}^"


def arguments(description: str, change: str) -> argparse.Namespace:
    """The options every in-process comparison of two versions takes; ``--before`` defaults to
    the version before ``change`` (a line the change added to the migrations)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=None, help=f"the version to compare with (default: before {change!r})")
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--rounds", type=int, default=3, help="each query's best of this many runs")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.before is None and args.probe is None:
        args.before = before_adding(change)
    return args


Probe = Callable[[pathlib.Path, pathlib.Path, int], dict[str, object]]


def compared(script: str, description: str, change: str, probe: Probe
             ) -> tuple[dict[str, Any], dict[str, Any], str, pathlib.Path] | None:
    """A comparison's command line: in a probe (``--probe WORK``), ``probe(stdlib, work,
    rounds)`` printed as JSON, and None; otherwise ``script``'s probe run against ``--before``
    and then against this tree, one after the other: (before's, this tree's, before's one-line
    log, the corpus)."""
    from stdlib_box import default_stdlib

    args = arguments(description, change)
    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    if args.probe:
        print(json.dumps(probe(stdlib, pathlib.Path(args.probe), args.rounds)))
        return None
    probe_args = ("--stdlib", str(stdlib), "--rounds", str(args.rounds))
    with other_version(args.before, pathlib.Path(script).stem + ".") as (work, tree, revision):
        old = probe_in(tree, script, work / "old", *probe_args)
        new = probe_in(REPO, script, work / "new", *probe_args)
    print(f"packages: {new['package']} and {old['package']}")
    return old, new, revision, stdlib


def percentiles(ms: list[float]) -> str:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.3f} ms, p99 {p99:.3f} ms, max {ordered[-1]:.3f} ms"


# What bench/db_size.py's copy of the standard library leaves out.
LEFT_OUT = {"site-packages", "dist-packages", "__pycache__"}


def index_in_process(stdlib: pathlib.Path, work: pathlib.Path, copies: int = 1) -> tuple[Any, str, int, float]:
    """In a probe: the standard library indexed into a store in ``work`` by the version of the
    suite imported (``Writes.files.index``, batches of 64), ``copies`` times, each copy a
    project of its own (the first at the library's root, the others at empty directories in
    ``work``, holding the same bytes). Returns (the store, open; the first project; the files
    of one copy; the seconds spent writing)."""
    from codeanalysisd.db.store import Store
    from codeanalysisd.paths import roots_overlap
    from codeanalysisd.repair.disk import from_bytes

    files = sorted(p for p in stdlib.rglob("*.py") if not LEFT_OUT & set(p.relative_to(stdlib).parts))
    contents = [(str(p.relative_to(stdlib)), p.read_bytes()) for p in files]
    store, _ = Store.open(str(work / "index.sqlite3"), str(work / "history.sqlite3"))
    roots = [stdlib, *(work / "copies" / str(n) for n in range(1, copies))]
    projects: list[str] = []
    write = 0.0
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
        projects.append(store.writes.projects.add(str(root), roots_overlap).id)
        for at in range(0, len(contents), 64):
            batch = [from_bytes(rel, data, len(data), 1, 1 << 20) for rel, data in contents[at:at + 64]]
            started = time.perf_counter()
            store.writes.files.index(projects[-1], batch)
            write += time.perf_counter() - started
        if copies > 1:
            print(f"  copy {len(projects)} of {copies} indexed", flush=True)
    return store, projects[0], len(files), write
