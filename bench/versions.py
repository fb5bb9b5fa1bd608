"""What the benchmarks comparing two versions of the suite share: the other version checked
out as a `git worktree`, and a probe run in a subprocess against one version's package."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

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


def probe_in(tree: pathlib.Path, script: str, work: pathlib.Path, *args: str) -> dict[str, object]:
    """``script --probe work *args`` in a subprocess importing the suite from ``tree``: the
    JSON object it prints. ``work`` (its state) is made here."""
    work.mkdir(parents=True)
    out = subprocess.run([sys.executable, script, "--probe", str(work), *args], cwd=tree,
                         env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
