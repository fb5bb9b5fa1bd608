"""Who may see a file: the plocate rule, evaluated for one caller against the disk as it is now.

A caller may see a file (its hits, symbols, source, history) only if they could read it on
disk themselves: search (x) on every directory from ``/`` down to the file's directory, and
read (r) on the file, for the caller's uid and full group list. Root sees everything.

Each check is the Linux kernel's own, one permission bit at a time as the kernel asks for
them (``may_lookup`` asks MAY_EXEC of each directory, ``open`` asks MAY_READ of its target):
``acl_permission_check`` in fs/namei.c, and ``posix_acl_permission`` in fs/posix_acl.c for
the ACL. The points where it differs from a naive reading of ``getfacl``:

- The owner gets the mode's owner bits, whatever the ACL says (``user::`` *is* those bits).
- The ACL is consulted only when the mode's group bits are not all clear. With a mask of
  ``---`` (group bits 000) the kernel skips the ACL and uses the plain mode bits: a named
  user who is in no group of the file then gets the *other* bits, not nothing.
- In the ACL, a caller who matches the owning group or a named group entry is in the group
  class: the answer is whatever those entries (masked) give, and *other* is never reached,
  even when it would grant more. The same holds without an ACL: group bits, no fall-through.

Nothing here follows a symbolic link: the index never follows one (it opens with
O_NOFOLLOW and walks with lstat), so a path with a symlink anywhere in it is not a path the
index serves, and it is not visible. Every OSError (a missing file or ancestor, EACCES for
the service itself, ...) means "not visible": the answer fails closed.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Caller", "Visibility", "visible"]

# The permission bits, as in the mode's rwx triplets and in ACL entries.
READ = 4
EXEC = 1

# system.posix_acl_access, in the kernel's xattr form (include/uapi/linux/posix_acl_xattr.h).
ACL_XATTR = "system.posix_acl_access"
ACL_VERSION = 2
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_TAGS = frozenset({USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER})

# getxattr's answers that mean "this inode has no access ACL".
_NO_ACL = frozenset({errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP})


@dataclass(frozen=True)
class Caller:
    """Who is asking: the uid and every gid (the primary one included)."""

    uid: int
    gids: frozenset[int]

    @property
    def is_root(self) -> bool:
        return self.uid == 0


@dataclass(frozen=True)
class AclEntry:
    tag: int
    perm: int
    id: int


class AclInvalid(ValueError):
    """The xattr is not a POSIX ACL the kernel would hold."""


def parse_acl(raw: bytes) -> tuple[AclEntry, ...]:
    """The entries of a ``system.posix_acl_access`` value, in stored order."""
    if len(raw) < _HEADER.size or (len(raw) - _HEADER.size) % _ENTRY.size:
        raise AclInvalid(f"ACL of {len(raw)} bytes")
    (version,) = _HEADER.unpack_from(raw)
    if version != ACL_VERSION:
        raise AclInvalid(f"ACL version {version}")
    entries = tuple(AclEntry(tag, perm & 0o7, id_) for tag, perm, id_ in _ENTRY.iter_unpack(raw[_HEADER.size:]))
    unknown = [e.tag for e in entries if e.tag not in _TAGS]
    if unknown:
        raise AclInvalid(f"ACL tag {unknown[0]:#x}")
    return entries


def acl_permits(acl: tuple[AclEntry, ...], owner: int, group: int, caller: Caller, want: int) -> bool:
    """The kernel's ``posix_acl_permission``, step for step, for one caller and wanted bits."""
    found = False
    for i, entry in enumerate(acl):
        if entry.tag == USER_OBJ:
            if owner == caller.uid:
                return entry.perm & want == want
        elif entry.tag == USER:
            if entry.id == caller.uid:
                return _masked(acl, i, want)
        elif entry.tag in (GROUP_OBJ, GROUP):
            gid = group if entry.tag == GROUP_OBJ else entry.id
            if gid in caller.gids:
                found = True
                # The first matching entry that grants, unmasked, decides, mask applied; the
                # mask is the same for every entry, so no later entry could do better.
                if entry.perm & want == want:
                    return _masked(acl, i, want)
        elif entry.tag == OTHER:
            # A caller in the group class whose entries did not grant is refused here.
            return not found and entry.perm & want == want
    return False  # no OTHER entry: the kernel answers EIO


