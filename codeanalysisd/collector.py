"""Python's cycle collector held off while one file's syntax trees are built and walked.

A file's ``ast`` tree, and libcst's, is tens or hundreds of thousands of objects that live
only while the file is read and hold no reference cycle. Built with the collector on, they
trip its thresholds again and again: every 700 allocations the young objects are traversed
and the survivors promoted, and once those promoted since the last full collection reach a
quarter of the heap, all of it is traversed again; so each node of a large file is looked
at several times, to free nothing. Over the standard library, in process
(``bench/index_cost.py``): the watcher's extraction 14.4 s with the collector on, 8.4 s
with it held off per file; a libcst verdict 1.26 and 1.19 times ``libcst.parse_module``.
Held off for the file and let go after it, the trees are freed by reference counting as
before; a cycle made meanwhile is freed by the next collection, which the allocations
counted meanwhile bring on at the first allocation after.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def held_off() -> Iterator[None]:
    """No cycle collection within the block. The collector is process-wide: a block on one
    thread holds it off for every thread, and a block entered while it is off (another
    thread's, or a caller's) leaves it as it found it. The block that turned it off turns it
    back on as it leaves, even if another thread's block is still running: that one goes on
    with the collector on, only slower, and the collector is never left off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
