"""When a changed path is looked at: the one rule for merging a save's events.

An editor's save is often several events on a path (the old file renamed away, the new one
created, written and closed, its attributes set), and one look at the file per save is the
goal: a path is looked at once it has been quiet for SETTLE seconds. But a file the index
holds, closed after writing or moved into place, has been saved whole: waiting for more
only delays every save, so such a path is due at once. An attribute change right after (an
editor setting the mode or extended attributes it had) does not hold a due path back; any
other event starts the wait again, as another save may be under way.

A path the index does not hold waits in every case: it may be the new half of a move (a
rename, or a copy and a delete), which is found only when both halves are looked at
together (watch/sync.find_moves), and keeps the file's identity without parsing it again.
The two halves of one rename are due at the same moment: their events come microseconds
apart, and a wait counted from each would let a look fall between them, which would take
the move for a deletion and a new file.

A restore needs no wait: its client renames the file into place and only then records the
restore, and the DB owner holds back a read of a restore's bytes until that record comes
(owner/restores_pending.py).
"""

from __future__ import annotations

import pyinotify

SETTLE = 0.015
# A time long past: a path counted from it is due at once (the watcher marks the paths of a
# rescan or a poll so too).
AT_ONCE = 0.0

# The events after which a file's content is whole: its writer closed it, or it was moved
# (renamed) into place.
COMPLETE = pyinotify.IN_CLOSE_WRITE | pyinotify.IN_MOVED_TO


def quiet_since(mask: int, before: float | None, now: float, indexed: bool) -> float:
    """The time a file's quiet period counts from after an event with ``mask`` at ``now``;
    ``before`` is what it counted from until then (None: the path was not pending), and
    ``indexed`` whether the index holds a live file at that path. The path is due once
    ``now - quiet_since(...) >= SETTLE``."""
    if indexed and mask & COMPLETE and not mask & pyinotify.IN_ISDIR:
        return AT_ONCE
    if before is not None and mask & pyinotify.IN_ATTRIB and now - before >= SETTLE:
        return before
    return now


def with_its_source(waiting: dict[str, float], rel: str, source: str | None) -> None:
    """After the new half of a rename, ``rel``, was counted in ``waiting`` (path -> what its
    quiet period counts from): its old half, ``source``, if it waits there too, waits as long."""
    if source is not None and source in waiting:
        waiting[source] = waiting[rel]
