"""The repair rule: for one file, what the database must do to agree with disk.

One pure function, used by the ``Repair`` bus method (whole project, workers stopped) and by
the repair worker (a batch at a time, nothing stopped), so the two never disagree.

The three cases, by where the file's content can still be found:

- ``on-disk``: the file exists. The index must hold it live and current: a row marked
  deleted is revived, a stale one re-indexed, a missing one created; the version store must
  hold the current content.
- ``in-history``: gone from disk, but the version store keeps the content the index last
  saw. The row is marked deleted, pointing at that version (and created so, if the index
  had lost it).
- ``lost``: gone from disk and absent from the version store; only the index still holds
  its bytes. They are copied into the version store (byte for byte) and the row marked
  deleted.

With ``restore_missing``, a file the index still believed present is marked deleted in the
same way (``restore``), and listed for the caller to write back: the service never writes
into a project (the client does, as the calling user: ``RestoreFile``, ``RecordRestore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from codeanalysisd.index.record import NO_CONTENT
from codeanalysisd.records import FileState


class RepairCase(StrEnum):
    """Where the file's content can still be found (see the module docstring)."""

    ON_DISK = "on-disk"
    IN_HISTORY = "in-history"
    LOST = "lost"


class RepairAction(StrEnum):
    """What the database must do; the values are what the repair's reply and log say."""

    INDEX = "index"  # on disk, not in the index
    REVIVE = "revive"  # on disk, its row marked deleted
    REINDEX = "reindex"  # on disk, other content than the index holds
    RESTORE = "restore"  # gone from disk: marked deleted, and listed for the caller to write back
    TOUCH = "touch"  # same content, new size or time
    PRESERVE = "preserve"  # the index's content copied into the version store
    MARK_DELETED = "mark-deleted"
    ADD_DELETED = "add-deleted"  # a row marked deleted, for a file known only to the version store


# Actions that need the file's parsed content (the caller reads and parses it).
NEEDS_CONTENT = frozenset({RepairAction.INDEX, RepairAction.REVIVE, RepairAction.REINDEX})

# Not an action but the reply to the repair worker for a path of a project the watcher is
# indexing (or about to scan): nothing was done, what differs there is the watcher's work.
LEFT_TO_WATCHER = "watcher"


@dataclass(frozen=True)
class OnDisk:
    size: int
    mtime_ns: int
    sha256: bytes  # NO_CONTENT if it could not be read


@dataclass(frozen=True)
class InIndex:
    state: FileState
    size: int
    mtime_ns: int
    sha256: bytes
    has_source: bool  # the index holds the bytes of sha256
    current: bool = True  # its facts were taken by this version's extractor (db.migrations.STRUCTURE)


@dataclass(frozen=True)
class InHistory:
    holds_index_content: bool  # the version store keeps the index's content for this path
    latest_present: bool  # its latest version says the file exists at this path
    moved_away: bool  # its latest version is a move to another path


@dataclass(frozen=True)
class Action:
    path: str
    case: RepairCase
    action: RepairAction
    detail: str = ""


def classify(path: str, disk: OnDisk | None, row: InIndex | None, kept: InHistory | None,
             restore_missing: bool = False) -> list[Action]:
    """The actions that bring ``path`` in line; empty when it already is."""
    if disk is not None:
        return _on_disk(path, disk, row, kept)
    if row is None:
        if kept is not None and not kept.moved_away:
            return [Action(path, RepairCase.IN_HISTORY, RepairAction.ADD_DELETED, "known only to the version store")]
        return []
    in_store = kept is not None and kept.holds_index_content
    case = RepairCase.IN_HISTORY if in_store else RepairCase.LOST
    actions = []
    if not in_store:
        if row.sha256 == NO_CONTENT or not row.has_source:
            detail = "its content was never readable" if row.sha256 == NO_CONTENT else "no stored source"
            if row.state != FileState.LIVE:
                return []
            return [Action(path, RepairCase.LOST, RepairAction.MARK_DELETED, detail)]
        actions.append(Action(path, RepairCase.LOST, RepairAction.PRESERVE,
                              "copied from the index into the version store"))
    if row.state == FileState.LIVE:
        if restore_missing:
            actions.append(Action(path, case, RepairAction.RESTORE, "gone from disk; to be written back by the caller"))
        else:
            actions.append(Action(path, case, RepairAction.MARK_DELETED, "gone from disk"))
    elif kept is not None and kept.latest_present:
        actions.append(Action(path, case, RepairAction.MARK_DELETED, "the version store did not record the deletion"))
    return actions


def _on_disk(path: str, disk: OnDisk, row: InIndex | None, kept: InHistory | None) -> list[Action]:
    if row is None:
        return [Action(path, RepairCase.ON_DISK, RepairAction.INDEX, "not in the index")]
    if row.state != FileState.LIVE:
        return [Action(path, RepairCase.ON_DISK, RepairAction.REVIVE, "on disk, but marked deleted")]
    if row.sha256 != disk.sha256:
        return [Action(path, RepairCase.ON_DISK, RepairAction.REINDEX, "content differs from the index")]
    if not row.current:
        return [Action(path, RepairCase.ON_DISK, RepairAction.REINDEX, "indexed before bindings and uses were kept")]
    actions = []
    if (row.size, row.mtime_ns) != (disk.size, disk.mtime_ns):
        actions.append(Action(path, RepairCase.ON_DISK, RepairAction.TOUCH, "same content, new size or time"))
    if disk.sha256 != NO_CONTENT and not (kept is not None and kept.holds_index_content):
        actions.append(Action(path, RepairCase.ON_DISK, RepairAction.PRESERVE,
                              "current content missing from the version store"))
    return actions
