"""The records that cross a process boundary, each defined once.

A project as the owner lists it, a worker's progress counters, and the two states a
file row and a project can be in. The owner, the workers and the command line all read
these, so a field never changes meaning (or order) between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum


class FileState(StrEnum):
    """A file row: on disk now, or gone from disk and kept (source and history) as deleted."""

    LIVE = "live"
    DELETED = "deleted"


class ProjectState(StrEnum):
    """A project: followed, or its root is not there (nothing in it is marked deleted)."""

    ACTIVE = "active"
    MISSING = "missing"


@dataclass(frozen=True)
class ProjectInfo:
    """One registered project, in the field order of ``ListProjects``' rows (the owner's uid
    and the root's identity, last, are the owner's own: they are not part of the row)."""

    id: str
    name: str
    root: str
    file_count: int
    state: str
    owner_uid: int = 0  # who added it: only they (and root) may change it
    root_dev: int = 0  # the root's identity at registration (tree.RootId); 0 0: not recorded yet
    root_ino: int = 0


@dataclass
class Counters:
    """A worker's progress as it reports it and ``WorkerStatus`` shows it."""

    pending: int = 0
    done: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of(cls, reported: Mapping[str, int]) -> Counters:
        """The known counters of a report; unknown keys are ignored, missing ones are 0."""
        return cls(**{name: int(reported.get(name, 0)) for name in ("pending", "done", "errors")})
