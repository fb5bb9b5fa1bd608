"""What a project's files on disk are, as the repair rule needs them: size, time, content hash.

Runs in a thread of the DB owner (a whole-project repair) or in the repair worker; it
only reads, by the same membership rule and the same reader as the watcher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from codeanalysisd.db.indexing import FileUpdate
from codeanalysisd.index import wire
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import FileRead, file_facts, read_file
from codeanalysisd.repair.plan import NO_CONTENT, OnDisk


def state(root: str, rels: Iterable[str], files: ProjectFiles) -> dict[str, OnDisk]:
    """The disk state of each given path that is a project file now (absent paths are left out)."""
    out: dict[str, OnDisk] = {}
    for rel in rels:
        if not files.is_member(rel):
            continue
        item = read_file(root, rel)
        if item is None:  # changing while read: the next pass sees it settled
            continue
        out[rel] = OnDisk(item.size, item.mtime_ns, NO_CONTENT if item.data is None else item.sha256)
    return out


def parsed(root: str, rel: str, expected: bytes, max_parse: int) -> FileUpdate | None:
    """The file read and parsed, if it still has the content the plan was made on."""
    item = read_file(root, rel)
    if item is None or (item.data is None and expected != NO_CONTENT) or (
            item.data is not None and item.sha256 != expected):
        return None
    facts, _clean = file_facts(item, max_parse)
    return FileUpdate(rel, item.size, item.mtime_ns, item.data or b"", wire.decode(facts))


def from_bytes(rel: str, data: bytes, size: int, mtime_ns: int, max_parse: int) -> FileUpdate:
    """A file just written back into the project, parsed from the bytes that were written."""
    item = FileRead(rel, size, mtime_ns, data, hashlib.sha256(data).digest())
    facts, _clean = file_facts(item, max_parse)
    return FileUpdate(rel, size, mtime_ns, data, wire.decode(facts))
