"""Benchmark: the suite at 1x, about 3x and about 10x the standard library.

The corpus is the standard library of `python3` on PATH (`site-packages` left out) and a
fixed, pinned set of real packages from PyPI (PACKAGES below): each is downloaded once with
`pip download` into build/scale/downloads (a second run downloads nothing), and only its
`.py` files are unpacked, into build/scale/corpus/NAME-VERSION. Together: at least 15,000
`.py` files and 250 MB, counted by the suite's own membership rule inside the sandbox.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
copies every tree into the sandbox, and then for each size, from an empty state directory
and freshly started units:
  1x  the standard library alone;
  3x  the standard library + the packages of tier 3;
  10x the standard library + every package;
each tree one project (`codeanalysisctl add --no-block`, one after another), recording:
  - time from the first add to every file indexed (the Manager's FilesIndexed reaching the
    number of member files, or every project's IndexProgress phase `ready`): every file
    searchable; and to every project `ready` (the rest of every file's facts written);
  - index + history database files on disk (and the DatabaseBytes property);
  - each unit's peak memory: VmHWM of its MainPID (resident set, the figure the targets
    mean), right after the index and at the end, and its cgroup's memory.peak (which also
    counts the page cache charged to it) where the sandbox's cgroup tree has the memory
    controller (the test sandbox delegates none: then it is reported as n/a);
  - inotify watches the watcher holds (`inotify wd:` lines in /proc/PID/fdinfo);
  - query latency through the system bus, the same queries at each size
    (bench/index_probe.py `queries`: FindSymbol, FindReferences, Search, Peer.Ping).
The vectorizer is stopped right after the suite starts, at each size: embedding would share
the two cores with indexing and the queries. libcst verification (the parser units, one per
core, which the owner starts) is left to run after the index, as it does in use: the
queries are measured while it runs, at each size, beginning once the units have recorded
their first verdicts (or VERIFYING_WAIT seconds after the index, said in the report).

Run as root after `make wheels`:
  .venv/bin/python bench/scale.py [--sizes 1,3,10] [--queries 300] [--prepare-only]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tarfile
import time
import zipfile

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import active_parser_units  # noqa: E402
from sandbox.box import Box, wait_until  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib, phases  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/index_probe.py"
STATE = "/var/lib/codeanalysisd"
CACHE = REPO / "build" / "scale"
CORPUS_MOUNT = "/opt/scale-corpus"
SRV = "/srv/scale"
UNITS = ("codeanalysisd-db.service", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
WATCHER = "codeanalysisd-watcher.service"
ALL_UNITS = (*UNITS, "codeanalysisd-vectorizer.service")

# (distribution, pinned version, what pip downloads, the smallest size that includes it).
# Wheels for CPython 3.11 on x86_64 Linux; Django as its sdist, which carries its tests.
PACKAGES = (
    ("Django", "5.1.4", "sdist", 3),
    ("sympy", "1.13.3", "wheel", 3),
    ("scipy", "1.14.1", "wheel", 3),
    ("pandas", "2.2.3", "wheel", 10),
    ("numpy", "2.1.3", "wheel", 10),
    ("transformers", "4.46.3", "wheel", 10),
    ("astropy", "6.1.6", "wheel", 10),
    ("twisted", "24.10.0", "wheel", 10),
    ("kubernetes", "31.0.0", "wheel", 10),
    ("SQLAlchemy", "2.0.36", "wheel", 10),
    ("matplotlib", "3.9.2", "wheel", 10),
    ("networkx", "3.4.2", "wheel", 10),
    ("ansible-core", "2.17.7", "wheel", 10),
    ("mypy", "1.13.0", "wheel", 10),
    ("pip", "24.3.1", "wheel", 10),
    ("setuptools", "75.6.0", "wheel", 10),
    ("pygments", "2.18.0", "wheel", 10),
    ("ipython", "8.30.0", "wheel", 10),
    ("sphinx", "8.1.3", "wheel", 10),
    ("pylint", "3.3.2", "wheel", 10),
    ("hypothesis", "6.122.1", "wheel", 10),
    ("jedi", "0.19.2", "wheel", 10),
)
MIN_FILES, MIN_BYTES = 15_000, 250_000_000

# Counted inside the sandbox, by the rule the watcher applies (as bench/index_probe.py does).
COUNT = """
import json, os, sys
from codeanalysisd.index.membership import ProjectFiles
out = {}
for root in sys.argv[1:]:
    rels = list(ProjectFiles(root).walk())
    out[root] = [len(rels), sum(os.lstat(os.path.join(root, r)).st_size for r in rels)]
