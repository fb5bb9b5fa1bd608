"""libcst's verdicts run off the event loop, on one thread: the loop stays responsive, a stop
does not wait, and the heap is given back past its bound."""

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest

from codeanalysisd.workers.libcst_thread import off_the_loop


def test_the_result_and_the_error_come_back():
    assert asyncio.run(off_the_loop(lambda data: data.decode().upper(), b"exact")) == "EXACT"

    def broken(data: bytes) -> str:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        asyncio.run(off_the_loop(broken, b""))


def test_the_loop_runs_meanwhile_and_a_cancel_returns_at_once():
    release = threading.Event()

    def slow(data: bytes) -> str:
        release.wait(10)
        return "late"

    async def run() -> tuple[int, float]:
        ticks = 0
        task = asyncio.ensure_future(off_the_loop(slow, b""))
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return ticks, time.monotonic() - started

    ticks, cancel_took = asyncio.run(run())
    release.set()  # the thread ends on its own, its result dropped (the loop is closed by now)
    assert ticks == 10 and cancel_took < 0.5


def test_every_verdict_runs_on_the_one_libcst_thread():
    def where(_: bytes) -> str:
        return f"{threading.get_native_id()} {threading.current_thread().name}"

    seen = {asyncio.run(off_the_loop(where, b"")) for _ in range(5)}
    assert len(seen) == 1 and seen.pop().endswith(" libcst")


# glibc keeps the heap freed below a chunk still in use (here, the fence), as it keeps what a
# libcst tree freed below the objects that outlive it: only malloc_trim gives it back.
HELD_HEAP = r"""
import ctypes, json, sys
from codeanalysisd.workers import libcst_thread
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
blocks = [libc.malloc(256) for _ in range(400_000)]
for block in blocks:
    ctypes.memset(block, 1, 256)
fence = libc.malloc(256)
for block in blocks:
    libc.free(block)
held = libcst_thread.resident_mb()
kept = libcst_thread.keep_heap_bounded(held + 50)
still = libcst_thread.resident_mb()
given = libcst_thread.keep_heap_bounded(held / 2)
print(json.dumps([held, kept, still, given, libcst_thread.resident_mb()]))
"""


def test_the_heap_is_given_back_only_past_the_bound():
    out = subprocess.run([sys.executable, "-c", HELD_HEAP], capture_output=True, text=True, check=True)
    held, kept, still, given, after = json.loads(out.stdout)
    assert held > 100 and kept is False and still > held - 10
    assert given is True and after < held - 80
