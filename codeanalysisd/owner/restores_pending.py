"""Restores handed out and not yet recorded: what keeps a restore's history in order
whenever the watcher reads the file.

``RestoreFile`` hands a version out; its client swaps the file into place and only then
calls ``RecordRestore`` with exactly what the swap replaced (the exchange is what makes that
exact, so the record cannot come first). A worker may read the file in between and send it
as an ordinary edit. Indexed first, the restored bytes would become an edit of their own (one
that counts toward ``MaxVersions``) and what they replaced a version a second time. So a
worker's update whose bytes are those of a restore handed out for that path, not yet
recorded, is held back: ``RecordRestore`` then indexes the file as restored, and the held
update is dropped. One that is never recorded (its client died, or someone read the answer
of ``RestoreFile`` and wrote the bytes by hand) is indexed as it was sent once the hand-out
lapses, ``LASTS`` seconds after it was made.

Pure bookkeeping, with time passed in: the owner's event loop does the writing
(``owner/ingest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

LASTS = 10.0  # seconds a hand-out holds a worker's update back; a client records within milliseconds
MOST = 64  # hand-outs remembered; past that the oldest lapses at once
HELD_BYTES = 32 << 20  # source bytes held in all; past that an update is indexed as sent

Key = tuple[str, str]  # (project id, path)


@dataclass(frozen=True)
class Held:
    """An update held back, for ``ingest.index_files`` to write as sent once its hand-out lapses."""

    project_id: str
    row: tuple[str, int, int, bytes, str, int]  # ingest.FileRow
    reason: str | None


@dataclass
class _HandOut:
    sha256: bytes
    until: float
    held: Held | None = None


class PendingRestores:
    def __init__(self, lasts: float = LASTS, most: int = MOST, held_bytes: int = HELD_BYTES) -> None:
        self.lasts, self.most, self.held_bytes = lasts, most, held_bytes
        self._out: dict[Key, _HandOut] = {}  # in the order handed out

    def __contains__(self, key: Key) -> bool:
        return key in self._out

    def __len__(self) -> int:
        return len(self._out)

    def handed_out(self, key: Key, sha256: bytes, now: float) -> None:
        """RestoreFile answered with this content for this path. An update held for the path
        stays held under the new hand-out: the restore it waits for may still be recorded,
        and if not, it is indexed when the new one lapses."""
        before = self._out.pop(key, None)
        self._out[key] = _HandOut(sha256, now + self.lasts, before.held if before is not None else None)
        for old in list(self._out.values())[:max(0, len(self._out) - self.most)]:
            old.until = min(old.until, now)
        for gone in [k for k, out in self._out.items() if out.until <= now and out.held is None]:
            del self._out[gone]

    def hold(self, key: Key, sha256: bytes, held: Held, now: float) -> bool:
        """Whether a worker's update (``held``, whose content has ``sha256``) waits for the
        restore's record. An update with other bytes is not held, and supersedes one that was."""
        out = self._out.get(key)
        if out is None or out.until <= now:
            return False
        if out.sha256 != sha256:
            out.held = None
            return False
        others = sum(len(o.held.row[3]) for o in self._out.values() if o.held is not None and o is not out)
        if others + len(held.row[3]) > self.held_bytes:
            return False
        out.held = held
        return True

    def recorded(self, key: Key) -> Held | None:
        """RecordRestore indexed the file: the hand-out ends and what it held is dropped
        (returned, for the log)."""
        out = self._out.pop(key, None)
        return out.held if out is not None else None

    def lapsed(self, now: float) -> list[Held]:
        """Hand-outs past their time end; the updates they held are to be indexed as sent."""
        gone = [key for key, out in self._out.items() if out.until <= now]
        return [held for key in gone if (held := self._out.pop(key).held) is not None]

    def next_lapse(self) -> float | None:
        """When the next hand-out that holds an update lapses (None: none holds one)."""
        return min((out.until for out in self._out.values() if out.held is not None), default=None)
