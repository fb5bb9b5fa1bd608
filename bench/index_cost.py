"""Benchmark: where the first index's time goes, stage by stage, in one process.

Over a copy of the standard library (the files the suite's membership rule takes), on one
core, with no bus and no units in between:
  - `ast.parse` of every file (the reference of DESIGN's "AddProject <= 2x ast.parse");
  - the watcher's extraction: read, hash, decode, `ast` facts, scopes, bindings and uses,
    the wire form (`index/reading.file_update`);
  - the facts between the two, as the watcher encodes them and the DB owner decodes them
    (`index/wire`), in the columns form sent now and in the rows form older workers sent
    (built here as they built it: each row an array), with the bytes of each;
  - the DB owner's write of those records, batches of 64 files, one transaction each
    (`Store.writes.files.index`), into a fresh index and history;
  - a large change as the suite writes it: every file shown first (the watcher's parse and
    walk over statements, `index/reading.outlined`; the owner's decode and write of the
    definitions and text, `Store.writes.files.show`), then the rest of every file's facts
    written after the showing (the watcher extracts each file again, as above);
  - libcst's verdict on every parsed file (`index/syntax.verdict`: parse and regenerate),
    which the parser units share out, against `libcst.parse_module` alone.
Each stage is run --rounds times (the write each time into a fresh database); medians.
The suite runs extraction (the watcher) and the write (the DB owner) side by side, and
verification on the parser units after the index: the slower of the first two bounds
AddProject on a machine with a core for each.

Run: .venv/bin/python bench/index_cost.py [--stdlib DIR] [--rounds 3] [--no-libcst]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import gc
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import copy_stdlib_here  # noqa: E402

from codeanalysisd.db.store import Store  # noqa: E402
from codeanalysisd.index import reading, syntax, wire  # noqa: E402
from codeanalysisd.index.facts import IndexedFacts  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.index.reading import FileRead, file_update, read_file  # noqa: E402
from codeanalysisd.index.record import FileUpdate  # noqa: E402
from codeanalysisd.paths import roots_overlap  # noqa: E402

BATCH = 64
MAX_PARSE = 1024 * 1024


def timed(work: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def parse_all(items: list[FileRead]) -> None:
    for item in items:
        with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
            ast.parse(item.data or b"")


def extract_all(items: list[FileRead]) -> list[FileUpdate]:
    return [file_update(item, MAX_PARSE)[0] for item in items]


def rows_form(facts: IndexedFacts) -> str:
    """The facts as workers before the columns form sent them: every row an array (and no
    count of syntax nodes, which came later still)."""
    fields: dict[str, object] = {
        "encoding": facts.encoding, "parsed": facts.parsed, "problems": facts.problems,
        "docstring": facts.docstring, "definitions": facts.definitions, "imports": facts.imports,
        "references": facts.references, "bindings": facts.bindings, "uses": facts.uses}
    if facts.unreadable:
        fields["unreadable"] = True
    return json.dumps(fields, separators=(",", ":"))


def wire_costs(updates: list[FileUpdate], rounds: int) -> None:
    facts = [u.facts for u in updates]
    for name, encode in (("columns (sent now)", wire.encode), ("rows (older workers)", rows_form)):
        sent = [encode(f) for f in facts]
        assert all(wire.decode(text) == (f if encode is wire.encode else dataclasses.replace(f, nodes=None))
                   for text, f in zip(sent, facts, strict=True))
        encoded = timed(lambda encode=encode: [encode(f) for f in facts], rounds)
        decoded = timed(lambda sent=sent: [wire.decode(text) for text in sent], rounds)
        size = sum(len(text.encode()) for text in sent)
        print(f"wire, {name:<21} {size / 1e6:6.1f} MB: encode {encoded:5.2f} s, decode {decoded:5.2f} s")


def outline_all(items: list[FileRead]) -> list[tuple[FileRead, str]]:
    """The watcher's first pass over a large change: each file parsed and outlined (its
    definitions, the wire's JSON), its tree let go; the files that do not parse are left out."""
    outlined = ((item, reading.outlined(item, MAX_PARSE)[1]) for item in items)
    return [(item, text) for item, text in outlined if text is not None]


