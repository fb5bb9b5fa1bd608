"""inotify (pyinotify) over project roots, reduced to "this path may have changed".

The kernel's events are only hints: what changed is decided by comparing disk with the
index (watch/sync.py), so a lost or merged event never loses a change, and a queue
overflow (IN_Q_OVERFLOW) simply means "compare everything".
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import logging
import os
import termios
from collections.abc import Callable

import pyinotify

# IN_DONT_FOLLOW: a directory swapped for a link between the look and the watch is not
# watched through it. (What is read is decided by tree.Tree, from the root's identity; a
# watch only says where to look.)
MASK = (pyinotify.IN_CLOSE_WRITE | pyinotify.IN_CREATE | pyinotify.IN_DELETE | pyinotify.IN_MOVED_FROM
        | pyinotify.IN_MOVED_TO | pyinotify.IN_ATTRIB | pyinotify.IN_DELETE_SELF | pyinotify.IN_MOVE_SELF
        | pyinotify.IN_DONT_FOLLOW)


ROOT_GONE = pyinotify.IN_DELETE_SELF | pyinotify.IN_MOVE_SELF
# What pyinotify appends to a watch's path when the directory moved where no watch saw it go.
GONE_SUFFIX = "-unknown-path"

log = logging.getLogger("codeanalysisd.watcher")


def _not_lost_track(record: logging.LogRecord) -> bool:
    """pyinotify logs an error for every watched directory moved where no watch saw it arrive,
    saying its path "cannot be trusted anymore". Here that is an ordinary ``mv`` out of a
    project (or into a part of it that is not watched): the directory's watches are removed
    (Inotify.drop_moved_out), or its project's root is missing (on_root_gone), and either is
    logged as such."""
    return not str(record.msg).startswith("The pathname '%s' of this watch %s has probably changed")


logging.getLogger("pyinotify").addFilter(_not_lost_track)


class _Handler(pyinotify.ProcessEvent):
    def my_init(self, owner: Inotify) -> None:
        self.owner = owner

    def process_IN_Q_OVERFLOW(self, event: pyinotify.Event) -> None:
        self.owner.on_overflow()

    def process_IN_IGNORED(self, event: pyinotify.Event) -> None:
        # The watch went away with its directory; the DELETE/MOVE event before it told us.
        pass

    def process_default(self, event: pyinotify.Event) -> None:
        # A root moved away is known by its watch, not its path: pyinotify cannot know where
        # it went (the parent is not watched) and renames the watch "<root>-unknown-path".
        root = self.owner.root_of_wd(event.wd)
        if root is not None and event.mask & ROOT_GONE:
            self.owner.on_root_gone(root)
        elif event.mask & pyinotify.IN_MOVE_SELF:
            # The directory's parent told of the move (IN_MOVED_FROM, and IN_MOVED_TO if it was
            # to a watched place), and this comes after both: passed on, it would make the new
            # path wait longer than the old (watch/settle.py), and a look between the two take
            # the move for a deletion and a new file.
            if event.path.endswith(GONE_SUFFIX):  # moved where no watch saw it arrive
                self.owner.drop_moved_out(event.wd, event.path.removesuffix(GONE_SUFFIX))
        else:
            # a rename's new half: pyinotify pairs it with the old half by the kernel's cookie
            self.owner.on_path(event.pathname, event.mask, getattr(event, "src_pathname", None))


class Inotify:
    """One inotify instance for all projects, read from the asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_path: Callable[[str, int, str | None], None],
                 on_overflow: Callable[[], None], on_root_gone: Callable[[str], None], max_watches: int = 0) -> None:
        self.on_path, self.on_overflow, self.on_root_gone = on_path, on_overflow, on_root_gone
        self.wm = pyinotify.WatchManager()
        self.notifier = pyinotify.AsyncioNotifier(self.wm, loop, default_proc_fun=_Handler(owner=self))
        self._roots: dict[str, int] = {}
        self.max_watches = max_watches  # 0: as many as the kernel allows
        # root -> directories below it without a watch (the kernel's or the configured limit);
        # the watcher rescans them periodically instead. Directories made later count too.
        self.unwatched: dict[str, set[str]] = {}

    def root_of_wd(self, wd: int) -> str | None:
        for root, root_wd in self._roots.items():
            if root_wd == wd:
                return root
        return None

    def watch(self, root: str, excluded: Callable[[str], bool]) -> int:
        """Watch root and every directory below it that is not excluded; returns how many
        directories are left without a watch (see ``unwatched``)."""
        unwatched = self.unwatched.setdefault(root, set())

        def exclude(path: str) -> bool:
            rel = os.path.relpath(path, root)
            if rel != "." and excluded(rel):
                return True
            if self.max_watches and len(self.wm.watches) >= self.max_watches:
                unwatched.add(path)
                return True
            return False

        added = self.wm.add_watch(root, MASK, rec=True, auto_add=True, exclude_filter=exclude, quiet=True)
        wd = added.get(root, -1)
        if wd >= 0:
            self._roots[root] = wd
        # pyinotify: -1 is a failed watch (ENOSPC at the kernel's watch limit, EACCES), -2 excluded
        unwatched.update(path for path, v in added.items() if v == -1)
        return len(unwatched)

    def unwatched_dirs(self, root: str) -> list[str]:
        """The topmost directories below root without a watch, relative to root."""
        out: list[str] = []
        for path in sorted(self.unwatched.get(root, ())):
            rel = os.path.relpath(path, root)
            rel = "" if rel == "." else rel
            if not any(rel == top or rel.startswith(top + "/") for top in out if top) and "" not in out:
                out.append(rel)
        return out

    def unwatch(self, root: str) -> None:
        self.unwatched.pop(root, None)
        if self._roots.pop(root, None) is None:
            return
        # pyinotify's rm_watch(rec=True) deletes from the dict it is iterating over and raises
        # RuntimeError once there are subdirectories: the descriptors are collected first.
        prefix = root.rstrip("/") + "/"
        wds = [wd for wd, watch in list(self.wm.watches.items()) if watch.path == root or watch.path.startswith(prefix)]
        if wds:
            with contextlib.suppress(OSError, pyinotify.WatchManagerError):
                self.wm.rm_watch(wds, quiet=True)

    def drop_moved_out(self, wd: int, path: str) -> None:
        """The watches of a directory moved where no watch saw it arrive (``path``: where it
        was), out of every project or into a part of one that is not watched, and of those
        below it, which pyinotify keeps under their old paths: events from there would
        otherwise keep coming, under paths where the directory no longer is."""
        prefix = path.rstrip("/") + "/"
        wds = [w for w, watch in list(self.wm.watches.items()) if w == wd or watch.path.startswith(prefix)]
        with contextlib.suppress(OSError, pyinotify.WatchManagerError):
            self.wm.rm_watch(wds, quiet=True)
        for unwatched in self.unwatched.values():
            unwatched.difference_update([d for d in unwatched if d == path or d.startswith(prefix)])
        log.info("%s moved out of the watched directories: %d watch(es) removed", path, len(wds))

    def unread(self) -> int:
        """Bytes of events the kernel holds that this process has not read yet. While none, every
        event up to now has been handed to ``on_path`` (the reader runs on the same loop)."""
        size = array.array("i", [0])
        fcntl.ioctl(self.wm.get_fd(), termios.FIONREAD, size, True)
        return size[0]

    def close(self) -> None:
        self.notifier.stop()
