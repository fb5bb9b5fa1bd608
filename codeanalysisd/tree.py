"""A project tree as the suite reads it: from its root's identity, never through a symbolic link.

A root is registered as a directory identity (device, inode), not only as a string. Every
scan, read and repair opens it again from ``/``, one component at a time with
``O_NOFOLLOW``, and checks that identity: a root that was swapped for a symbolic link, or for
another directory, is ``missing`` and nothing below it is read. Below the root, every file
and directory is reached by ``openat`` relative to its parent's descriptor, again with
``O_NOFOLLOW`` on every component, so a directory replaced by a link inside the project
cannot lead a read out of it either. (``O_NOFOLLOW`` on a whole path protects only its last
component; that is why nothing here opens a joined path.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

# Directories on the way are opened for search only (O_PATH): a parent the service may
# traverse but not list (0711 homes) still leads to the project.
_PASS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LIST = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


@dataclass(frozen=True)
class RootId:
    """What a root is, as opposed to where: its device and inode at registration."""

    dev: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> RootId:
        return cls(st.st_dev, st.st_ino)

    @property
    def known(self) -> bool:
        return self.ino != 0


UNKNOWN = RootId(0, 0)  # a project registered before identities were recorded


class Kind(Enum):
    DIRECTORY = "directory"
    FILE = "file"
    LINK = "link"
    OTHER = "other"


class RootGone(OSError):
    """The root is not the registered directory any more (gone, a link, or another
    directory); the message says which, in words an admin can act on. An OSError: below a
    root that is not there, nothing exists, and code that asks about one file says so."""


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _step(parent: int, name: str, flags: int) -> int:
    """Open one component below ``parent``; a symbolic link is ELOOP, whatever the flags."""
    try:
        return os.open(name, flags, dir_fd=parent)
    except NotADirectoryError:
        # O_DIRECTORY|O_NOFOLLOW on a symbolic link fails with ENOTDIR: say which it was.
        try:
            link = stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        if link:
            raise OSError(errno.ELOOP, "a symbolic link, not followed", name) from None
        raise


def _descend(base: int, parts: list[str], last_flags: int = _PASS) -> int:
    """A new descriptor of the directory ``parts`` below ``base``, never through a link."""
    fd = os.open(".", last_flags if not parts else _PASS, dir_fd=base)
    try:
        for i, part in enumerate(parts):
            nxt = _step(fd, part, last_flags if i == len(parts) - 1 else _PASS)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_root(root: str, expected: RootId = UNKNOWN) -> int:
    """An O_PATH descriptor of ``root``, walked from ``/`` without following any link and
    checked against ``expected`` (when known). Raises RootGone."""
    slash = os.open("/", _PASS)
    try:
        fd = _descend(slash, _components(root))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RootGone(f"{root} is reached through a symbolic link now: not followed") from None
        if exc.errno == errno.ENOTDIR:
            raise RootGone(f"{root} is not a directory now") from None
        if exc.errno == errno.ENOENT:
            raise RootGone(f"{root} does not exist") from None
        raise RootGone(f"{root} cannot be opened: {exc.strerror}") from None
    finally:
        os.close(slash)
    if expected.known and RootId.of(os.fstat(fd)) != expected:
        os.close(fd)
        raise RootGone(f"{root} is another directory now than the one registered (device and inode differ)")
    return fd


def identity(root: str) -> RootId:
    """The identity of a root as it is now, reached without following a link (RootGone if it cannot be)."""
    fd = open_root(root)
    try:
        return RootId.of(os.fstat(fd))
    finally:
        os.close(fd)


def _split(rel: str) -> tuple[list[str], str]:
    *dirs, name = rel.split("/")
    return dirs, name


class Tree:
    """One project root held open by descriptor, and the files below it read through it.

    ``verify`` opens the root again from ``/`` and checks its identity; until then the
    descriptor held keeps naming the directory that was verified, whatever happens to its
    path. Paths given here are relative to the root in canonical form ("" is the root).
    """

    def __init__(self, root: str, expected: RootId = UNKNOWN) -> None:
        self.root = root
        self.expected = expected
        self._fd: int | None = None

    def verify(self) -> RootId:
        """Open the root again and check it; the identity found (RootGone if it is not the root)."""
        fd = open_root(self.root, self.expected)
        found = RootId.of(os.fstat(fd))
        self.close()
        self._fd = fd
        return found

    @property
    def fd(self) -> int:
        if self._fd is None:
            self.verify()
        assert self._fd is not None
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------ directories
    @contextlib.contextmanager
    def directory(self, reldir: str, listing: bool = False) -> Iterator[int]:
        """A descriptor of the directory reldir (O_PATH, or readable with ``listing``)."""
        fd = _descend(self.fd, _components(reldir), _LIST if listing else _PASS)
        try:
            yield fd
        finally:
            os.close(fd)

    def entries(self, reldir: str) -> list[tuple[str, Kind]]:
        """The names in reldir with what each is, never following a link. The kinds are
        settled while the directory is open: a DirEntry of a descriptor looks itself up
        relative to that descriptor when the listing did not say (d_type unknown)."""
        out: list[tuple[str, Kind]] = []
        with self.directory(reldir, listing=True) as fd, os.scandir(fd) as it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        kind = Kind.DIRECTORY
                    elif entry.is_file(follow_symlinks=False):
                        kind = Kind.FILE
                    elif entry.is_symlink():
                        kind = Kind.LINK
                    else:
                        kind = Kind.OTHER
                except OSError:
                    continue  # vanished between the listing and the look
                out.append((entry.name, kind))
        return out

    # ------------------------------------------------------------------ files
    def lstat(self, rel: str) -> os.stat_result:
        """The stat of rel itself (a link is not followed), reached without following one."""
        if not rel:
            return os.fstat(self.fd)
        dirs, name = _split(rel)
        with self.directory("/".join(dirs)) as parent:
            return os.stat(name, dir_fd=parent, follow_symlinks=False)

    def open(self, rel: str, flags: int = os.O_RDONLY) -> int:
        """A descriptor of the file rel, opened with O_NOFOLLOW on every component."""
        dirs, name = _split(rel)
        with self.directory("/".join(dirs)) as parent:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)

    def readlink(self, rel: str) -> str:
        dirs, name = _split(rel)
        with self.directory("/".join(dirs)) as parent:
            return os.readlink(name, dir_fd=parent)

    def read_small(self, rel: str, limit: int) -> bytes | None:
        """The bytes of a small regular file (a .gitignore), or None if it is not one or is
        larger than ``limit``."""
        try:
            fd = self.open(rel, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
                return None
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)

    def inside(self, rel: str, target: str) -> str | None:
        """Where a link at rel with this target text points, relative to the root, worked
        out from the text alone (nothing is looked up, so nothing outside is probed); None
        when it points outside the root."""
        base = rel.rpartition("/")[0]
        if target.startswith("/"):
            prefix = self.root.rstrip("/") + "/"
            if target.rstrip("/") == self.root.rstrip("/"):
                return ""
            if not target.startswith(prefix):
                return None
            joined = target[len(prefix):]
        else:
            joined = f"{base}/{target}" if base else target
        out: list[str] = []
        for part in joined.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not out:
                    return None
                out.pop()
            else:
                out.append(part)
        return "/".join(out)
