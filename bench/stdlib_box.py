"""What the stdlib benchmarks share: a sandboxed system manager with the suite installed by
`make install` (offline, from `build/wheels`) and the standard library mounted read-only."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sandbox.box import SYSBOX, Box, wait_until  # noqa: E402

__all__ = ["REPO", "STDLIB_MOUNT", "Box", "boot", "copy_stdlib", "copy_stdlib_here", "default_stdlib", "wait_until"]

STDLIB_MOUNT = "/opt/stdlib-src"


def default_stdlib() -> str:
    return subprocess.run(["python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def copy_stdlib(box: Box, to: str = "/srv/stdlib", timeout: float = 600) -> str:
    """The mounted standard library copied into the box as a project holds it: without the
    third-party packages installed beside it (site-packages, dist-packages). Returns where."""
    parent = to.rsplit("/", 1)[0] or "/"
    box.sh(f"mkdir -p {parent} && cp -r {STDLIB_MOUNT} {to} && rm -rf {to}/site-packages {to}/dist-packages",
           timeout=timeout)
    return to


def copy_stdlib_here(into: str, stdlib: str | None = None) -> str:
    """The standard library (``stdlib`` or this Python's) copied to ``into``/stdlib on this host,
    for the benchmarks that run the suite's code in process: as ``copy_stdlib`` leaves it, and
    without bytecode. Returns where."""
    root = os.path.join(into, "stdlib")
    shutil.copytree(stdlib or default_stdlib(), root, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "dist-packages", "__pycache__"))
    return root


def boot(name: str, stdlib: str, binds: tuple[str, ...] = ()) -> Box:
    """Boot, install the suite; the caller stops the box. ``binds`` are more "host:box[:ro]" mounts."""
    wheels = REPO / "build" / "wheels"
    if not (wheels / ".done").exists():
        sys.exit("run `make wheels` first")
    subprocess.run([str(SYSBOX), "gc"], check=False, capture_output=True)
    binds = (f"{REPO}:/opt/codeanalysisd-src:ro", f"{wheels}:/opt/codeanalysisd-wheels:ro",
             f"{stdlib}:{STDLIB_MOUNT}:ro", *binds)
    box = Box(f"bench-{name}-{os.getpid()}", binds=binds, private_network=True)
    box.start()
    try:
        box.run("make", "-C", "/opt/codeanalysisd-src", "--no-print-directory", "install",
                "WHEELHOUSE=/opt/codeanalysisd-wheels", timeout=600)
    except BaseException:
        box.stop()
        raise
    return box


def phases(box: Box, project: str = "") -> list[str]:
    """Each project's phase as IndexProgress tells it (ready, indexing, ...): of ``project``,
    or of every project ("")."""
    out = box.run("busctl", "--json=short", "call", "org.codeanalysis1", "/org/codeanalysis1",
                  "org.codeanalysis1.Manager", "IndexProgress", "s", project).stdout
    return [row[1] for row in json.loads(out)["data"][0]]
