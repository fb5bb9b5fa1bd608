"""The one thread a parser unit runs libcst on, and the heap libcst leaves behind.

libcst takes seconds on a large file (8 s for 130,000 short lines), releasing the GIL as it
goes, so a verdict runs off the event loop: meanwhile the loop answers SIGTERM and feeds the
watchdog, and a stop does not wait for the parse to end (the thread is a daemon: it does not
hold the process up, where asyncio's own pool would be joined at exit).

It is one thread for the unit's life, not one per file, and the heap a file's tree leaves
free is given back only past a bound: a thread per file gets heap that glibc trims as the
thread ends, and a heap given back after every file is faulted in again for the next. Both
together cost a third as much CPU again as the parses themselves (bench/verify_cost.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

# Resident memory past which the heap is given back after a file. glibc keeps what a file's
# tree freed for the next one; this bounds what an instance holds between files (a 436 KB
# module's tree is 440 MB) well inside a unit's 300 MB peak. Over the standard library the
# bound is passed after few files (a median of 99 MB is held after a file).
KEEP_HEAP_MB = 128


@dataclass
class _Job:
    work: Callable[[bytes], str]
    data: bytes
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[str]


_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_started = threading.Lock()
_thread: threading.Thread | None = None


async def off_the_loop(work: Callable[[bytes], str], data: bytes) -> str:
    """``work(data)`` on the libcst thread, in turn with every other call's."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    _jobs.put(_Job(work, data, loop, done))
    _start()
    return await done


def _start() -> None:
    global _thread
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=_serve, name="libcst", daemon=True)
            _thread.start()


def _serve() -> None:
    while True:
        job = _jobs.get()
        result, error = "", None
        try:
            result = job.work(job.data)
        except BaseException as exc:  # handed to the awaiting task, as a call's exception would be
            error = exc
        keep_heap_bounded()
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the process is stopping
            job.loop.call_soon_threadsafe(_deliver, job.done, result, error)
        del job, result, error  # nothing of a file kept while waiting for the next


def _deliver(done: asyncio.Future[str], result: str, error: BaseException | None) -> None:
    if done.done():  # cancelled meanwhile: a stop
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


def resident_mb() -> float:
    """The process's resident memory (/proc/self/statm), in MB; 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def keep_heap_bounded(limit_mb: float | None = None) -> bool:
    """Give the heap back if the process holds more than ``limit_mb`` (None: KEEP_HEAP_MB);
    True if it did."""
    if resident_mb() <= (KEEP_HEAP_MB if limit_mb is None else limit_mb):
        return False
    give_back_memory()
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


def give_back_memory() -> None:
    """Return the heap libcst's trees left free to the system (glibc keeps it otherwise):
    an instance that met one large file would hold its tree's size for good."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
