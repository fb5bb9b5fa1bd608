"""A saved file's way to Search through the installed suite, leg by leg.

The standard library is indexed in the sandbox, as `bench/index_stdlib.py` does; then the
parser units and the vectorizer are stopped (the path alone, nothing beside it), the watcher
and the DB owner are started again with `--debug` (a drop-in), and each given file is saved
--rounds times, in turn, a definition appended; the probe then asks Search and FindSymbol
until both find it (`bench/index_probe.py saves`), in three passes: every millisecond, every
10 ms, and only after each change the owner announces. Each save is then matched with the
two debug lines the units wrote for it, and its time to Search is cut into:

  - until the watcher began: the inotify event, the watcher's settle (none for a file the
    index holds, closed after writing), its loop;
  - compare: the path compared with the index, the file read and hashed;
  - extract: its facts extracted and encoded for the bus (on a thread); for a save shown
    first (ShowFiles, then the rest of its facts), the parse and the outline alone;
  - to the owner and back: the request's way through the bus (the broker, the owner's
    decoding of the message) and the reply's, less what the owner's handler took;
  - waiting for the write thread, decoding and writing (the transaction, commit included),
    and back on the owner's event loop: from the owner's own debug line (of the showing,
    for a save shown first: what Search finds);
  - the rest, until Search found it: the probe's next question and the Search itself (the
    owner announces a change before it replies, so this may be less than nothing).

`ast.parse` of each file, in the sandbox, is the reference beside it. Medians per file.

  .venv/bin/python bench/save_path.py [--stdlib DIR] [--rounds 10] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time

from stdlib_box import boot, copy_stdlib, default_stdlib, wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/index_probe.py"
DEFAULT_FILES = ("_pydecimal.py", "_pyio.py", "datetime.py", "argparse.py", "difflib.py", "json/encoder.py")
EXTRACT = "extract (shown first: parse and outline)"
LEGS = ("until the watcher began", "compare", EXTRACT, "to the owner and back",
        "waiting for the write thread",
        "decoding and writing", "back on the owner's loop", "the rest, until found")

WATCHER_LINE = re.compile(r"indexed 1 file\(s\) of \S+ \(\d+ byte\(s\)\) in ([\d.]+) ms: compared in ([\d.]+), "
                          r"extracted in ([\d.]+), the owner's answers ([\d.]+) ms"
                          r"(?:; shown first, after ([\d.]+) ms parsing and outlining, "
                          r"the owner's answer ([\d.]+) ms)?")
OWNER_LINE = re.compile(r"indexed 1 file\(s\) of \S+ in ([\d.]+) ms: ([\d.]+) waiting for the write thread, "
                        r"([\d.]+) decoding and writing, ([\d.]+) back on the event loop")
# A save shown first (ShowFiles) is found once shown: its owner's line for that write.
SHOWN_LINE = re.compile(r"shown 1 file\(s\) of \S+ in ([\d.]+) ms: ([\d.]+) waiting for the write thread, "
                        r"([\d.]+) decoding and writing, ([\d.]+) back on the event loop")
# How the probe asks whether a save is visible yet: the harshest (its questions share the two
# cores with the units answering them), a tenth as often, and only after the owner announces
# a change (what a client waiting for the index does).
PASSES = (("every millisecond", ("--gap", "0.001")), ("every 10 ms", ("--gap", "0.01")),
          ("after each change announced", ("--on-change",)))
DEBUG_DROP_IN = "[Service]\nExecStart=\nExecStart=/usr/lib/codeanalysisd/bin/{unit} --system --debug\n"

AST_PARSE = r"""
import ast, json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
out = {}
for path in sys.argv[1:]:
    source = open(path, "rb").read()
    times = []
    for _ in range(5):
        t0 = time.perf_counter(); ast.parse(source); times.append(time.perf_counter() - t0)
    out[path] = statistics.median(times) * 1000
print(json.dumps(out))
"""


def debug_lines(box, unit: str, since: float, pattern: re.Pattern[str]) -> list[tuple[float, str, tuple[float, ...]]]:
    """(journal time, path, the figures) of each of ``unit``'s lines matching ``pattern``."""
    out = box.run("journalctl", "-u", unit, "-o", "json", "--no-pager", "-p", "debug",
                  f"--since=@{since:.6f}", timeout=120).stdout
    lines = []
    for raw in out.splitlines():
        entry = json.loads(raw)
        found = pattern.search(entry.get("MESSAGE", "") if isinstance(entry.get("MESSAGE"), str) else "")
        if found:
            lines.append((int(entry["__REALTIME_TIMESTAMP"]) / 1e6, entry.get("CODEANALYSIS_PATH", ""),
                          tuple(float(g) for g in found.groups() if g is not None)))
    return lines


