"""Semantic search, measured through the real units in a sandboxed system manager.

    .venv/bin/python bench/semantic.py [--packages email,json,...] [--queries 200]

1. Throughput: part of the standard library is added as a project and the vectorizer unit
   embeds it; chunks/s from its own counter, beside the model alone on the same chunk texts
   in the same box (the reference), and the vectorizer's peak memory.
2. SemanticSearch latency at ~10k and ~100k vectors: synthetic projects of small distinct
   functions are indexed for real; their vectors are random unit vectors written while the
   suite is stopped (embedding 100k chunks would take ten minutes and measure nothing new).
   Beside it, in the same box: numpy brute force over the same matrix, sqlite-vec's vec0
   scan, and the model on one query alone.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from stdlib_box import STDLIB_MOUNT, Box, boot, default_stdlib, wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/semantic_probe.py"
VECTORIZER = "codeanalysisd-vectorizer.service"
OWNER = "codeanalysisd-db.service"


def probe(box: Box, *args: str, timeout: float = 900) -> dict:
    return json.loads(box.run(PY, PROBE, *args, timeout=timeout).stdout)


def prop(box: Box, name: str):
    out = box.run("busctl", "--json=short", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                  "org.codeanalysis1.Manager", name).stdout
    return json.loads(out)["data"]


def vectorizer(box: Box) -> dict:
    return json.loads(box.run("codeanalysisctl", "--json", "worker", "status", "vectorizer").stdout)[0]


def status(box: Box) -> str:
    # systemctl, not codeanalysisctl: polling must not take the CPU the vectorizer is measured on
    return box.show(VECTORIZER, "StatusText")["StatusText"]


def settled(box: Box) -> bool:
    return prop(box, "ChunksPending") == 0 and status(box).startswith("idle: every chunk")


def memory(box: Box, unit: str) -> dict[str, float]:
    pid = box.show(unit, "MainPID")["MainPID"]
    status = box.run("cat", f"/proc/{pid}/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start(box: Box) -> None:
    box.systemctl("start", "codeanalysisd.target")
    wait_until(lambda: box.show(VECTORIZER, "SubState")["SubState"] == "running", timeout=30, what="the suite")


def quiet(box: Box) -> bool:
    """The watcher has nothing left to do (indexing, libcst verification): the CPU is free."""
    return prop(box, "SyntaxPending") == 0 and json.loads(box.run(
        "codeanalysisctl", "--json", "worker", "status", "watcher").stdout)[0]["pending"] == 0


def embed_project(box: Box, root: str, packages: list[str], alone: bool) -> dict:
    """Embed a project through the unit; ``alone``: only once the watcher is done with it."""
    box.sh(f"mkdir -p {root} && " + " && ".join(f"cp -r {STDLIB_MOUNT}/{p} {root}/" for p in packages))
    if alone:
        box.systemctl("stop", VECTORIZER)
    box.run("codeanalysisctl", "add", "--no-block", root)
    if alone:
        time.sleep(2)
        wait_until(lambda: quiet(box), timeout=600, interval=0.5, what="the watcher done with the project")
        box.systemctl("start", VECTORIZER)
    samples: list[tuple[float, int]] = []  # (seconds, chunks done) from the unit's STATUS=
    started = time.monotonic()

    def sample() -> bool:
        text = status(box)
        if found := re.search(r"(\d+) done", text):
            samples.append((time.monotonic() - started, int(found[1])))
        return text.startswith("idle: every chunk") and bool(samples)

    wait_until(sample, timeout=1800, interval=0.5, what="the project embedded")
    settled_at = time.monotonic() - started
    first_t, first_done = samples[0]
    last_t, last_done = samples[-1]
    # from the first status line (one batch in) to the last one seen before idle
    rate = (last_done - first_done) / (last_t - first_t) if last_t > first_t else float("nan")
    return {"chunks": vectorizer(box)["done"], "seconds_to_settled": settled_at, "unit_chunks_per_s": rate,
            "vectorizer_mb": memory(box, VECTORIZER)}


def throughput(box: Box, packages: list[str], during: list[str]) -> dict:
    alone = embed_project(box, "/srv/real", packages, alone=True)
    alone["reference"] = probe(box, "embed-reference", "/srv/real")
    box.systemctl("restart", VECTORIZER)  # its done counter starts again from 0
    wait_until(lambda: settled(box), timeout=60, what="the vectorizer back")
    return {"alone": alone, "during_indexing": embed_project(box, "/srv/real2", during, alone=False)}


def synthetic(box: Box, root: str, files: int, first: int, model: str) -> dict:
    box.systemctl("stop", VECTORIZER)
    probe(box, "write-project", root, str(files), str(first))
    box.run("codeanalysisctl", "add", "--no-block", root)
    # with the vectorizer stopped, every chunk of the project is pending once it is indexed
    wait_until(lambda: prop(box, "ChunksPending") >= files * 100, timeout=600, interval=0.5,
               what=f"{root} indexed")
    box.systemctl("stop", "codeanalysisd.target")
    injected = probe(box, "inject", model)
    started = time.monotonic()
    start(box)
    wait_until(lambda: settled(box), timeout=600, interval=0.25, what="the vectorizer to load every vector")
    loaded = time.monotonic() - started
    # measured with the CPU free: the watcher's libcst verification of new files takes minutes
    wait_until(lambda: quiet(box), timeout=1800, interval=1, what="the watcher done with the project")
    return {"injected": injected, "load_seconds": loaded}


def latency(box: Box, n: int, project: str = "") -> dict:
    ms = probe(box, "latency", str(n), project)["ms"]
    return {"p50": statistics.median(ms), "p99": pct(ms, 99), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdlib", default=default_stdlib())
    parser.add_argument("--packages", default="email,json,asyncio,concurrent")
    parser.add_argument("--during", default="xml,http,logging,urllib", help="packages embedded while indexed")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    box = boot("semantic", args.stdlib)
    report: dict = {}
    try:
        start(box)
        wait_until(lambda: prop(box, "EmbeddingModels"), timeout=30, what="the model announced")
        model = prop(box, "EmbeddingModels")[0][0]
        report["throughput"] = throughput(box, args.packages.split(","), args.during.split(","))
        print(json.dumps(report["throughput"]), flush=True)
        for label, root, files, first in (("10k", "/srv/syn-a", 100, 0), ("100k", "/srv/syn-b", 900, 100)):
            loaded = synthetic(box, root, files, first, model)
            ref = probe(box, "reference", str(args.queries))
            point = {
                "vectors": ref["vectors"], "load": loaded,
                "semantic_all": latency(box, args.queries),
                "semantic_in_10k_project": latency(box, args.queries, "syn-a"),
                "semantic_in_2k_project": latency(box, args.queries, "real"),
                "numpy_p50": statistics.median(ref["numpy_ms"]), "numpy_p99": pct(ref["numpy_ms"], 99),
                "vec0_p50": statistics.median(ref["vec0_ms"]),
                "embed_query_p50": statistics.median(ref["embed_query_ms"]),
                "vectorizer_mb": memory(box, VECTORIZER), "owner_mb": memory(box, OWNER),
            }
            report[label] = point
            print(label, json.dumps(point), flush=True)
    finally:
        box.stop()
    t, d = report["throughput"]["alone"], report["throughput"]["during_indexing"]
    print("\n## semantic search")
    print(f"vectorizer unit: {t['chunks']} chunks of {args.packages}, {t['unit_chunks_per_s']:.1f} chunks/s; "
          f"model alone on the same {t['reference']['chunks']} texts: {t['reference']['chunks_per_s']:.1f} chunks/s; "
          f"vectorizer peak RSS {t['vectorizer_mb']['VmHWM']:.0f} MB")
    print(f"while the watcher indexes and verifies {args.during}: {d['chunks']} chunks, "
          f"{d['unit_chunks_per_s']:.1f} chunks/s, all embedded {d['seconds_to_settled']:.1f} s after AddProject")
    for label in ("10k", "100k"):
        p = report[label]
        print(f"{label} ({p['vectors']} vectors): SemanticSearch p50 {p['semantic_all']['p50']:.2f} ms "
              f"p99 {p['semantic_all']['p99']:.2f} ms; in a 10k project p50 {p['semantic_in_10k_project']['p50']:.2f}"
              f" ms p99 {p['semantic_in_10k_project']['p99']:.2f} ms; in a 2k project p50 "
              f"{p['semantic_in_2k_project']['p50']:.2f} ms p99 {p['semantic_in_2k_project']['p99']:.2f} ms"
              f" | numpy brute force p50 {p['numpy_p50']:.2f} ms"
              f" p99 {p['numpy_p99']:.2f} ms, vec0 scan p50 {p['vec0_p50']:.1f} ms, model on the query p50 "
              f"{p['embed_query_p50']:.2f} ms | vectors loaded in {p['load']['load_seconds']:.1f} s | vectorizer RSS "
              f"{p['vectorizer_mb']['VmRSS']:.0f} MB (peak {p['vectorizer_mb']['VmHWM']:.0f}), owner RSS "
              f"{p['owner_mb']['VmRSS']:.0f} MB")


if __name__ == "__main__":
    main()
