"""Writing a stored version back into a project, as the calling user.

The service never writes into a project: ``RestoreFile`` answers with the bytes, where they
go and the mode they were recorded with, and the client writes them here with its own
authority, then reports what it wrote, with the mode it has, and what it replaced
(``RecordRestore``) so the history records both. What a caller could not write by hand, a
restore cannot write either.

How the file is written, so that neither a link nor a race can redirect or lose anything:

- The root is opened from ``/`` one component at a time without following a link, and
  must be the directory registered (device and inode, ``tree.open_root``); every directory
  below is opened relative to its parent with ``O_NOFOLLOW`` (and created, as the caller,
  under their umask, where missing).
- The content goes to a temporary file in the target's directory (``O_EXCL|O_NOFOLLOW``,
  a random name) and is synced before anything takes its name.
- No file there: ``link()`` puts it in place, and fails if one appeared meanwhile. Its mode
  is the recorded one (or 0666), less the caller's umask.
- A file there (only with overwrite): the new file takes the replaced one's owner (where
  the caller may give it), its exact permission bits and its POSIX access ACL, and is
  swapped in with ``renameat2(RENAME_EXCHANGE)``: the inode that was replaced is then at
  the temporary name, and exactly its bytes are what is reported as replaced. Where the
  filesystem cannot exchange, a plain rename, and the replaced bytes are read from the
  descriptor held on the file that was looked at.
- Anything at the target that is not a regular file (a link, a directory, a FIFO) is
  refused; it is opened with ``O_NONBLOCK`` and checked with ``fstat``, never waited on.

Nothing here prints or parses arguments: ``codeanalysisctl`` and the MCP bridge share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dbus_fast import Variant

from codeanalysisd import tree
from codeanalysisd.index.reading import MAX_FILE_BYTES

NEW_FILE_MODE = 0o666  # a version whose mode was not recorded: what open(2) callers ask for
ACL_XATTR = "system.posix_acl_access"
RENAME_EXCHANGE = 2  # <linux/fs.h>


class RestoreRefused(Exception):
    """Nothing was written (or what was there is back); the message says why and what to do."""


class TargetExists(RestoreRefused):
    """A file is at the target and overwriting was not asked for, or one appeared meanwhile."""


class NotARegularFile(RestoreRefused):
    """Something other than a regular file is at the target: never replaced."""


class LinkOnTheWay(RestoreRefused):
    """A directory on the way is a symbolic link (or not a directory): never followed."""


class CannotWrite(RestoreRefused):
    """The caller may not do it themselves (permissions, a read-only filesystem, a full disk)."""


class RootMoved(RestoreRefused, tree.RootGone):
    """The project's root is not the directory registered any more."""


class Mismatch(RestoreRefused):
    """What the service sent does not hold together (the bytes and their sha256 differ)."""


@dataclass(frozen=True)
class Plan:
    """What ``RestoreFile`` answered: what to write, where, with which mode."""

    project: str
    path: str  # relative to the root
    target: str  # absolute
    root: str
    root_dev: int
    root_ino: int
    version: int
    sha256: str  # hex, of content
    content: bytes
    mode: int  # the version's permission bits; 0: not recorded
    overwrite: bool

    @classmethod
    def from_reply(cls, project: str, reply: Mapping[str, Any]) -> Plan:
        """From the a{sv} reply (values as Variants, or plain)."""
        def get(key: str) -> Any:
            value = reply[key]
            return value.value if isinstance(value, Variant) else value

        plan = cls(project, get("path"), get("target"), get("root"), int(get("root_dev")), int(get("root_ino")),
                   int(get("version")), get("sha256"), bytes(get("content")), int(get("mode")),
                   bool(get("overwrite")))
        if hashlib.sha256(plan.content).hexdigest() != plan.sha256:
            raise Mismatch(f"the content received for {plan.path} does not match its sha256; nothing written")
        return plan

    @property
    def root_id(self) -> tree.RootId:
        return tree.RootId(self.root_dev, self.root_ino)


@dataclass(frozen=True)
class Written:
    size: int
    mtime_ns: int
    mode: int  # the permission bits the file has now
    replaced: bytes | None  # exactly the content that was replaced; None: no file was there
    unchanged: bool = False  # the file held these bytes already: nothing was written


