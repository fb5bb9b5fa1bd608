"""Registering and unregistering projects."""

from __future__ import annotations

import logging

from codeanalysisd import paths
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.records import ProjectInfo

log = logging.getLogger("codeanalysisd.owner")


async def add(core: OwnerCore, root: str) -> ProjectInfo:
    try:
        canonical = paths.project_root(root)
    except paths.PathRejected as exc:
        log.log(25, "AddProject refused: %s", exc, extra={"path": root})
        raise
    project = await core.store.write(lambda w: w.projects.add(canonical, paths.roots_overlap))
    log.info("registered project %s at %s", project.id, project.root, extra={"project": project.id,
                                                                             "path": project.root})
    core.changed(Change.PROJECTS)
    return project


async def remove(core: OwnerCore, key: str) -> None:
    found = core.project(key)
    await core.store.write(lambda w: w.projects.remove(found.id))
    log.info("unregistered project %s (%s)", found.id, found.root, extra={"project": found.id, "path": found.root})
    core.changed(Change.PROJECTS)