def _masked(acl: tuple[AclEntry, ...], i: int, want: int) -> bool:
    """Entry i's perm, limited by the MASK entry that follows it (if any), grants ``want``."""
    for later in acl[i + 1:]:
        if later.tag == MASK:
            return acl[i].perm & later.perm & want == want
    return acl[i].perm & want == want


def mode_permits(st: os.stat_result, acl: tuple[AclEntry, ...] | None, caller: Caller, want: int) -> bool:
    """The kernel's ``acl_permission_check``: mode bits, with the ACL when there is one."""
    mode = st.st_mode
    if st.st_uid == caller.uid:
        # The owner: the owner bits, the ACL does not matter.
        return (mode >> 6) & want == want
    if acl is not None and mode & stat.S_IRWXG:
        # With group bits (the mask) all clear, the kernel does not look at the ACL at all.
        return acl_permits(acl, st.st_uid, st.st_gid, caller, want)
    if st.st_gid in caller.gids:
        return (mode >> 3) & want == want
    return mode & want == want


def _read_acl(path: str) -> tuple[AclEntry, ...] | None:
    """The access ACL of ``path`` (not followed), None when it has none.

    Raises OSError as getxattr does, AclInvalid for a value the kernel would not hold."""
    try:
        raw = os.getxattr(path, ACL_XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_ACL:
            return None
        raise
    return parse_acl(raw)


@dataclass(frozen=True)
class _Node:
    """What the check of one inode needs, read once."""

    st: os.stat_result
    acl: tuple[AclEntry, ...] | None


def _canonical(path: str) -> bool:
    """Absolute, no empty, ``.`` or ``..`` component (``/`` itself is canonical)."""
    if not path.startswith("/") or "\0" in path:
        return False
    if path == "/":
        return True
    return all(part not in ("", ".", "..") for part in path[1:].split("/"))


def _parent(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


class Visibility:
    """One caller's view of the disk, for the length of one request.

    Directory verdicts are cached in the object (a request tests many files under the same
    directories), so a change on disk is seen by the next request, not necessarily by this
    one. A path must be absolute and canonical (as the index stores roots and the files under
    them); any other spelling is not visible.
    """

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self._nodes: dict[str, _Node | None] = {}
        self._search: dict[str, bool] = {}

    def can_read_file(self, path: str) -> bool:
        """r on the file (a regular file, not a symlink), x on every directory above it."""
        if self.caller.is_root:
            return True
        if not _canonical(path) or path == "/" or not self.can_search_dir(_parent(path)):
            return False
        node = self._node(path, cache=False)
        return node is not None and stat.S_ISREG(node.st.st_mode) and self._permits(node, READ)

    def can_search_dir(self, path: str) -> bool:
        """x on the directory and on every directory above it."""
        if self.caller.is_root:
            return True
        if not _canonical(path):
            return False
        return self._searchable(path)

    def can_list_dir(self, path: str) -> bool:
        """r and x on the directory, x on every directory above it."""
        if self.caller.is_root:
            return True
        if not self.can_search_dir(path):
            return False
        node = self._node(path)
        return node is not None and self._permits(node, READ)

    def _searchable(self, path: str) -> bool:
        known = self._search.get(path)
        if known is not None:
            return known
        node = self._node(path)
        verdict = (
            node is not None
            and stat.S_ISDIR(node.st.st_mode)
            and self._permits(node, EXEC)
            and (path == "/" or self._searchable(_parent(path)))
        )
        self._search[path] = verdict
        return verdict

    def _node(self, path: str, cache: bool = True) -> _Node | None:
        """The inode at ``path`` (lstat: a symlink is itself, never its target), or None when
        it cannot be read: gone, out of the service's own reach, or an ACL the kernel would
        refuse to use (it answers EIO: no access)."""
        if cache and path in self._nodes:
            return self._nodes[path]
        try:
            st = os.lstat(path)
            node = None if stat.S_ISLNK(st.st_mode) else _Node(st, _read_acl(path))
        except (OSError, AclInvalid):
            node = None
        if cache:
            self._nodes[path] = node
        return node

    def _permits(self, node: _Node, want: int) -> bool:
        return mode_permits(node.st, node.acl, self.caller, want)


def visible(caller: Caller, paths: Iterable[str]) -> list[str]:
    """The paths among ``paths`` the caller could read, in their order (one request's view)."""
    view = Visibility(caller)
    return [p for p in paths if view.can_read_file(p)]