@dataclass(frozen=True)
class Restored:
    """A restore done and recorded (or found unnecessary)."""

    path: str
    target: str
    version: int
    written: bool
    replaced_version: int  # the version that keeps what was replaced; 0: nothing was, or the same bytes
    mode: int
    size: int


# ---------------------------------------------------------------------- the calling user
def umask() -> int:
    """The process's umask, read without changing it (the kernel says it since Linux 4.7)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def new_file_mode(recorded: int) -> int:
    """The mode a restored file gets where none was: the recorded permission bits (never
    set-id or sticky bits from the history), or 0666, less the umask."""
    return (recorded & 0o777 or NEW_FILE_MODE) & ~umask()


# ---------------------------------------------------------------------- errors, in words
def _refusal(exc: OSError, where: str, doing: str) -> RestoreRefused:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CannotWrite(f"you cannot {doing} {where} yourself ({exc.strerror}); nothing written")
    if exc.errno == errno.EROFS:
        return CannotWrite(f"{where} is on a read-only filesystem; nothing written")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return CannotWrite(f"no space left for {where} ({exc.strerror}); nothing written")
    if exc.errno == errno.ELOOP:
        return LinkOnTheWay(f"{where} is a symbolic link: not followed; nothing written")
    return CannotWrite(f"cannot {doing} {where}: {exc.strerror}")


# ---------------------------------------------------------------------- directories
_PASS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(parent: int, name: str, flags: int, where: str) -> int:
    """A directory below ``parent``, created (as the caller, under their umask) if missing."""
    for _ in range(3):
        try:
            return os.open(name, flags, dir_fd=parent)
        except FileNotFoundError:
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
            except FileExistsError:
                continue  # made meanwhile: open what is there now, by the same rules
            except OSError as exc:
                raise _refusal(exc, os.path.dirname(where) or "/", "create a directory in") from None
        except NotADirectoryError:
            # O_DIRECTORY|O_NOFOLLOW on a symbolic link fails with ENOTDIR, not ELOOP: say which it was.
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
                    raise LinkOnTheWay(f"{where} is a symbolic link: not followed; nothing written") from None
            raise LinkOnTheWay(f"{where} is not a directory; nothing written") from None
        except PermissionError:
            if flags & os.O_PATH:
                raise CannotWrite(f"you cannot reach {where} yourself (no search permission on the directory "
                                  "above it); nothing written") from None
            raise  # the caller tries again by O_PATH
        except OSError as exc:
            raise _refusal(exc, where, "open") from None
    raise CannotWrite(f"{where} keeps changing; nothing written")


def _directory(root: str, root_id: tree.RootId, dirs: list[str]) -> tuple[int, bool]:
    """The target's directory, reached from the verified root without following a link:
    a descriptor, and whether it can be synced (a directory the caller may search and
    write but not list is reached by O_PATH only, and not synced)."""
    try:
        fd = tree.open_root(root, root_id)
    except tree.RootGone as exc:
        try:
            os.lstat(root)
        except PermissionError:
            raise CannotWrite(f"you cannot reach {root} yourself (no search permission on a directory above "
                              "it); nothing written") from None
        except OSError:
            pass
        raise RootMoved(f"{exc}; nothing written (the project is 'missing' until its root is back)") from None
    where = root.rstrip("/")
    try:
        for part in dirs[:-1]:
            where = f"{where}/{part}"
            nxt = _open_dir(fd, part, _PASS, where)
            os.close(fd)
            fd = nxt
        last = dirs[-1] if dirs else "."
        where = f"{where}/{last}" if dirs else where
        syncable = True
        try:
            nxt = _open_dir(fd, last, _DIR, where)
        except PermissionError:
            nxt, syncable = _open_dir(fd, last, _PASS, where), False
        os.close(fd)
        return nxt, syncable
    except BaseException:
        os.close(fd)
        raise


# ---------------------------------------------------------------------- files
def _read_all(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
        total += len(chunk)
        if total > limit:
            break
    return b"".join(chunks)


def _too_large(target: str, size: int) -> RestoreRefused:
    return CannotWrite(f"{target} holds {size} bytes, more than the history keeps ({MAX_FILE_BYTES}): it could "
                       "not be kept as a version, so it is not replaced")


def _open_existing(dir_fd: int, name: str, target: str) -> tuple[int, os.stat_result] | None:
    """The regular file at the target, opened for reading (never blocking, never through a
    link), or None if there is none."""
    try:
        looked = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(exc, target, "look at") from None
    if not stat.S_ISREG(looked.st_mode):
        raise NotARegularFile(f"{target} exists and is not a regular file (a symbolic link, a directory, "
                              "a FIFO...): not replaced")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotARegularFile(f"{target} became a symbolic link: not replaced") from None
        raise _refusal(exc, target, "read") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (looked.st_dev, looked.st_ino):
        os.close(fd)
        raise NotARegularFile(f"{target} changed while it was looked at: not replaced; try again")
    return fd, st


def _libc_renameat2() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2()


def exchange(dir_fd: int, a: str, b: str) -> bool:
    """Swap the names a and b in one directory atomically; False where the filesystem (or
    the C library) cannot, OSError for anything else (FileNotFoundError if either is gone)."""
    if _renameat2 is None:
        return False
    if _renameat2(dir_fd, os.fsencode(a), dir_fd, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), b)


def _keep_metadata(tmp_fd: int, existing_fd: int, was: os.stat_result, target: str) -> None:
    """The new file takes the replaced one's owner (where the caller may give it), exact
    permission bits (after the owner: a chown drops set-id bits) and access ACL."""
    mine = os.fstat(tmp_fd)
    if (mine.st_uid, mine.st_gid) != (was.st_uid, was.st_gid):
        try:
            os.fchown(tmp_fd, was.st_uid, was.st_gid)
        except PermissionError:
            with contextlib.suppress(PermissionError):
                os.fchown(tmp_fd, -1, was.st_gid)  # a group of the caller's: at least that
    os.fchmod(tmp_fd, stat.S_IMODE(was.st_mode))
    try:
        acl = os.getxattr(existing_fd, ACL_XATTR)
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        return
    try:
        os.setxattr(tmp_fd, ACL_XATTR, acl)
    except OSError as exc:
        raise CannotWrite(f"the ACL of {target} could not be given to the restored file ({exc.strerror}): "
                          "not replaced, rather than open it wider") from None


def _temporary(dir_fd: int, name: str, mode: int, target: str) -> tuple[str, int]:
    tmp = f".{name[:200]}.{secrets.token_hex(6)}.restore.tmp"  # never a leftover's name
    try:
        return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                            dir_fd=dir_fd)
    except OSError as exc:
        raise _refusal(exc, os.path.dirname(target), "write") from None


def _fill(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _link_new(dir_fd: int, tmp: str, name: str, target: str) -> None:
    try:
        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise TargetExists(f"{target} appeared while it was being restored: not replaced; "
                           "look at it, then restore again (with overwrite to replace it)") from None
    except OSError as exc:
        raise _refusal(exc, target, "write") from None


def _swap_in(dir_fd: int, tmp: str, name: str, existing_fd: int, target: str) -> bytes | None:
    """Put the new file (at tmp) in place of the existing one; the bytes that were replaced
    (None: the file was gone by then, and the new one was linked in its place). The name
    tmp is gone afterwards, also when this fails, unless the message says what it holds."""
    try:
        try:
            swapped = exchange(dir_fd, tmp, name)
        except FileNotFoundError:
            _link_new(dir_fd, tmp, name, target)  # gone meanwhile: nothing is replaced
            return None
        except OSError as exc:
            raise _refusal(exc, target, "replace") from None
        if not swapped:
            # No exchange here: a rename, and the bytes of the inode that was looked at.
            try:
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except OSError as exc:
                raise _refusal(exc, target, "replace") from None
            return _read_all(existing_fd, MAX_FILE_BYTES)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)  # our new file, never put in place
        raise
    # The replaced inode is at tmp now: exactly it is what was replaced.
    try:
        old = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        _swap_back(dir_fd, tmp, name, target)
        raise NotARegularFile(f"what was at {target} when it was replaced was not a regular file you can read "
                              f"({exc.strerror}): put back, not replaced") from None
    try:
        st = os.fstat(old)
        replaced = _read_all(old, MAX_FILE_BYTES) if stat.S_ISREG(st.st_mode) else b""
    finally:
        os.close(old)
    if not stat.S_ISREG(st.st_mode):
        _swap_back(dir_fd, tmp, name, target)
        raise NotARegularFile(f"{target} was replaced by something other than a regular file meanwhile: "
                              "put back, not replaced")
    if len(replaced) > MAX_FILE_BYTES:
        _swap_back(dir_fd, tmp, name, target)
        raise _too_large(target, len(replaced))
    os.unlink(tmp, dir_fd=dir_fd)
    return replaced


def _swap_back(dir_fd: int, tmp: str, name: str, target: str) -> None:
    try:
        exchange(dir_fd, tmp, name)
    except OSError as exc:
        raise CannotWrite(f"{target} was replaced, and what it held could not be put back ({exc.strerror}): "
                          f"it is at {os.path.join(os.path.dirname(target), tmp)}") from None
    with contextlib.suppress(OSError):
        os.unlink(tmp, dir_fd=dir_fd)


def write_into(root: str, root_id: tree.RootId, rel: str, data: bytes, mode: int, overwrite: bool) -> Written:
    """Write ``data`` to ``root/rel`` as described in the module docstring. ``mode`` is the
    recorded permission bits (0: not recorded), used for a file that is not there."""
    target = f"{root.rstrip('/')}/{rel}"
    *dirs, name = rel.split("/")
    dir_fd, syncable = _directory(root, root_id, dirs)
    existing: tuple[int, os.stat_result] | None = None
    try:
        existing = _open_existing(dir_fd, name, target)
        current = None
        if existing is not None:
            efd, was = existing
            if was.st_size > MAX_FILE_BYTES:
                raise _too_large(target, was.st_size)
            current = _read_all(efd, MAX_FILE_BYTES)
            if current == data:
                return Written(was.st_size, was.st_mtime_ns, stat.S_IMODE(was.st_mode), None, unchanged=True)
            if not overwrite:
                raise TargetExists(f"{target} exists; ask for overwrite to replace it (what it holds is kept as "
                                   "a version)")
        # A new file is created with its mode (the kernel applies the umask, or the directory's
        # default ACL); a replacement starts private and takes the replaced file's metadata.
        tmp, fd = _temporary(dir_fd, name, 0o600 if existing else (mode & 0o777 or NEW_FILE_MODE), target)
        try:
            try:
                _fill(fd, data)
                if existing is not None:
                    _keep_metadata(fd, existing[0], existing[1], target)
                    os.fsync(fd)
            except BaseException as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=dir_fd)
                if isinstance(exc, OSError):
                    raise _refusal(exc, target, "write") from None
                raise
            if existing is None:
                try:
                    _link_new(dir_fd, tmp, name, target)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp, dir_fd=dir_fd)  # linked in place, or never: the temporary name goes
                replaced = None
            else:
                # _swap_in leaves no temporary name behind (or says what it holds)
                replaced = _swap_in(dir_fd, tmp, name, existing[0], target)
            if syncable:
                os.fsync(dir_fd)
            done = os.fstat(fd)
        finally:
            os.close(fd)
        return Written(done.st_size, done.st_mtime_ns, stat.S_IMODE(done.st_mode), replaced)
    finally:
        if existing is not None:
            os.close(existing[0])
        os.close(dir_fd)


def write(plan: Plan) -> Written:
    return write_into(plan.root, plan.root_id, plan.path, plan.content, plan.mode, plan.overwrite)


# ---------------------------------------------------------------------- the whole restore
Call = Callable[..., Awaitable[list[Any]]]  # call(member, *arguments) on the Manager: the reply's values


async def restore(call: Call, project: str, path: str, version: str, overwrite: bool) -> Restored:
    """Ask for a version (RestoreFile), write it as the caller, and have it recorded
    (RecordRestore). Raises RestoreRefused, or the bus's error."""
    (reply,) = await call("RestoreFile", project, path, version, overwrite)
    plan = Plan.from_reply(project, reply)
    written = await asyncio.to_thread(write, plan)
    if written.unchanged:
        return Restored(plan.path, plan.target, plan.version, False, 0, written.mode, written.size)
    (recorded,) = await call("RecordRestore", project, plan.path, plan.version, written.mtime_ns,
                             written.replaced is not None, written.replaced or b"", written.mode)
    kept = recorded["replaced_version"]
    return Restored(plan.path, plan.target, plan.version, True, int(kept.value if isinstance(kept, Variant) else kept),
                    written.mode, written.size)
