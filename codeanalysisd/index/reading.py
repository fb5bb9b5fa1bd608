"""Reading one project file and deriving what the index stores of it: one place for both.

The watcher, the repair worker and the DB owner's repair all read files this way, so they
agree on what "the content" of a file is and on the limits that apply. A file is reached
through its project's ``tree.Tree``: from the root's identity, never through a link.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tokenize
from dataclasses import dataclass

from codeanalysisd.collector import held_off
from codeanalysisd.index import extract, wire
from codeanalysisd.index.extract import Parsed
from codeanalysisd.index.facts import IndexedFacts
from codeanalysisd.index.record import NO_CONTENT, FileUpdate
from codeanalysisd.tree import Tree

# The system bus refuses messages over 32 MiB; a file this large is listed, not indexed.
MAX_FILE_BYTES = 24 * 1024 * 1024
# Bounds what one pathological file can add to a request and to the database.
MAX_REFERENCES = 200_000


@dataclass
class FileRead:
    rel: str
    size: int
    mtime_ns: int
    data: bytes | None
    sha256: bytes  # of data; NO_CONTENT when it could not be read
    error: str = ""
    mode: int = 0  # permission bits (st_mode & 0o7777)


def read_file(tree: Tree, rel: str) -> FileRead | None:
    """The file's bytes with the stat they belong to; None if it changed while being read
    (or is gone). A directory on the way that is a symbolic link now makes it unreadable."""
    try:
        fd = tree.open(rel, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        try:
            st = tree.lstat(rel)
        except OSError:
            return None  # gone meanwhile; the next event or scan settles it
        return FileRead(rel, st.st_size, st.st_mtime_ns, None, NO_CONTENT, f"cannot read: {exc.strerror}")
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return FileRead(rel, before.st_size, before.st_mtime_ns, None, NO_CONTENT, "not a regular file")
        if before.st_size > MAX_FILE_BYTES:
            return FileRead(rel, before.st_size, before.st_mtime_ns, None, NO_CONTENT,
                         f"too large to index: {before.st_size} bytes (limit {MAX_FILE_BYTES})")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        after = os.fstat(fd)
    except OSError as exc:
        return FileRead(rel, 0, 0, None, NO_CONTENT, f"cannot read: {exc.strerror}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size:
        return None  # written to while read: read it again once it settles
    return FileRead(rel, after.st_size, after.st_mtime_ns, data, hashlib.sha256(data).digest(),
                    mode=stat.S_IMODE(after.st_mode))


def indexed_facts(item: FileRead, max_parse: int, parsed: Parsed | None = None) -> tuple[IndexedFacts, bool]:
    """What the index keeps of a file read, and whether it was read and parsed cleanly;
    ``parsed`` is its bytes parsed already (``parsed_source``)."""
    if item.data is None:
        return IndexedFacts(None, False, (item.error,), None, unreadable=True), False
    if len(item.data) > max_parse:
        reason = (f"larger than {max_parse} bytes: full text only, not parsed "
                  "(see MaxParseSize= in codeanalysisd.conf)")
        return IndexedFacts(_encoding(item.data), False, (reason,), None), False
    facts = extract.facts(parsed if parsed is not None else extract.parse(item.data))
    references, problems = facts.references, facts.problems
    if len(references) > MAX_REFERENCES:
        references = references[:MAX_REFERENCES]
        problems = (*problems, f"only the first {MAX_REFERENCES} references indexed")
    indexed = IndexedFacts(facts.encoding, facts.parsed, problems, facts.module_docstring, facts.definitions,
                           facts.imports, references, bindings=facts.bindings,
                           uses=facts.uses[:MAX_REFERENCES], nodes=facts.nodes)
    return indexed, indexed.parsed and not indexed.problems


def parsed_source(item: FileRead, max_parse: int) -> Parsed | None:
    """The file's bytes decoded and parsed, when it is read and within ``max_parse``."""
    if item.data is None or len(item.data) > max_parse:
        return None
    return extract.parse(item.data)


def outlined(item: FileRead, max_parse: int) -> tuple[Parsed | None, str | None]:
    """The file parsed (``parsed_source``) and what it shows first (``outline_facts``)."""
    with held_off():
        parsed = parsed_source(item, max_parse)
        return parsed, outline_facts(parsed)


def outline_facts(parsed: Parsed | None) -> str | None:
    """What a saved file shows first (the wire's JSON): its definitions alone, with its
    encoding and docstring; None when it did not parse, or not completely (it is shown
    whole, once indexed)."""
    if parsed is None or parsed.tree is None:
        return None
    facts = extract.outline(parsed)
    if facts.problems:
        return None
    return wire.encode(IndexedFacts(facts.encoding, True, (), facts.module_docstring, facts.definitions))


def _encoding(source: bytes) -> str | None:
    """The encoding of a file kept for full-text search without being parsed."""
    try:
        return tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:  # an unknown or contradictory coding cookie
        return None


def file_facts(item: FileRead, max_parse: int, parsed: Parsed | None = None) -> tuple[str, bool]:
    """The facts to send (the wire's JSON), and whether the file was read and parsed cleanly."""
    with held_off():
        facts, clean = indexed_facts(item, max_parse, parsed)
        return wire.encode(facts), clean


def file_update(item: FileRead, max_parse: int) -> tuple[FileUpdate, bool]:
    """The file as the index takes it, in this process (no JSON), and whether it parsed cleanly."""
    with held_off():
        facts, clean = indexed_facts(item, max_parse)
    return FileUpdate(item.rel, item.size, item.mtime_ns, item.data or b"", item.sha256, facts, item.mode), clean
