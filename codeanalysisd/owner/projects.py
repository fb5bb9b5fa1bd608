"""Registering and unregistering projects, each for the caller who owns it."""

from __future__ import annotations

import asyncio
import logging
import pwd

from codeanalysisd import paths, tree
from codeanalysisd.db.store import Reads, RootTaken
from codeanalysisd.owner import failures, lookup
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.permissions import View, refuse_root
from codeanalysisd.records import ProjectInfo

log = logging.getLogger("codeanalysisd.owner")


def _homes() -> list[tuple[int, str]]:
    return [(entry.pw_uid, entry.pw_dir) for entry in pwd.getpwall()]


def _unreadable(root: str) -> failures.Forbidden:
    return failures.Forbidden(f"you cannot read {root} yourself (read and search permission on it, and search "
                              "permission on every directory above it, no symbolic link on the way): only "
                              "what you can read is indexed for you")


def _check(view: View, raw: str) -> tuple[str, tree.RootId]:
    """The canonical root, if this caller may register it (a tree of their own they can read),
    and the directory it names now, reached without following a link."""
    if not view.all_seeing and not view.disk.can_list_dir(paths.absolute(raw)):
        # Asked before the service looks (as itself) at the path: whatever lies where the
        # caller cannot look, missing or not a directory, gets this same answer.
        raise _unreadable(raw)
    canonical = paths.project_root(raw)
    refuse_root(view, canonical, _homes())
    if not view.disk.can_list_dir(canonical):
        raise _unreadable(canonical)
    try:
        return canonical, tree.identity(canonical)
    except tree.RootGone as exc:  # swapped for a link since it was resolved
        raise paths.PathRejected(f"project root {raw!r} cannot be registered: {exc}") from None


async def add(core: OwnerCore, view: View, root: str) -> ProjectInfo:
    uid = view.caller.uid
    try:
        canonical, identity = await asyncio.to_thread(_check, view, root)
    except (paths.PathRejected, failures.Forbidden) as exc:
        log.log(25, "AddProject refused for uid %d: %s", uid, exc, extra={"path": root})
        raise
    if not view.all_seeing:
        owned = await core.store.read(lambda r: r.projects.owned_by(uid))
        if owned >= core.config.max_projects:
            raise failures.Forbidden(f"you have {owned} project(s), the most one user may register "
                                     f"([Projects] MaxPerUser={core.config.max_projects}); remove one first")
    try:
        project = await core.store.write(
            lambda w: w.projects.add(canonical, paths.roots_overlap, uid, (identity.dev, identity.ino)))
    except RootTaken as exc:
        if view.sees_project(exc.project):
            raise
        raise failures.AlreadyThere(f"{canonical} overlaps a project another user registered; a file can "
                                    "belong to one project only") from None
    log.info("registered project %s at %s for uid %d", project.id, project.root, uid,
             extra={"project": project.id, "path": project.root})
    core.changed(Change.PROJECTS)
    return project


async def remove(core: OwnerCore, view: View, key: str) -> None:
    found = await core.owned_project(key, view, "remove")
    await core.store.write(lambda w: w.projects.remove(found.id))
    log.info("unregistered project %s (%s)", found.id, found.root, extra={"project": found.id, "path": found.root})
    core.changed(Change.PROJECTS)


async def listed(core: OwnerCore, view: View, offset: int, limit: int) -> list[ProjectInfo]:
    """One page of the projects the caller may see, by creation then id (``lookup.paged``)."""
    def run(reads: Reads) -> list[ProjectInfo]:
        return lookup.paged((p for p in reads.projects.list() if view.sees_project(p)), offset, limit)

    return await core.store.read(run)