print(json.dumps(out))
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def downloaded(name: str, version: str, form: str) -> pathlib.Path | None:
    for path in sorted((CACHE / "downloads").glob("*")):
        if form == "wheel" and path.name.endswith(".whl"):
            dist, ver = path.name.split("-")[:2]
        elif form == "sdist" and path.name.endswith(".tar.gz"):
            dist, _, ver = path.name.removesuffix(".tar.gz").rpartition("-")
        else:
            continue
        if _norm(dist) == _norm(name) and ver == version:
            return path
    return None


def fetch(name: str, version: str, form: str) -> pathlib.Path:
    """The package's file in the download cache, downloaded with pip the first time."""
    found = downloaded(name, version, form)
    if found is not None:
        return found
    how = (["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
            "--platform", "manylinux2014_x86_64"] if form == "wheel" else ["--no-binary=:all:"])
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *how, "-d", str(CACHE / "downloads"),
                    f"{name}=={version}"], check=True, stdout=subprocess.DEVNULL)
    found = downloaded(name, version, form)
    if found is None:
        sys.exit(f"pip downloaded no {form} of {name}=={version}")
    return found


def unpack(name: str, version: str, form: str) -> pathlib.Path:
    """Only the .py files of the package, in build/scale/corpus/NAME-VERSION (once)."""
    dest = CACHE / "corpus" / f"{name}-{version}"
    done = CACHE / "corpus" / f".{name}-{version}.done"
    if done.exists():
        return dest
    archive = fetch(name, version, form)
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.mkdir(parents=True)

    def keep(member: str) -> str | None:
        parts = member.split("/")
        if form == "sdist":
            parts = parts[1:]  # NAME-VERSION/ of the sdist
        if not parts or not parts[-1].endswith(".py") or any(p in ("", ".", "..") for p in parts):
            return None
        return "/".join(parts)

    if form == "wheel":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                rel = keep(info.filename)
                if rel and not info.is_dir():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    (dest / rel).write_bytes(z.read(info))
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                rel = keep(m.name)
                if rel and m.isfile():
                    f = t.extractfile(m)
                    assert f is not None
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    (dest / rel).write_bytes(f.read())
    done.touch()
    return dest


def log(what: str) -> None:
    print(time.strftime("%H:%M:%S ") + what, file=sys.stderr, flush=True)


def prop(box: Box, name: str) -> int:
    return int(box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                       "org.codeanalysis1.Manager", name).stdout.split()[1])


def memory(box: Box) -> dict[str, dict[str, float]]:
    """Per unit (the parser units the owner started included): VmHWM of the MainPID and
    memory.peak of its cgroup, in MB."""
    out: dict[str, dict[str, float]] = {}
    parsers = active_parser_units(box)
    for unit in (*UNITS, *parsers):
        shown = box.show(unit, "MainPID", "ControlGroup")
        pid, cgroup = shown["MainPID"], shown["ControlGroup"]
        hwm = box.sh(f"grep '^VmHWM:' /proc/{pid}/status | awk '{{print $2}}'", check=False).stdout.strip()
        peak = box.run("cat", f"/sys/fs/cgroup{cgroup}/memory.peak", check=False).stdout.strip()
        out[unit] = {"vmhwm_mb": int(hwm) / 1024 if hwm else float("nan"),
                     "cgroup_peak_mb": int(peak) / 2**20 if peak.isdigit() else float("nan")}
    return out


