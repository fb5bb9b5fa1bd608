"""Writing a stored version of a file back into its project (``RestoreFile``)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from codeanalysisd.index.reading import read_file
from codeanalysisd.owner import failures, lookup
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.permissions import View
from codeanalysisd.repair import disk, writeback

log = logging.getLogger("codeanalysisd.owner")


@dataclass(frozen=True)
class Restored:
    path: str
    version: int
    written: bool  # False: the file already held that version
    replaced_version: int  # the version that now keeps what was replaced (0: nothing was)


def _current_bytes(root: str, rel: str) -> bytes | None:
    item = read_file(root, rel)
    if item is None:
        return None
    if item.data is None:
        raise writeback.WriteFailed(f"{rel} exists but cannot be read ({item.error}); not replaced")
    return item.data


async def restore_file(core: OwnerCore, view: View, project: str, path: str, spec: str, overwrite: bool
                       ) -> Restored:
    """Write a version (``spec`` "" = the latest) back. An existing file is replaced only with
    ``overwrite``, and its content becomes a version first (reason 'overwritten')."""
    await core.owned_project(project, view, "restore into")
    found, rel, chosen, data = await lookup.version(core, view, project, path, spec)
    current = await asyncio.to_thread(_current_bytes, found.root, rel)
    if current is not None and hashlib.sha256(current).digest() == chosen.sha256:
        return Restored(rel, chosen.n, False, 0)
    if current is not None and not overwrite:
        raise failures.AlreadyThere(f"{rel} exists in {found.root}; pass overwrite to replace it "
                                    "(its content is kept as a version first)")
    store = core.store
    replaced = None
    if current is not None:
        kept = current
        replaced = await store.write(lambda w: w.history.record_overwritten(found.id, rel, kept))
    try:
        written = await asyncio.to_thread(writeback.write_into, found.root, rel, data, overwrite)
    except writeback.WriteFailed as exc:
        log.warning("RestoreFile: %s", exc, extra={"project": found.id, "path": rel})
        raise
    if (raced := written.replaced) is not None and raced != current:
        # the file changed between the look and the write: what it held then is kept too
        await store.write(lambda w: w.history.record_overwritten(found.id, rel, raced))
    update = await asyncio.to_thread(disk.from_bytes, rel, data, written.size, written.mtime_ns,
                                     core.config.max_parse_size)
    await store.write(lambda w: w.files.index(found.id, [update], "restored"))
    log.info("restored %s of %s (version %d)", rel, found.id, chosen.n, extra={"project": found.id, "path": rel})
    core.changed(Change.FILES)
    return Restored(rel, chosen.n, True, replaced or 0)
