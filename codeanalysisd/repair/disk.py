"""What a project's files on disk are, as the repair rule needs them: size, time, content hash.

Runs in a thread of the DB owner (a whole-project repair) or in the repair worker; it
only reads, by the same membership rule and the same reader as the watcher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import FileRead, file_facts, file_update, read_file
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.repair.plan import OnDisk
from codeanalysisd.tree import Tree


def state(rels: Iterable[str], files: ProjectFiles) -> tuple[dict[str, OnDisk], set[str]]:
    """The disk state of each given path that is a project file now, and apart, the paths that
    changed while they were read (or vanished between the look and the read): nothing can
    be decided about those in this pass, neither "on disk" nor "gone"."""
    out: dict[str, OnDisk] = {}
    unsettled: set[str] = set()
    for rel in rels:
        if not files.is_member(rel):
            continue
        item = read_file(files.tree, rel)
        if item is None:
            unsettled.add(rel)
        else:  # an unreadable file's sha256 is NO_CONTENT
            out[rel] = OnDisk(item.size, item.mtime_ns, item.sha256)
    return out, unsettled


def _unchanged(tree: Tree, rel: str, expected: bytes) -> FileRead | None:
    """The file read again, if it still has the content the plan was made on."""
    item = read_file(tree, rel)
    return None if item is None or item.sha256 != expected else item


def reread(tree: Tree, rel: str, expected: bytes, max_parse: int) -> tuple[FileRead, str, bool] | None:
    """The file read again with its facts (the wire's JSON, and whether it parsed cleanly), if
    it still has the content the plan was made on: what the repair worker sends."""
    item = _unchanged(tree, rel, expected)
    if item is None:
        return None
    facts, clean = file_facts(item, max_parse)
    return item, facts, clean


def parsed(tree: Tree, rel: str, expected: bytes, max_parse: int) -> FileUpdate | None:
    """The file read and parsed, if it still has the content the plan was made on."""
    item = _unchanged(tree, rel, expected)
    return None if item is None else file_update(item, max_parse)[0]


def from_bytes(rel: str, data: bytes, size: int, mtime_ns: int, max_parse: int) -> FileUpdate:
    """A file just written back into the project, parsed from the bytes that were written."""
    return file_update(FileRead(rel, size, mtime_ns, data, hashlib.sha256(data).digest()), max_parse)[0]
