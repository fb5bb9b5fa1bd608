"""libcst's verdicts run off the event loop: the loop stays responsive, a stop does not wait."""

import asyncio
import threading
import time

import pytest

from codeanalysisd.workers.parser import off_the_loop


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
