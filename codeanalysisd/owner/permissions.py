"""Who may see and change what: the plocate rule, applied for one caller at a time.

A caller sees a file (its hits, definitions, references, problems, source and history) only
if they could read it on disk now (``access.Visibility``: search permission on every
directory down to it, read permission on the file, mode bits and ACLs). A project whose root
they cannot list does not exist for them, unless they own it. Old and deleted versions go by
the same rule on the path as it is now; a path that no longer exists shows its versions to
the project's owner and to root only. Changing a project (restoring into it, repairing it,
removing it) is for its owner and root; controlling the suite's units and checking the
databases is for root and the admin group. Root sees and may do everything.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

from codeanalysisd.access import Caller, Visibility
from codeanalysisd.owner import failures
from codeanalysisd.records import ProjectInfo
from codeanalysisd.tree import RootGone, RootId, Tree

T = TypeVar("T")

# Trees no one but root registers as a project: the root of all, and the system's own.
WHOLE = ("/", "/var")
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
                "/sys", "/usr", "/var/cache", "/var/lib", "/var/log", "/var/spool")


SERVICE_UID = os.getuid()  # the user the owner runs as


class View:
    """One request's caller and what they can read (directory verdicts cached for the request).

    Root sees everything, and so does the service's own user: its workers list every project
    to follow it (a root the service cannot read any more is theirs to report as missing),
    and on a per-user suite's session bus it is the user, whose suite holds only their own.
    """

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.disk = Visibility(caller)
        self.all_seeing = caller.is_root or caller.uid == SERVICE_UID
        self._files: dict[str, bool] = {}  # a file's verdict, once per request (rows repeat files)

    def sees_project(self, project: ProjectInfo) -> bool:
        return (self.all_seeing or project.owner_uid == self.caller.uid
                or self.disk.can_list_dir(project.root))

    def sees_file(self, project: ProjectInfo, rel: str) -> bool:
        if self.all_seeing:
            return True
        path = _join(project.root, rel)
        if (known := self._files.get(path)) is None:
            known = self._files[path] = self.disk.can_read_file(path)
        return known

    def sees_history(self, project: ProjectInfo, rel: str) -> bool:
        """Versions of a path: by the rule on the path as it is now; of a path that no longer
        exists, for the owner (and root) only."""
        if self.sees_file(project, rel):
            return True
        return project.owner_uid == self.caller.uid and not _in_project(project, rel)

    def may_change(self, project: ProjectInfo, what: str) -> None:
        if not (self.all_seeing or project.owner_uid == self.caller.uid):
            raise failures.Forbidden(f"only the owner of project {project.id!r} (or root) may {what} it")

    def filter(self, rows: Iterable[T], where: Callable[[T], tuple[ProjectInfo | None, str]]) -> list[T]:
        """The rows whose (project, path) the caller may see; a row of an unknown project is dropped."""
        if self.all_seeing:
            return list(rows)
        kept = []
        for row in rows:
            project, rel = where(row)
            if project is not None and self.sees_project(project) and self.sees_file(project, rel):
                kept.append(row)
        return kept


def may_administer(caller: Caller, admin_gid: int | None, what: str) -> None:
    if caller.is_root or (admin_gid is not None and admin_gid in caller.gids):
        return
    raise failures.Forbidden(f"{what} is for root and the members of the admin group")


def refuse_root(view: View, root: str, homes: Iterable[tuple[int, str]]) -> None:
    """A root the caller may not register: a system tree, or one holding other users' homes
    (a shared suite's concern: on a per-user suite the caller sees all, and may)."""
    if view.all_seeing:
        return
    caller = view.caller
    if root in WHOLE or any(root == tree or root.startswith(tree + "/") for tree in SYSTEM_TREES):
        raise failures.Forbidden(f"{root} is a system tree; only root may register it")
    prefix = root.rstrip("/") + "/"
    for uid, home in homes:
        if uid != caller.uid and home.startswith(prefix) and os.path.isdir(home):
            raise failures.Forbidden(f"{root} holds other users' home directories ({home}); register a directory "
                                     "of your own")


def _join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel


def _in_project(project: ProjectInfo, rel: str) -> bool:
    """Whether rel is in the project now, reached from its root's identity without following a
    link: what lies past a link (another user's tree) must not decide what its owner sees."""
    try:
        Tree(project.root, RootId(project.root_dev, project.root_ino)).lstat(rel)
    except OSError as exc:
        # gone, behind a link, under a non-directory, or the root is not the registered one
        return exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR) and not isinstance(exc, RootGone)
    return True
