"""Benchmark: history and repair over the standard library, through the real suite.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
copies the standard library into the sandbox, indexes it, and measures in one run:
  - the reference: reading and hashing every project file in one process (the least any
    check of disk against the database has to do);
  - `Repair --dry-run` of the clean tree (median of several runs);
  - a real `repair --restore-missing` after deleting and changing files with the watcher
    stopped (stop/start of the workers included), and that every file came back intact;
  - the repair worker converging on a tree made stale while it runs, against its bound
    PollInterval x ceil(files / BatchSize);
  - the version store's size next to the index's.

Run as root after `make wheels`:
  .venv/bin/python bench/repair_stdlib.py [--stdlib DIR] [--damage 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sandbox.box import Box, wait_until  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
CHECK = "/opt/codeanalysisd-src/tests/support/dbcheck.py"
ROOT, PID = "/srv/stdlib", "stdlib"
HASH_TREE = """
import hashlib, json, os, sys, time
from codeanalysisd.index.membership import ProjectFiles
t = time.perf_counter()
n = 0
for rel in ProjectFiles(sys.argv[1]).walk():
    with open(os.path.join(sys.argv[1], rel), "rb") as f:
        hashlib.sha256(f.read()).digest()
    n += 1
print(json.dumps({"files": n, "seconds": time.perf_counter() - t}))
"""



def prop(box: Box, name: str) -> int:
    out = box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1", "org.codeanalysis1.Manager",
                  name).stdout
    return int(out.split()[1])


def disk(box: Box) -> dict[str, str]:
    return json.loads(box.run(PY, CHECK, "disk", ROOT).stdout)


def live(box: Box) -> dict[str, str]:
    files = json.loads(box.run(PY, CHECK, "files", PID).stdout)["files"]
    return {p: f["sha256"] for p, f in files.items() if f["state"] == "live"}


def repair(box: Box, *flags: str) -> tuple[dict, float]:
    t0 = time.monotonic()
    out = json.loads(box.run("codeanalysisctl", "--json", "repair", PID, *flags, timeout=900).stdout)
    return out, time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--damage", type=int, default=100, help="files deleted, and files changed")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    stdlib = args.stdlib or default_stdlib()
    r: dict[str, object] = {"stdlib": stdlib}
    box = boot("repair", stdlib)
    try:
        copy_stdlib(box, ROOT)
        box.sh(f"find {ROOT} -name __pycache__ -prune -exec rm -rf {{}} +")
        hashes = [json.loads(box.run(PY, "-c", HASH_TREE, ROOT).stdout) for _ in range(args.runs)]
        r["files"] = hashes[0]["files"]
        r["hash_tree_s"] = statistics.median(h["seconds"] for h in hashes)
        box.systemctl("start", "codeanalysisd.target")
        t0 = time.monotonic()
        box.run("codeanalysisctl", "add", "--no-block", ROOT)
        wait_until(lambda: prop(box, "FilesIndexed") >= r["files"], timeout=600, interval=0.05, what="indexed")
        r["add_to_indexed_s"] = time.monotonic() - t0
        wait_until(lambda: live(box) == disk(box), timeout=120, interval=0.5, what="index equal to disk")
        r["db_bytes"], r["history_bytes"] = prop(box, "DatabaseBytes"), prop(box, "HistoryBytes")

        dry = [repair(box, "--dry-run") for _ in range(args.runs)]
        assert all(not d["actions"] for d, _ in dry), "a clean tree needs no repair"
        r["dry_run_owner_s"] = statistics.median(d["seconds"] for d, _ in dry)
        r["dry_run_cli_s"] = statistics.median(t for _, t in dry)

        files = sorted(disk(box))
        step = max(1, len(files) // (2 * args.damage))
        picked = files[::step][:2 * args.damage]
        deleted, changed = picked[0::2], picked[1::2]
        before = disk(box)
        box.systemctl("stop", "codeanalysisd-watcher.service")
        box.run("rm", *[f"{ROOT}/{p}" for p in deleted])
        box.sh(" && ".join(f"echo '# changed' >> {ROOT}/{p}" for p in changed))
        done, wall = repair(box, "--restore-missing")
        after = disk(box)
        r["repair"] = {"actions": len(done["actions"]), "owner_s": done["seconds"], "cli_s": wall,
                       "restored_identical": sum(after.get(p) == before[p] for p in deleted),
                       "deleted": len(deleted), "changed": len(changed), "failed": done["failed"],
                       "restarted": done["restarted"]}
        box.systemctl("start", "codeanalysisd-watcher.service")
        wait_until(lambda: live(box) == disk(box), timeout=120, interval=0.5, what="index equal to disk")

        box.write_file("/etc/codeanalysisd/codeanalysisd.conf.d/50-bench.conf",
                       f"[Repair]\nPollInterval={args.interval:g}s\nBatchSize={args.batch}\n")
        box.systemctl("stop", "codeanalysisd-watcher.service")
        box.systemctl("restart", "codeanalysisd-repair.service")
        box.sh(" && ".join(f"echo '# stale' >> {ROOT}/{p}" for p in changed[: args.damage // 2]))
        t0 = time.monotonic()
        wait_until(lambda: live(box) == disk(box), timeout=900, interval=0.2, what="the repair worker")
        r["worker"] = {"seconds": time.monotonic() - t0, "stale": args.damage // 2, "batch": args.batch,
                       "interval": args.interval,
                       "bound_s": args.interval * math.ceil(len(files) / args.batch)}
        r["history_bytes_after"] = prop(box, "HistoryBytes")
    finally:
        box.stop()
    print_report(r)


def print_report(r: dict) -> None:
    print(f"corpus: {r['stdlib']}: {r['files']} files (the suite's membership rule)")
    print(f"reference: read + sha256 of every file, one process: {r['hash_tree_s']:.2f} s")
    print(f"AddProject -> all files indexed (with the history): {r['add_to_indexed_s']:.2f} s; "
          f"index {r['db_bytes'] / 1e6:.0f} MB, history {r['history_bytes'] / 1e6:.1f} MB")
    print(f"Repair --dry-run, clean tree: {r['dry_run_owner_s']:.2f} s in the owner, "
          f"{r['dry_run_cli_s']:.2f} s through the CLI (median)")
    rep = r["repair"]
    print(f"repair --restore-missing after {rep['deleted']} deleted + {rep['changed']} changed: {rep['actions']} "
          f"actions, {rep['owner_s']:.2f} s in the owner (workers stopped and started), {rep['cli_s']:.2f} s through "
          f"the CLI; restored byte-identical {rep['restored_identical']}/{rep['deleted']}; restarted "
          f"{', '.join(rep['restarted'])}; failed: {rep['failed'] or 'nothing'}")
    w = r["worker"]
    print(f"repair worker, {w['stale']} files made stale: converged in {w['seconds']:.1f} s "
          f"(BatchSize={w['batch']}, PollInterval={w['interval']:g}s: bound {w['bound_s']:.0f} s)")
    print(f"history after: {r['history_bytes_after'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
