"""The rest of a save's facts, sent behind its showing, and out of the next save's way.

A save is shown first (its definitions and text: ``ProjectSync._show``); the rest of its
facts takes one more walk of its tree and a larger write, and a person who saves another
file meanwhile waits on neither. So the rest goes on beside the watcher's loop (``Rests``),
and a showing goes ahead of it at the owner: the rest neither starts a file's walk nor sends
a request while a showing is under way (``ShowGate``). Rests of one project run one after
another, in the order of their saves, and a sync that touches a path whose rest is still out
waits for it first, so the owner never gets a path's facts out of order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator

# How long a rest waits for the showings under way before it goes on regardless: saves
# shown back to back for longer (a tool writing file after file) must not leave the facts
# of the first behind for good.
PATIENCE = 0.25
# Rests of one project out at once, and the source they hold: each holds its files' bytes
# and parsed trees (about 27 times the source: 6.3 MB for _pydecimal.py's 229 KB) until it
# ends, and a sync waits for the oldest before it adds one more past either bound. Two at
# most made the second save after a large file wait for the large file's whole rest.
MOST = 8
HELD_BYTES = 1024 * 1024


class ShowGate:
    """The showings under way in the watcher, over all its projects: the owner writes one
    request at a time, and a showing is what a person waits on."""

    def __init__(self) -> None:
        self._under_way = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.contextmanager
    def showing(self) -> Iterator[None]:
        self._under_way += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._under_way -= 1
            if not self._under_way:
                self._clear.set()

    async def clear(self, patience: float = PATIENCE) -> None:
        """Return once no showing is under way, or after ``patience`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._clear.wait(), patience)


class Rests:
    """One project's rests in flight, oldest first. A rest that fails (the owner did not
    take it) leaves its paths to be looked at again and the error to be raised where the
    watcher's loop handles the owner's errors (``take_failed``)."""

    def __init__(self, on_failed: Callable[[], None] = lambda: None) -> None:
        self._tasks: collections.deque[asyncio.Task[None]] = collections.deque()
        self._paths: set[str] = set()
        self._bytes = 0  # of the files of the rests out
        self._unsent: set[str] = set()
        self._error: Exception | None = None
        self._on_failed = on_failed

    def __len__(self) -> int:
        return len(self._tasks)

    def holds(self, paths: Iterable[str]) -> bool:
        """Whether a rest in flight carries any of ``paths``."""
        return not self._paths.isdisjoint(paths)

    def add(self, paths: Collection[str], size: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` (the rest of the facts of ``paths``, ``size`` bytes of source) once the
        rests before it have ended."""
        previous = self._tasks[-1] if self._tasks else None
        self._paths.update(paths)
        self._bytes += size
        self._tasks.append(asyncio.ensure_future(self._run(previous, set(paths), size, work)))

    async def _run(self, previous: asyncio.Task[None] | None, paths: set[str], size: int,
                   work: Callable[[], Awaitable[None]]) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # its outcome is its own
            await work()
        except Exception as exc:
            self._unsent.update(paths)
            self._error = self._error or exc
            self._on_failed()
        finally:
            # Kept here, not in a done callback: whoever awaited this rest sees it gone.
            task = asyncio.current_task()
            if task in self._tasks:  # not if given up (cancel)
                self._tasks.remove(task)  # type: ignore[arg-type]
                self._paths.difference_update(paths)
                self._bytes -= size

    async def room(self, most: int = MOST, held: int = HELD_BYTES) -> None:
        """Return once fewer than ``most`` rests are in flight, holding less than ``held``
        bytes of source."""
        while self._tasks and (len(self._tasks) >= most or self._bytes >= held):
            await asyncio.wait([self._tasks[0]])

    async def done(self) -> None:
        """Return once every rest in flight has ended (failed ones: ``take_failed``)."""
        while self._tasks:
            await asyncio.wait([self._tasks[-1]])

    def take_failed(self) -> tuple[set[str], Exception | None]:
        """The paths of the rests that failed since last asked, and the first error."""
        failed, error = self._unsent, self._error
        self._unsent, self._error = set(), None
        return failed, error

    def cancel(self) -> None:
        """Give up every rest in flight: their files stay shown, not indexed whole, which
        the watcher's next look at them (at its next start at the latest) mends."""
        for task in self._tasks:
            task.cancel()
        # A rest cancelled before it began never reaches its own bookkeeping.
        self._tasks.clear()
        self._paths.clear()
        self._bytes = 0
