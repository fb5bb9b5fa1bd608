"""Saves as a person makes them, for the benchmarks that time the owner's write of one saved
file in process (write_latency.py, write_ab.py).

It imports the suite from wherever ``codeanalysisd`` resolves for the caller, and changes no
import path: write_ab.py runs it inside another version's tree.
"""

from __future__ import annotations

import os
import time
from typing import Any


def timed_saves(store: Any, project: str, root: str, rels: list[str], gap: float, tag: str,
                max_parse: int) -> list[float]:
    """Seconds of each write: every file of ``rels`` (under ``root``) given a function at its
    end, read and extracted as the watcher does, then written alone in one transaction
    (commit included), ``gap`` seconds apart."""
    from codeanalysisd.index.membership import ProjectFiles
    from codeanalysisd.index.reading import file_update, read_file

    tree = ProjectFiles(root).tree
    samples = []
    for i, rel in enumerate(rels):
        with open(os.path.join(root, rel), "a") as f:
            f.write(f"\n\ndef bench_{tag}_{i}():\n    pass\n")
        item = read_file(tree, rel)
        if item is None:
            continue
        update = file_update(item, max_parse)[0]
        started = time.perf_counter()
        store.writes.files.index(project, [update])
        samples.append(time.perf_counter() - started)
        time.sleep(gap)
    return samples
