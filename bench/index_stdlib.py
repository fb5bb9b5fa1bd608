"""Benchmark: the standard library indexed through the real suite, with its references.

Boots the sandboxed system manager the tests use, installs the suite with `make install`,
copies the standard library of `python3` on PATH (default) into the sandbox, and measures
in one run:
  - raw `ast.parse` and raw `libcst.parse_module` of exactly the files the suite indexes
    (one process, one core: the references), and universal-ctags over the same files;
  - AddProject -> every file indexed (symbols + full text), through the real units, and the
    CPU time each unit used meanwhile (from its cgroup); then -> the project ready (the rest
    of every file's facts written: names, imports, chunks to embed);
  - then every file's concrete syntax verified by the parser units (one per core); these
    stages timed from inside the sandbox over one bus connection (index_probe.py stages),
    so that the timing takes next to nothing of the two cores it times;
  - save -> visible to Search and FindSymbol, over N edits (p50/p99): with every unit
    running, then without the parser units, then without the vectorizer too, asked every
    millisecond, every 10 ms, and only after each change the owner announces;
  - query latency through the system bus (p50/p99), with Peer.Ping to the same owner;
  - peak memory (VmHWM) of each unit.

Run as root after `make wheels`:
  .venv/bin/python bench/index_stdlib.py [--stdlib DIR] [--edits 200] [--no-libcst] [--vectorizer-stopped]
                                         [--until-embedded]

--vectorizer-stopped: the vectorizer is stopped from before AddProject until every file is
verified (started again for the edits), so that nothing shares the cores with the parser
units: what verification takes through the suite with no embedding beside it.
--until-embedded: after verification, waits until every chunk has a vector (ChunksPending 0)
and reports when the first vectors and the last were stored: what embedding giving way to
verification costs it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import active_parser_units, settled_parser_units  # noqa: E402
from sandbox.box import Box  # noqa: E402
from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/index_probe.py"
VECTORIZER = "codeanalysisd-vectorizer.service"
UNITS = ("codeanalysisd-db.service", "codeanalysisd-watcher.service", VECTORIZER, "codeanalysisd-repair.service")



def peak_rss_mb(box: Box, unit: str) -> float:
    pid = box.show(unit, "MainPID")["MainPID"]
    if pid == "0":
        return float("nan")  # not running (--vectorizer-stopped)
    for line in box.run("cat", f"/proc/{pid}/status").stdout.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--no-libcst", action="store_true")
    parser.add_argument("--vectorizer-stopped", action="store_true")
    parser.add_argument("--until-embedded", action="store_true")
    args = parser.parse_args()
    if args.vectorizer_stopped and args.until_embedded:
        parser.error("--until-embedded waits for the vectorizer, which --vectorizer-stopped stops")
    stdlib = args.stdlib or default_stdlib()
    report: dict[str, object] = {"stdlib": stdlib}
    box = boot("index", stdlib)
    try:
        copy_stdlib(box)
        ref = json.loads(box.run(PY, PROBE, "parse", "/srv/stdlib", *([] if args.no_libcst else ["--libcst"]),
                                 timeout=900).stdout)
        report["reference"] = ref
        box.systemctl("start", "codeanalysisd.target")
        if args.vectorizer_stopped:
            box.systemctl("stop", VECTORIZER)
            report["vectorizer_stopped"] = True
        # Timed from inside the sandbox over one bus connection (index_probe.py stages): the
        # host asking would take a process per question from the cores being measured.
        units = [*UNITS, *settled_parser_units(box)]
        report.update(json.loads(box.run(
            PY, PROBE, "stages", "/srv/stdlib", "stdlib", "--files", str(ref["files"]), "--units", *units,
            *(["--until-embedded"] if args.until_embedded else []), timeout=4800).stdout))
        if args.vectorizer_stopped:
            box.systemctl("start", VECTORIZER)
        parsers = active_parser_units(box)
        report["parser_units"] = parsers
        report["rss_parsers_mb"] = {u: peak_rss_mb(box, u) for u in parsers}
        report["syntax_problems"] = len(json.loads(box.run("codeanalysisctl", "--json", "problems").stdout))
        report["latency"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n", str(args.edits),
                                               timeout=900).stdout)
        # The same with every unit running, asked only after each change the owner announces.
        report["latency_on_change"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n",
                                                         str(args.edits), "--on-change", timeout=900).stdout)
        # The same edits again with the parser units stopped: what verification beside the
        # edits costs them (the vectorizer embeds in both).
        box.systemctl("stop", "codeanalysisd-parser@*.service")
        report["latency_without_parsers"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n",
                                                               str(args.edits), timeout=900).stdout)
        # And with the vectorizer stopped too: what embedding beside the edits costs them.
        vectorizer_peak = peak_rss_mb(box, "codeanalysisd-vectorizer.service")
        box.systemctl("stop", "codeanalysisd-vectorizer.service")
        report["latency_quiet"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n",
                                                     str(args.edits), timeout=900).stdout)
        # And asked every 10 ms rather than every millisecond: what asking (two calls each time,
        # on two cores shared with the watcher and the owner) costs the saves it times.
        report["latency_quiet_10ms"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n",
                                                          str(args.edits), "--gap", "0.01", timeout=900).stdout)
        # And asked only after each change the owner announces: what a client waiting for
        # the index to change sees, with no question asked in vain.
        report["latency_quiet_on_change"] = json.loads(box.run(PY, PROBE, "latency", "/srv/stdlib", "stdlib", "-n",
                                                               str(args.edits), "--on-change", timeout=900).stdout)
        report["queries"] = json.loads(box.run(PY, PROBE, "queries", "-n", str(args.queries), timeout=900).stdout)
        # the same queries from an unprivileged caller who can read every file: each row is
        # checked against what they could read on disk (the root caller's are not)
        box.sh("id benchuser >/dev/null 2>&1 || useradd --no-create-home --groups codeanalysis-users benchuser")
        report["queries_as_user"] = json.loads(box.run(PY, PROBE, "queries", "-n", str(args.queries), timeout=900,
                                                       user="benchuser", groups="codeanalysis-users").stdout)
        t0 = time.monotonic()
        box.run("grep", "-rl", "--include=*.py", "unified_diff", "/srv/stdlib")
        report["grep_unified_diff_s"] = time.monotonic() - t0
        report["rss_peak_mb"] = {u: vectorizer_peak if u == "codeanalysisd-vectorizer.service" else peak_rss_mb(box, u)
                                 for u in UNITS}
    finally:
        box.stop()
    (REPO / "build").mkdir(exist_ok=True)
    (REPO / "build" / "index_stdlib.json").write_text(json.dumps(report, indent=1))  # the run's raw figures
    print_report(report)


def print_report(r: dict) -> None:
    ref = r["reference"]
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, sandbox Python 3.11 (Debian)")
    print(f"corpus: {r['stdlib']}: {ref['files']} files, {ref['bytes'] / 1e6:.1f} MB (the suite's membership rule)")
    print(f"reference, one core: ast.parse {ref['ast_parse_s']:.2f} s ({ref['ast_failed']} failed)", end="")
    if "libcst_parse_s" in ref:
        print(f"; libcst.parse_module {ref['libcst_parse_s']:.2f} s ({ref['libcst_failed']} failed)", end="")
    print()
    print(f"AddProject -> all {r['files_indexed']} files indexed (symbols + full text): {r['add_to_indexed_s']:.2f} s;"
          f" database {r['db_bytes'] / 1e6:.0f} MB")
    if "ctags_s" in ref:
        print(f"reference: {ref['ctags']} over the same files: {ref['ctags_s']:.2f} s ({ref['ctags_tags']} tags)")
    else:
        print(f"reference: ctags {ref.get('ctags')}")
    parsers = r.get("parser_units", [])
    print(f"AddProject -> every file's libcst tree verified: {r['add_to_syntax_verified_s']:.1f} s; after the index, "
          f"by {len(parsers)} parser unit(s): {r.get('syntax_after_index_s', float('nan')):.1f} s"
          + (f" = {r['syntax_after_index_s'] / ref['libcst_parse_s']:.2f} x libcst alone"
             if "libcst_parse_s" in ref and "syntax_after_index_s" in r else "")
          + f"; files listed by `problems`: {r['syntax_problems']}"
          + (f"; the first verdicts {r['verification_began_after_index_s']:.2f} s after the index"
             if "verification_began_after_index_s" in r else "")
          + ("; the vectorizer stopped until then" if r.get("vectorizer_stopped") else ""))
    if "embedded_after_index_s" in r:
        began, ended = r["embedding_began_after_index_s"], r["embedded_after_index_s"]
        print(f"after the index, {r['chunks_at_ready']} chunk(s) to embed: the first vectors stored {began:.1f} s "
              f"after it, every chunk embedded {ended:.1f} s after it ({r['chunks_at_ready'] / (ended - began):.0f} "
              "chunks/s from the first)")
    print(f"AddProject -> all files indexed = {r['add_to_indexed_s'] / ref['ast_parse_s']:.2f} x ast.parse alone")
    if "add_to_complete_s" in r:
        print(f"AddProject -> every file's facts written (names, imports, chunks; the project ready): "
              f"{r['add_to_complete_s']:.2f} s = {r['add_to_complete_s'] / ref['ast_parse_s']:.2f} x ast.parse alone")
    for phase, took, key in (("indexing", r.get("add_to_indexed_s"), "cpu_during_index_s"),
                             ("indexing to ready", r.get("add_to_complete_s"), "cpu_to_complete_s"),
                             ("verifying after the index", r.get("syntax_after_index_s"), "cpu_during_verification_s")):
        if key in r and took is not None:
            cpu = r[key]
            print(f"CPU used while {phase} ({took:.2f} s on {os.cpu_count()} cores = "
                  f"{took * (os.cpu_count() or 1):.2f} CPU-s): " + ", ".join(
                      f"{unit.removeprefix('codeanalysisd-').removesuffix('.service')} {seconds:.2f} s"
                      for unit, seconds in cpu.items()) + f"; all {sum(cpu.values()):.2f} s")
    if "probe_cpu_s" in r:
        print(f"CPU the timing itself used (one bus connection in the sandbox, asking every 50 ms), "
              f"from AddProject to the last figure above: {r['probe_cpu_s']:.2f} s")
    for title, runs in (("", r["latency"]), (", asked after each change announced", r.get("latency_on_change", {})),
                        (" with the parser units stopped", r.get("latency_without_parsers", {})),
                        (" with the parser units and the vectorizer stopped", r.get("latency_quiet", {})),
                        (" with the parser units and the vectorizer stopped, asked every 10 ms",
                         r.get("latency_quiet_10ms", {})),
                        (" with the parser units and the vectorizer stopped, asked after each change announced",
                         r.get("latency_quiet_on_change", {}))):
        for key, figures in runs.items():
            if key.startswith("slowest_"):
                print(f"  the slowest edits{title}: " + "; ".join(
                    f"{e['path']} ({e['bytes'] / 1000:.0f} KB) {e['ms']:.0f} ms, "
                    f"its ast.parse {e['ast_parse_ms']:.0f} ms" for e in figures))
                continue
            print(f"{key} over {figures['n']} edits{title}: p50 {figures['p50_ms']:.1f} ms, "
                  f"p99 {figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms")
    for label, figures in r["queries"].items():
        print(f"{label:42s} p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms")
    for label, figures in r.get("queries_as_user", {}).items():
        print(f"{label + ', as a user':42s} p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms")
    print(f"reference: grep -rl unified_diff over the tree: {r['grep_unified_diff_s'] * 1000:.0f} ms")
    for unit in UNITS:
        print(f"peak RSS {unit}: {r['rss_peak_mb'][unit]:.0f} MB (after the initial index: "
              f"{r['rss_after_index_mb'][unit]:.0f} MB)")
    for unit, mb in r.get("rss_parsers_mb", {}).items():
        print(f"peak RSS {unit}, when every file was verified: {mb:.0f} MB")


if __name__ == "__main__":
    main()