def inotify_watches(box: Box) -> int:
    pid = box.show(WATCHER, "MainPID")["MainPID"]
    return int(box.sh(f"cat /proc/{pid}/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true").stdout.strip() or 0)


def database_files(box: Box) -> dict[str, int]:
    out = box.sh(f"find {STATE} -maxdepth 1 -name '*.sqlite3*' -printf '%f %s\\n'").stdout
    return {name: int(size) for name, size in (line.split() for line in out.splitlines())}


# How long the queries wait for the parser units' first verdicts after the index.
VERIFYING_WAIT = 300.0


def run_size(box: Box, size: int, roots: list[str], counts: dict[str, list[int]], n_queries: int) -> dict:
    expected = sum(counts[r][0] for r in roots)
    # An empty index and history, as for a first install, and units started afresh. Each unit
    # is stopped by name: `systemctl stop codeanalysisd.target` returns once the target is
    # down, and the target, ordered after its units, stops before them (the owner was seen
    # still active right after it).
    box.systemctl("stop", "codeanalysisd.target", *ALL_UNITS, "codeanalysisd-parser@*.service")
    active = box.systemctl("is-active", *ALL_UNITS, check=False).stdout.split()
    if any(state not in ("inactive", "failed") for state in active):
        sys.exit(f"the units did not stop: {active}")
    box.sh(f"rm -rf {STATE}")
    box.systemctl("reset-failed", check=False)
    box.systemctl("start", "codeanalysisd.target")
    box.systemctl("stop", "codeanalysisd-vectorizer.service")
    if prop(box, "Projects") != 0:
        sys.exit(f"{STATE} removed, yet the owner still knows {prop(box, 'Projects')} project(s)")
    r: dict = {"size": size, "projects": len(roots), "files": expected,
               "bytes": sum(counts[x][1] for x in roots)}
    t0 = time.monotonic()
    for root in roots:
        box.run("codeanalysisctl", "add", "--no-block", root)

    def all_ready() -> bool:
        return (now := phases(box)).count("ready") == len(now) == len(roots)

    def indexed() -> str:
        if prop(box, "FilesIndexed") >= expected:
            return "FilesIndexed"
        return "ready" if all_ready() else ""

    log(f"{size}x: {len(roots)} projects added")
    r["done_by"] = wait_until(indexed, timeout=7200, interval=0.25, what=f"{size}x indexed")
    r["index_s"] = time.monotonic() - t0
    r["files_indexed"] = prop(box, "FilesIndexed")
    # Every file searchable; the rest of the facts of a large change follows (names, imports,
    # chunks): the index is whole once every project is ready.
    wait_until(all_ready, timeout=7200, interval=0.25, what=f"{size}x ready")
    r["ready_s"] = time.monotonic() - t0
    r["database_files"] = database_files(box)
    r["database_bytes_property"] = prop(box, "DatabaseBytes")
    r["inotify_watches"] = inotify_watches(box)
    r["memory_after_index"] = memory(box)
    # The queries are to run beside the parser units verifying: they begin once the first
    # verdicts are recorded (the units start after the index, and record a batch at a time).
    pending = prop(box, "SyntaxPending")
    r["syntax_pending_after_index"] = pending
    began = time.monotonic()
    try:
        r["verifying_by"] = "nothing to verify" if not pending else wait_until(
            lambda: "verdicts" if prop(box, "SyntaxPending") < pending else "",
            timeout=VERIFYING_WAIT, interval=0.25, what=f"{size}x verifying")
    except TimeoutError:
        r["verifying_by"] = "timeout"
    r["verifying_wait_s"] = time.monotonic() - began
    r["syntax_pending_before_queries"] = prop(box, "SyntaxPending")
    r["queries"] = json.loads(box.run(PY, PROBE, "queries", "-n", str(n_queries), timeout=3600).stdout)
    r["syntax_pending_after_queries"] = prop(box, "SyntaxPending")
    r["memory_peak"] = memory(box)
    r["inotify_watches_after_queries"] = inotify_watches(box)
    log(f"{size}x: {expected} files indexed in {r['index_s']:.1f} s, queries measured")
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--sizes", default="1,3,10", help="which of 1, 3, 10 to run, in that order")
    parser.add_argument("--queries", type=int, default=300, help="samples per query at each size")
    parser.add_argument("--prepare-only", action="store_true", help="download and unpack, boot nothing")
    parser.add_argument("--report", metavar="JSON", help="print the report of an earlier run, boot nothing")
    args = parser.parse_args()
    if args.report:
        print_report(json.loads(pathlib.Path(args.report).read_text()))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    stdlib = args.stdlib or default_stdlib()
    trees = {f"{name}-{version}": (unpack(name, version, form), tier) for name, version, form, tier in PACKAGES}
    if args.prepare_only:
        return
    report: dict = {"stdlib": stdlib, "packages": [f"{n}=={v} ({f})" for n, v, f, _ in PACKAGES],
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "sizes": []}
    log("booting the sandbox and installing the suite")
    box = boot("scale", stdlib, (f"{CACHE / 'corpus'}:{CORPUS_MOUNT}:ro",))
    try:
        copy_stdlib(box, f"{SRV}/stdlib")
        for tree in trees:
            box.run("cp", "-r", f"{CORPUS_MOUNT}/{tree}", f"{SRV}/{tree}", timeout=600)
        roots = [f"{SRV}/stdlib", *(f"{SRV}/{t}" for t in trees)]
        counts = json.loads(box.run(PY, "-c", COUNT, *roots, timeout=600).stdout)
        log(f"{len(roots)} trees copied into the sandbox")
        report["corpus"] = counts
        report["cgroup_controllers"] = box.run("cat", "/sys/fs/cgroup/cgroup.controllers", check=False).stdout.strip()
        report["max_user_watches"] = int(box.run("sysctl", "-n", "fs.inotify.max_user_watches").stdout)
        for size in sizes:
            chosen = [f"{SRV}/stdlib", *(f"{SRV}/{t}" for t, (_, tier) in trees.items() if tier <= size)]
            report["sizes"].append(run_size(box, size, chosen, counts, args.queries))
    finally:
        box.stop()
    out = CACHE / f"report-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1))
    print_report(report)
    print(f"\n(the whole report: {out})")