def first_after(lines, path: str, after: float):
    return next((line for line in lines if line[1] == path and line[0] >= after), None)


def legs(save: dict, watcher, owner, shown) -> dict[str, float] | None:
    """One save's time to Search cut into LEGS (ms), from its debug lines; None if one is
    missing. A save shown first (ShowFiles) is cut at that write, which is what Search finds:
    its extract leg is then the parse and the outline, and the owner's legs are the showing's."""
    w = first_after(watcher, save["path"], save["saved_at"])
    if w is None:
        return None
    w_at, _, (w_total, compared, extracted, answers, *first) = w
    o = first_after(shown if first else owner, save["path"], save["saved_at"])
    if o is None:
        return None
    if first:
        extracted, answers = first
    _, _, (o_total, waiting, writing, back) = o
    began = (w_at - save["saved_at"]) * 1000 - w_total
    return {"until the watcher began": began, "compare": compared, EXTRACT: extracted,
            "to the owner and back": answers - o_total, "waiting for the write thread": waiting,
            "decoding and writing": writing, "back on the owner's loop": back,
            # what the watcher spent besides these (its loop, the reply's handling) is in here too
            "the rest, until found": save["search_ms"] - began - compared - extracted - answers}

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    args = parser.parse_args()
    box = boot("savepath", args.stdlib or default_stdlib())
    try:
        root = copy_stdlib(box)
        box.systemctl("start", "codeanalysisd.target")
        box.run("codeanalysisctl", "add", root, timeout=900)  # waits until every file is indexed
        box.systemctl("stop", "codeanalysisd-parser@*.service", "codeanalysisd-vectorizer.service",
                      "codeanalysisd-repair.service")
        for unit in ("codeanalysisd-watcher", "codeanalysisd-db"):
            box.write_file(f"/etc/systemd/system/{unit}.service.d/debug.conf", DEBUG_DROP_IN.format(unit=unit))
        box.systemctl("daemon-reload")
        box.systemctl("restart", "codeanalysisd-db.service", "codeanalysisd-watcher.service")
        wait_until(lambda: box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                                   "org.codeanalysis1.Manager", "FilesIndexed", check=False).returncode == 0,
                   timeout=120, what="the suite answering again")
        time.sleep(5)  # the watcher's reconcile scan after its restart: nothing to send, but not the path measured
        passes = []
        for title, asking in PASSES:
            since = float(box.run("date", "+%s.%N").stdout)
            saves = json.loads(box.run(PY, PROBE, "saves", root, "stdlib", *args.files, "--rounds", str(args.rounds),
                                       *asking, timeout=1800).stdout)
            passes.append((title, saves, debug_lines(box, "codeanalysisd-watcher.service", since, WATCHER_LINE),
                           debug_lines(box, "codeanalysisd-db.service", since, OWNER_LINE),
                           debug_lines(box, "codeanalysisd-db.service", since, SHOWN_LINE)))
        parse_ms = json.loads(box.run(PY, "-c", AST_PARSE, *(f"{root}/{f}" for f in args.files)).stdout)
    finally:
        box.stop()
    for title, saves, watcher, owner, shown in passes:
        print(f"\n{len(saves)} saves ({args.rounds} of each file), Search and FindSymbol asked {title}; parser units, "
              "vectorizer and repair worker stopped; medians, ms")
        print("| file | size | `ast.parse` | save → Search | its slowest | " + " | ".join(LEGS) + " |")
        print("| --- " * (len(LEGS) + 5) + "|")
        unmatched = 0
        for rel in args.files:
            rows = [s for s in saves if s["path"] == rel]
            cut = [c for s in rows if (c := legs(s, watcher, owner, shown)) is not None]
            unmatched += len(rows) - len(cut)
            if not cut:
                continue
            median = {leg: statistics.median(c[leg] for c in cut) for leg in LEGS}
            print(f"| {rel} | {rows[0]['bytes'] / 1000:.0f} KB | {parse_ms[f'{root}/{rel}']:.1f} | "
                  f"{statistics.median(s['search_ms'] for s in rows):.1f} | {max(s['search_ms'] for s in rows):.1f} | "
                  + " | ".join(f"{median[leg]:.1f}" for leg in LEGS) + " |")
        if unmatched == len(saves):
            raise SystemExit("no save matched the units' debug lines: did their wording change?")
        if unmatched:
            print(f"{unmatched} save(s) without both debug lines left out", file=sys.stderr)


if __name__ == "__main__":
    main()
