"""Restoring a stored version: what to write (``RestoreFile``) and recording what was written
(``RecordRestore``).

The service never writes into a project. ``RestoreFile`` answers with the version's bytes,
where they go, the root's identity and the mode the version was recorded with; the client
writes them as the calling user (``codeanalysisd/cli/restore_write.py``) and reports back
what it wrote and exactly what it replaced. Nothing here reads the project's files: what
the service would read through a swapped link could end up in the history.

Until it is recorded, a restore handed out holds back a worker's read of the same bytes at
that path (``owner/restores_pending.py``): the history then has the restore, not an edit
followed by a restore.

Both are for the project's owner (and root) only; a client that reports something else than
it wrote changes only its own project's history, and the watcher checks the file against
disk as for any other change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass

from codeanalysisd.db import history
from codeanalysisd.index.reading import MAX_FILE_BYTES
from codeanalysisd.owner import failures, ingest, lookup
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.permissions import View
from codeanalysisd.records import ProjectInfo
from codeanalysisd.repair import disk

log = logging.getLogger("codeanalysisd.owner")


@dataclass(frozen=True)
class ToWrite:
    """The reply of RestoreFile: what the client writes, where, and how."""

    path: str
    target: str
    root: str
    root_dev: int
    root_ino: int
    version: int
    sha256: str
    content: bytes
    mode: int
    overwrite: bool

    @property
    def how(self) -> str:
        mode = (f"mode 0{self.mode & 0o777:o} less your umask" if self.mode
                else "mode 0666 less your umask (this version's mode was not recorded)")
        if self.overwrite:
            where = (f"to {self.target} as yourself; if a file is there, replace it keeping its owner, mode and ACL, "
                     f"else create it with {mode}")
        else:
            where = f"to {self.target} as yourself, {mode}, only if no file is there"
        return (f"write these {len(self.content)} bytes {where}, atomically (a temporary file in the same directory, "
                "fsync, then link() it into place without overwriting, or with overwrite renameat2(RENAME_EXCHANGE) "
                "and keep what it swapped out), never through a symbolic link (the root is the directory with "
                f"device {self.root_dev} and inode {self.root_ino}); then call RecordRestore(project, path, "
                "version, mtime_ns, replaced, replaced_content, mode) so the history records it "
                "(codeanalysisctl restore does all of this)")


@dataclass(frozen=True)
class Recorded:
    path: str
    version: int
    replaced_version: int  # the version that keeps what was replaced (0: nothing was, or the same bytes)


async def _chosen(core: OwnerCore, view: View, project: str, path: str, spec: str
                  ) -> tuple[ProjectInfo, str, history.Version, bytes]:
    found = await core.owned_project(project, view, "restore into")
    return await lookup.version(core, view, found.id, path, spec)


async def to_write(core: OwnerCore, view: View, project: str, path: str, spec: str, overwrite: bool) -> ToWrite:
    """RestoreFile: a version (``spec`` "" = the latest) and where it goes, for the client to
    write. Nothing is read from or written to the project."""
    found, rel, chosen, data = await _chosen(core, view, project, path, spec)
    core.restores.handed_out((found.id, rel), chosen.sha256, time.monotonic())
    ingest.write_when_lapsed(core)  # a hand-out pushed out by this one may hold an update
    return ToWrite(rel, f"{found.root.rstrip('/')}/{rel}", found.root, found.root_dev, found.root_ino, chosen.n,
                   chosen.sha256.hex(), data, chosen.mode, overwrite)


async def record(core: OwnerCore, view: View, project: str, path: str, version: int, mtime_ns: int,
                 replaced: bool, replaced_content: bytes, mode: int = 0) -> Recorded:
    """RecordRestore: the client wrote ``version`` (its file has ``mtime_ns`` and permission
    bits ``mode`` now; 0: not said) and, if ``replaced``, replaced ``replaced_content``. That
    becomes a version ('overwritten') unless it is the restored content itself; then the file
    is indexed with the version's bytes ('restored').

    The mode is the client's word, like the mtime: a replaced file keeps its own, which the
    service never saw, and without it a file kept at 0600 by a restore would come back with
    an older, wider recorded mode after a later deletion. Where it is not said: for a new
    file, the version's; for a replacement, the last mode the history knows for the path."""
    if len(replaced_content) > MAX_FILE_BYTES:
        raise failures.Refused(f"replaced_content holds {len(replaced_content)} bytes; at most {MAX_FILE_BYTES} "
                               "are kept as a version")
    if not replaced and replaced_content:
        raise failures.Refused("replaced_content is given but replaced is false")
    found, rel, chosen, data = await _chosen(core, view, project, path, str(version))
    store = core.store
    mode &= 0o7777
    if not mode and replaced:
        before = await store.read(lambda r: r.history.versions(found.id, rel))
        mode = next((v.mode for v in reversed(before) if v.present), 0)
    replaced_version = 0
    if replaced and hashlib.sha256(replaced_content).digest() != chosen.sha256:
        replaced_version = await store.write(lambda w: w.history.record_overwritten(found.id, rel, replaced_content,
                                                                                    mode))
    update = await asyncio.to_thread(disk.from_bytes, rel, data, len(data), mtime_ns, core.config.max_parse_size)
    update = dataclasses.replace(update, mode=mode or chosen.mode)
    await store.write(lambda w: w.files.index(found.id, [update], "restored"))
    if core.restores.recorded((found.id, rel)) is not None:
        log.debug("%s of %s: the watcher's read of the restored file is dropped, the restore recorded instead",
                  rel, found.id, extra={"project": found.id, "path": rel})
    log.info("%s of %s restored by its client to version %d%s", rel, found.id, chosen.n,
             f"; what it replaced is version {replaced_version}" if replaced_version else "",
             extra={"project": found.id, "path": rel})
    core.changed(Change.FILES)
    return Recorded(rel, chosen.n, replaced_version)