def write_all(root: str, updates: list[FileUpdate], shows: Sequence[FileUpdate] = ()) -> float:
    """The index written in batches, after the ``shows`` if any (as a large change is written
    now); the seconds the ``updates`` took."""
    with tempfile.TemporaryDirectory() as state:
        store, _ = Store.open(os.path.join(state, "index.sqlite3"), os.path.join(state, "history.sqlite3"))
        try:
            store.writes.projects.add(root, roots_overlap)
            project = store.reads.projects.list()[0].id
            for start in range(0, len(shows), BATCH):
                store.writes.files.show(project, shows[start:start + BATCH])
            began = time.perf_counter()
            for start in range(0, len(updates), BATCH):
                store.writes.files.index(project, updates[start:start + BATCH])
            return time.perf_counter() - began
        finally:
            store.close()


def verify_all(items: list[FileRead]) -> None:
    for item in items:
        if item.data is not None and len(item.data) <= MAX_PARSE:
            syntax.verdict(item.data)


def libcst_all(items: list[FileRead]) -> None:
    import libcst

    for item in items:
        if item.data is not None and len(item.data) <= MAX_PARSE:
            with contextlib.suppress(Exception):
                libcst.parse_module(item.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-libcst", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_stdlib_here(tmp, args.stdlib)
        files = ProjectFiles(root)
        items = [i for i in (read_file(files.tree, rel) for rel in sorted(files.walk(""))) if i is not None]
        size = sum(len(i.data or b"") for i in items)
        print(f"corpus: {len(items)} files, {size / 1e6:.1f} MB; median of {args.rounds} rounds, one core")
        parse = timed(lambda: parse_all(items), args.rounds)
        print(f"ast.parse (reference)                      {parse:7.2f} s   1.00x")
        updates = extract_all(items)
        # Every file's facts are held here at once, as neither unit holds them (the watcher
        # sends a batch of 64 files, the owner decodes one file at a time): the collector
        # would walk these millions of rows again and again in every stage timed below,
        # which is not a cost of the stage.
        gc.freeze()
        extract = timed(lambda: extract_all(items), args.rounds)
        print(f"extraction (watcher: file_update)          {extract:7.2f} s  {extract / parse:5.2f}x")
        wire_costs(updates, args.rounds)
        write = timed(lambda: write_all(root, updates), args.rounds)
        print(f"write (DB owner: batches of {BATCH})            {write:7.2f} s  {write / parse:5.2f}x")
        print(f"both on one core                           {extract + write:7.2f} s  {(extract + write) / parse:5.2f}x")
        print(f"the slower of the two (side by side)       {max(extract, write):7.2f} s  "
              f"{max(extract, write) / parse:5.2f}x")
        # A large change as the suite writes it: every file shown first, then the rest.
        outline = timed(lambda: outline_all(items), args.rounds)
        outlines = outline_all(items)
        shows = [FileUpdate.from_wire(i.rel, i.size, i.mtime_ns, i.data or b"", text, i.mode) for i, text in outlines]
        decode = timed(lambda: [FileUpdate.from_wire(i.rel, i.size, i.mtime_ns, i.data or b"", text, i.mode)
                                for i, text in outlines], args.rounds)
        show = timed(lambda: write_all(root, [], shows), args.rounds)
        rest = statistics.median(write_all(root, updates, shows) for _ in range(args.rounds))
        print(f"shown first: outline (watcher: parse, walk over statements, encode) {outline:5.2f} s "
              f"{outline / parse:5.2f}x, for {len(shows)} files")
        print(f"shown first: the owner's decode {decode:5.2f} s and write {show:5.2f} s: "
              f"{(decode + show) / parse:5.2f}x")
        print(f"searchable, the slower of the two          {max(outline, decode + show):7.2f} s  "
              f"{max(outline, decode + show) / parse:5.2f}x")
        print(f"then the rest: extraction again {extract:5.2f} s, the write after the showing {rest:5.2f} s "
              f"(whole: {write:5.2f} s)")
        if not args.no_libcst:
            alone = timed(lambda: libcst_all(items), 1)
            verify = timed(lambda: verify_all(items), 1)
            print(f"libcst.parse_module alone (reference)      {alone:7.2f} s   1.00x (one round)")
            print(f"libcst verdict (parse + regenerate)        {verify:7.2f} s  {verify / alone:5.2f}x (one round)")


if __name__ == "__main__":
    main()
