"""Does search find the definition a person means? Measured through the installed suite.

    .venv/bin/python bench/retrieval.py [--sets test,dev] [--limit 10]

A sandboxed system manager with the suite installed (`make install`, offline); one project
of standard library modules and one package from the index, pinned (`retrieval_queries.py`:
its wheel is downloaded here once, into build/retrieval/, and copied into the project). Once
every chunk has its vector, each query of the sets asked is put to `codeanalysisctl search`
(full text), `semantic` and `semantic --hybrid` for the top LIMIT; a query's rank is the
first row naming its target (file and qualified name). Prints top-1, top-5 and MRR (over
the top LIMIT) per set and mode, and how many rows of the top 10 were a definition already
shown higher up.

TEST is the held-out set; DEV is the one ranking choices are made on.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
import zipfile

from retrieval_queries import DEV, PACKAGE, STDLIB_MODULES, TEST, Target
from stdlib_box import REPO, STDLIB_MOUNT, Box, boot, default_stdlib, wait_until

CORPUS, PID = "/srv/corpus", "corpus"
PACKAGES = REPO / "build" / "retrieval"
MODES = {"text": ("search",), "semantic": ("semantic",), "hybrid": ("semantic", "--hybrid")}
SETS = {"test": TEST, "dev": DEV}


def package_tree() -> pathlib.Path:
    """The pinned package's wheel from the index, unpacked (once) under build/retrieval."""
    name, version = PACKAGE.split("==")
    tree = PACKAGES / f"{name}-{version}"
    if not (tree / name).is_dir():
        PACKAGES.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "-d", str(PACKAGES), PACKAGE], check=True)
        (wheel,) = PACKAGES.glob(f"{name}-{version}-*.whl")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tree)
    return tree


def prop(box: Box, name: str):
    out = box.run("busctl", "--json=short", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                  "org.codeanalysis1.Manager", name).stdout
    return json.loads(out)["data"]


def settled(box: Box) -> bool:
    status = box.show("codeanalysisd-vectorizer.service", "StatusText")["StatusText"]
    return prop(box, "ChunksPending") == 0 and status.startswith("idle: every chunk")


def rows(box: Box, mode: str, query: str, limit: int) -> list[dict]:
    r = box.run("codeanalysisctl", "--json", *MODES[mode], query, "-p", PID, "-n", str(limit), check=False)
    if r.returncode != 0:
        # full text refuses or finds nothing for some sentences: no row, rank none
        return []
    return json.loads(r.stdout) if r.stdout.strip() else []


def rank(found: list[dict], target: Target) -> int | None:
    path, qualname = target
    return next((i for i, m in enumerate(found, 1) if m["path"] == path and m["symbol"] == qualname), None)


def repeats(found: list[dict]) -> int:
    """Rows of the top 10 that name a definition already shown above them."""
    seen: set[tuple[str, str]] = set()
    count = 0
    for m in found[:10]:
        key = (m["path"], m["symbol"])
        count += key in seen
        seen.add(key)
    return count


def figures(ranks: list[int | None]) -> dict:
    n = len(ranks)
    return {"n": n, "top1": sum(r == 1 for r in ranks) / n, "top5": sum(r is not None and r <= 5 for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r is not None) / n}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdlib", default=default_stdlib())
    parser.add_argument("--sets", default="test,dev")
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()
    tree = package_tree()
    box = boot("retrieval", args.stdlib)
    report: dict = {"package": PACKAGE, "date": time.strftime("%Y-%m-%d", time.gmtime())}
    try:
        box.systemctl("start", "codeanalysisd.target")
        src = f"/opt/codeanalysisd-src/{tree.relative_to(REPO)}"
        name = PACKAGE.split("==")[0]
        box.sh(f"mkdir -p {CORPUS} && cp -r {' '.join(f'{STDLIB_MOUNT}/{m}' for m in STDLIB_MODULES)} {CORPUS}/"
               f" && cp -r {src}/{name} {CORPUS}/")
        started = time.monotonic()
        box.run("codeanalysisctl", "add", CORPUS)
        wait_until(lambda: prop(box, "FilesIndexed") > 0, timeout=120, what="the corpus indexed")
        time.sleep(2)
        wait_until(lambda: settled(box), timeout=1800, interval=1, what="the corpus embedded")
        chunks = json.loads(box.run("codeanalysisctl", "--json", "worker", "status", "vectorizer").stdout)[0]
        report["corpus"] = {"files": prop(box, "FilesIndexed"), "vectors": chunks.get("done"),
                            "seconds_to_embedded": round(time.monotonic() - started, 1)}
        print(json.dumps(report["corpus"]), flush=True)
        for set_name in args.sets.split(","):
            queries = SETS[set_name]
            per_mode: dict = {}
            for mode in MODES:
                ranks, dup, misses = [], 0, []
                for query, target in queries.items():
                    found = rows(box, mode, query, args.limit)
                    r = rank(found, target)
                    ranks.append(r)
                    dup += repeats(found)
                    if r != 1:
                        misses.append([query, r, [m["symbol"] for m in found[:5]]])
                per_mode[mode] = {**figures(ranks), "repeated_rows_in_top10": dup, "misses": misses}
                print(set_name, mode, json.dumps({k: v for k, v in per_mode[mode].items() if k != "misses"}),
                      flush=True)
            report[set_name] = per_mode
    finally:
        box.stop()
    out = PACKAGES / f"report-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"\n## retrieval ({report['date']}, {PACKAGE} and {len(STDLIB_MODULES)} stdlib modules; "
          f"{report['corpus']}; full report {out.relative_to(REPO)})")
    print("| set | mode | top-1 | top-5 | MRR | repeated rows in top 10 |\n|---|---|---|---|---|---|")
    for set_name in args.sets.split(","):
        for mode, f in report[set_name].items():
            print(f"| {set_name} ({f['n']}) | {mode} | {f['top1']:.0%} | {f['top5']:.0%} | {f['mrr']:.2f} | "
                  f"{f['repeated_rows_in_top10']} |")


if __name__ == "__main__":
    main()