def _mb(value: float) -> str:
    return "n/a" if value != value else f"{value:.0f}"  # NaN: no memory.peak in the sandbox's cgroup


def print_report(r: dict) -> None:
    counts = r["corpus"]
    base = r["sizes"][0] if r["sizes"] and r["sizes"][0]["size"] == 1 else None
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}; measured {r['date']}")
    total_files = sum(c[0] for c in counts.values())
    total_bytes = sum(c[1] for c in counts.values())
    print(f"corpus: {total_files} files, {total_bytes / 1e6:.1f} MB of .py source "
          f"(target >= {MIN_FILES} files and {MIN_BYTES / 1e6:.0f} MB: "
          f"{'met' if total_files >= MIN_FILES and total_bytes >= MIN_BYTES else 'NOT met'})")
    for root, (files, size) in counts.items():
        print(f"  {pathlib.Path(root).name:28s} {files:6d} files {size / 1e6:7.1f} MB")
    print(f"fs.inotify.max_user_watches in the sandbox: {r['max_user_watches']}")
    print("\n| size | projects | files | MB of source | add -> all indexed | s per 1,000 files | index + history |"
          " watches |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in r["sizes"]:
        db = sum(v for k, v in s["database_files"].items() if k.startswith(("index.sqlite3", "history.sqlite3")))
        ready = f"; ready {s['ready_s']:.1f} s" if "ready_s" in s else ""  # runs before it was timed have none
        print(f"| {s['size']}x | {s['projects']} | {s['files']} | {s['bytes'] / 1e6:.1f} | {s['index_s']:.1f} s "
              f"({s['done_by']}{ready}) | "
              f"{s['index_s'] / s['files'] * 1000:.2f} | {db / 1e6:.0f} MB "
              f"({db / s['bytes']:.1f}x) | {s['inotify_watches']} |")
    print("\npeak memory, VmHWM of the MainPID, MB: at the end (right after the index) "
          "[cgroup memory.peak, page cache included]:")
    for s in r["sizes"]:
        cells = [f"{u.removeprefix('codeanalysisd-').removesuffix('.service')} {m['vmhwm_mb']:.0f} "
                 f"({s['memory_after_index'].get(u, {}).get('vmhwm_mb', float('nan')):.0f}) "
                 f"[{_mb(m['cgroup_peak_mb'])}]"
                 for u, m in s["memory_peak"].items()]
        print(f"  {s['size']}x: " + ", ".join(cells) + "; vectorizer stopped")
    if not r.get("cgroup_controllers"):
        print("  (no controller is delegated to the sandbox's cgroup tree: memory.peak cannot be read there)")
    labels = list(r["sizes"][0]["queries"]) if r["sizes"] else []
    print("\nquery latency through the bus, p50 / p99 ms:")
    print("| query | " + " | ".join(f"{s['size']}x" for s in r["sizes"]) + " |")
    print("| --- |" + " --- |" * len(r["sizes"]))
    for label in labels:
        print(f"| {label} | " + " | ".join(f"{s['queries'][label]['p50_ms']:.2f} / {s['queries'][label]['p99_ms']:.2f}"
                                          for s in r["sizes"]) + " |")
    print("libcst verification pending (files) before / after the queries: "
          + ", ".join(f"{s['size']}x {s['syntax_pending_before_queries']} / {s['syntax_pending_after_queries']}"
                      for s in r["sizes"]))
    if all("verifying_by" in s for s in r["sizes"]):  # reports of runs before it was waited for have none
        print("the queries began once the parser units recorded their first verdicts: "
              + ", ".join(f"{s['size']}x {s['syntax_pending_after_index']} pending after the index, "
                          f"{s['verifying_wait_s']:.1f} s later ({s['verifying_by']})" for s in r["sizes"]))
    top = r["sizes"][-1] if r["sizes"] else None
    if base is None or top is None or top["size"] != 10:
        return
    print("\nacceptance at 10x:")
    ratio = top["index_s"] / base["index_s"]
    print(f"  index time {top['index_s']:.1f} s = {ratio:.2f}x the 1x time ({base['index_s']:.1f} s) for "
          f"{top['files'] / base['files']:.2f}x the files: target <= 11x: {'met' if ratio <= 11 else 'NOT met'}")
    if "ready_s" in top and "ready_s" in base:
        print(f"  every project ready {top['ready_s']:.1f} s = {top['ready_s'] / base['ready_s']:.2f}x the 1x time "
              f"({base['ready_s']:.1f} s)")
    for unit, m in top["memory_peak"].items():
        limit = 150 if unit == "codeanalysisd-db.service" else 300
        print(f"  {unit}: VmHWM {m['vmhwm_mb']:.0f} MB (right after the index: "
              f"{top['memory_after_index'].get(unit, {}).get('vmhwm_mb', float('nan')):.0f} MB): "
              f"target <= {limit} MB: "
              f"{'met' if m['vmhwm_mb'] <= limit else 'NOT met'}")
    for label, q in top["queries"].items():
        if label.startswith(("FindSymbol", "Search")):
            ok = q["p50_ms"] <= 5 and q["p99_ms"] <= 20
            print(f"  {label}: p50 {q['p50_ms']:.2f} ms, p99 {q['p99_ms']:.2f} ms: target <= 5 / <= 20 ms: "
                  f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
