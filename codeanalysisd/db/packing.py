"""Contents as the version store keeps them (and the index did before schema 23, whole in
``blobs``): zlib-compressed.

Python source compresses to about a quarter (3.9 times smaller at level 3, over the
standard library and a site-packages of 13,000 files; 4.3 at level 6, which takes 22 ms
per MB of source on one core against level 3's 12 ms). Level 6: the standard library's
history takes 8.4 MB, not 9.2 (bench/db_size.py), and a content is packed once, when it is
first seen. The version store reads a content
whole, a file at a time (to show or restore a version), never a line of many files while a
caller waits; the index keeps its copy as windows a search reads one at a time
(db/stored_text.py). Every read and write of a content kept whole goes through here; a
content's sha256 and size are always those of the bytes themselves, never of their packed form.
"""

from __future__ import annotations

import zlib

LEVEL = 6


def pack(data: bytes) -> bytes:
    return zlib.compress(data, LEVEL)


def unpack(stored: bytes) -> bytes:
    return zlib.decompress(stored)


def unpack_any(stored: bytes) -> bytes:
    """A content from a version store of either format (one being salvaged may predate
    packing): its bytes, packed or not. The caller checks them against their sha256."""
    try:
        return zlib.decompress(stored)
    except zlib.error:
        return stored
