"""What changed in the index, as the core announces it to the faces and the status line."""

from __future__ import annotations

from enum import Enum


class Change(Enum):
    PROJECTS = "projects"  # a project added or removed (the files with it)
    FILES = "files"  # files indexed, moved, deleted, repaired
    VECTORS = "vectors"  # vectors stored: only the chunks pending changed
