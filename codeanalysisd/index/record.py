"""A file as the index takes it: its bytes, their stat and hash, and the facts derived from them.

One record from the read to the row. The watcher and the repair worker build it from what
they read and send it over the bus (``from_wire`` rebuilds it in the DB owner); the owner's
own repair and restore build it in process (``reading.file_update``); ``db.indexing``
writes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from codeanalysisd.index import wire
from codeanalysisd.index.facts import IndexedFacts

__all__ = ["NO_CONTENT", "FileUpdate"]

NO_CONTENT = b""  # the sha256 of a file whose bytes could not be read (files.sha256, FileRead.sha256)


@dataclass(frozen=True)
class FileUpdate:
    path: str
    size: int
    mtime_ns: int
    source: bytes  # b"" when the file could not be read
    sha256: bytes  # of source; NO_CONTENT exactly when facts.unreadable
    facts: IndexedFacts
    mode: int = 0  # permission bits (st_mode & 0o7777) as read; 0: not known

    @classmethod
    def from_wire(cls, path: str, size: int, mtime_ns: int, source: bytes, facts_json: str, mode: int = 0
                  ) -> FileUpdate:
        """A file a worker sent: its facts checked (``wire.BadFacts`` if malformed), its bytes hashed."""
        facts = wire.decode(facts_json)
        sha256 = NO_CONTENT if facts.unreadable else hashlib.sha256(source).digest()
        return cls(path, size, mtime_ns, source, sha256, facts, mode & 0o7777)
