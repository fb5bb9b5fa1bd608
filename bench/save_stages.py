"""A saved file's way into the index, stage by stage, in one process, beside its `ast.parse`.

No sandbox, no units: the suite's own code, one core. The given files of the standard library
(by default the four slowest saves of bench/index_stdlib.py) are indexed into a fresh index;
then each is saved --rounds times with a function appended, and each stage is timed as the
units run it: the watcher's extraction (`index/reading.indexed_facts`: decode, parse, facts),
its encoding for the bus (`wire.encode`), the owner's decoding (`wire.decode`) and its write
(`Writes.files.index`, one file, one transaction, commit included). `ast.parse` of the same
bytes is timed beside each. What this leaves out (inotify, the settle, the read, the bus
itself, the owner's queue) is the rest of what bench/index_stdlib.py measures end to end.

  .venv/bin/python bench/save_stages.py [--stdlib DIR] [--rounds 5] [FILE ...]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import pathlib
import statistics
import sys
import tempfile
import time
import warnings

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import default_stdlib  # noqa: E402

from codeanalysisd.db.store import Store  # noqa: E402
from codeanalysisd.index import wire  # noqa: E402
from codeanalysisd.index.reading import FileRead, indexed_facts  # noqa: E402
from codeanalysisd.index.record import FileUpdate  # noqa: E402
from codeanalysisd.paths import roots_overlap  # noqa: E402

MAX_PARSE = 1 << 20
DEFAULT_FILES = ("_pydecimal.py", "_pyio.py", "datetime.py", "argparse.py")
STAGES = ("ast.parse", "extraction", "encode", "decode", "write")


def update(rel: str, data: bytes, mtime: int) -> tuple[FileUpdate, str]:
    item = FileRead(rel, len(data), mtime, data, hashlib.sha256(data).digest())
    facts, _ = indexed_facts(item, MAX_PARSE)
    return FileUpdate(rel, len(data), mtime, data, item.sha256, facts), wire.encode(facts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    args = parser.parse_args()
    root = pathlib.Path(args.stdlib or default_stdlib())
    with tempfile.TemporaryDirectory() as state:
        store, _ = Store.open(f"{state}/index.sqlite3", f"{state}/history.sqlite3")
        try:
            project = store.writes.projects.add(str(root), roots_overlap).id
            for rel in args.files:
                store.writes.files.index(project, [update(rel, (root / rel).read_bytes(), 1)[0]])
            print(f"corpus: {root}; {args.rounds} saves of each file, medians, ms")
            print("| file | " + " | ".join(STAGES) + " | sum of the stages but ast.parse | wire |")
            print("| --- " * (len(STAGES) + 3) + "|")
            for rel in args.files:
                original = (root / rel).read_bytes()
                times: dict[str, list[float]] = {s: [] for s in STAGES}
                for k in range(args.rounds):
                    data = original + f"\n\ndef bench_save_{k}():\n    pass\n".encode()
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ast.parse(data)
                    t1 = time.perf_counter()
                    item = FileRead(rel, len(data), 2 + k, data, hashlib.sha256(data).digest())
                    facts, _ = indexed_facts(item, MAX_PARSE)
                    t2 = time.perf_counter()
                    sent = wire.encode(facts)
                    t3 = time.perf_counter()
                    received = wire.decode(sent)
                    t4 = time.perf_counter()
                    store.writes.files.index(project, [FileUpdate(rel, len(data), 2 + k, data, item.sha256,
                                                                  received)])
                    t5 = time.perf_counter()
                    for stage, took in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                        times[stage].append(took * 1000)
                medians = {s: statistics.median(v) for s, v in times.items()}
                total = sum(medians[s] for s in STAGES[1:])
                print(f"| {rel} ({len(original) / 1000:.0f} KB) | " + " | ".join(f"{medians[s]:.1f}" for s in STAGES)
                      + f" | {total:.1f} | {len(sent.encode()) / 1000:.0f} KB |")
        finally:
            store.close()


if __name__ == "__main__":
    main()
