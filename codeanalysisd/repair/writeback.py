"""Writing a stored content back into a project: the only place the suite writes project files.

The path was checked against the project root already (``paths.project_relpath``); here
every directory on the way is opened relative to the previous one with ``O_NOFOLLOW``, so
a symbolic link planted anywhere on the path cannot redirect the write out of the root.
The content goes to a temporary name first and is linked into place only when complete
and synced: an existing file is never half-written, and without ``overwrite`` the final
``link`` fails atomically if a file appeared at that name meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass

FILE_MODE = 0o644  # the unit's UMask=0077 would otherwise leave a restored file unreadable to its owner
DIR_MODE = 0o755


class WriteRefused(Exception):
    """The file exists and overwriting was not asked for."""


class WriteFailed(Exception):
    """The file could not be written; the message says why in words an admin can act on."""


@dataclass(frozen=True)
class Written:
    size: int
    mtime_ns: int
    replaced: bytes | None  # the content that was overwritten, if any


def _open_dir(parent: int, name: str, create: bool) -> int:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except NotADirectoryError:
        # O_DIRECTORY|O_NOFOLLOW on a symbolic link fails with ENOTDIR, not ELOOP: say which it was.
        if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "a symbolic link") from None
        raise
    except FileNotFoundError:
        if not create:
            raise
        os.mkdir(name, DIR_MODE, dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        os.fchmod(fd, DIR_MODE)
        return fd


def _read_existing(dir_fd: int, name: str) -> bytes | None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise WriteFailed(f"{name} exists and is not a regular file (a symbolic link or a directory): not replaced")
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _explain(exc: OSError, target: str) -> WriteFailed:
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return WriteFailed(
            f"cannot write {target}: {exc.strerror}. The service may write only where its user may "
            "and its sandbox allows: give the service user write access to the project "
            "(e.g. setfacl -R -m u:codeanalysis:rwX,d:u:codeanalysis:rwX ROOT) and, for a project outside "
            "/home, /srv and /opt, add ReadWritePaths=ROOT in a drop-in (systemctl edit codeanalysisd-db.service)")
    if exc.errno == errno.ELOOP:
        return WriteFailed(f"cannot write {target}: a directory on the way is a symbolic link")
    return WriteFailed(f"cannot write {target}: {exc.strerror}")


def write_into(root: str, rel: str, data: bytes, overwrite: bool) -> Written:
    """Write ``data`` to ``root/rel``, creating missing directories; see the module docstring."""
    target = os.path.join(root, rel)
    *dirs, name = rel.split("/")
    fds: list[int] = []
    try:
        try:
            fds.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            for part in dirs:
                fds.append(_open_dir(fds[-1], part, create=True))
        except OSError as exc:
            raise _explain(exc, target) from None
        dir_fd = fds[-1]
        replaced = _read_existing(dir_fd, name)
        if replaced is not None and not overwrite:
            raise WriteRefused(f"{target} exists; ask for overwrite to replace it (its content is kept as a version)")
        tmp = f".{name}.{secrets.token_hex(6)}.restore.tmp"  # never a leftover's name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE,
                         dir_fd=dir_fd)
        except OSError as exc:
            raise _explain(exc, target) from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fchmod(f.fileno(), FILE_MODE)
                os.fsync(f.fileno())
            if overwrite:
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
                os.unlink(tmp, dir_fd=dir_fd)
            os.fsync(dir_fd)
        except FileExistsError:
            raise WriteRefused(f"{target} appeared while it was being restored; not replaced") from None
        except OSError as exc:
            raise _explain(exc, target) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return Written(st.st_size, st.st_mtime_ns, replaced)
    finally:
        for fd in fds:
            os.close(fd)
