"""The bookkeeping of the rests of saves sent behind their showing (watch/behind.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from codeanalysisd.watch.behind import Rests, ShowGate


def run(coroutine):
    return asyncio.run(coroutine)


def test_rests_of_a_project_run_one_after_another_in_the_order_added():
    async def main() -> list[str]:
        said: list[str] = []
        rests = Rests()

        def work(name: str, pause: float):
            async def go() -> None:
                said.append(f"{name} begins")
                await asyncio.sleep(pause)
                said.append(f"{name} ends")
            return go

        rests.add(["a.py"], 10, work("a", 0.05))
        rests.add(["b.py"], 10, work("b", 0.0))
        assert rests.holds(["x.py", "b.py"]) and rests.holds(["a.py"]) and not rests.holds(["x.py"])
        await rests.done()
        assert not rests and not rests.holds(["a.py", "b.py"])
        return said

    assert run(main()) == ["a begins", "a ends", "b begins", "b ends"]


def test_a_failed_rest_leaves_its_paths_and_first_error_and_the_next_rest_runs_all_the_same():
    async def main() -> None:
        woken: list[bool] = []
        rests = Rests(on_failed=lambda: woken.append(True))
        ran: list[str] = []

        async def fails() -> None:
            raise ConnectionError("the owner went away")

        async def second_fails() -> None:
            raise ValueError("another")

        async def works() -> None:
            ran.append("c")

        rests.add(["a.py", "pkg/b.py"], 10, fails)
        rests.add(["c.py"], 10, works)
        rests.add(["d.py"], 10, second_fails)
        await rests.done()
        assert ran == ["c"] and woken == [True, True]
        paths, error = rests.take_failed()
        assert paths == {"a.py", "pkg/b.py", "d.py"}
        assert isinstance(error, ConnectionError) and str(error) == "the owner went away"
        assert rests.take_failed() == (set(), None)  # taken once

    run(main())


@pytest.mark.parametrize("bound", ["count", "bytes"])
def test_room_waits_for_the_oldest_rest_once_most_are_out_or_they_hold_too_much(bound):
    most, held = (2, 1000) if bound == "count" else (8, 100)

    async def main() -> None:
        rests = Rests()
        first_done = asyncio.Event()

        async def slow() -> None:
            await asyncio.sleep(0.05)
            first_done.set()

        async def quick() -> None:
            await asyncio.sleep(0)

        rests.add(["a.py"], 60, slow)
        await rests.room(most, held)  # one out, 60 bytes: room at once
        assert not first_done.is_set()
        rests.add(["b.py"], 60, quick)
        await rests.room(most, held)  # two out, 120 bytes
        assert first_done.is_set() and len(rests) <= 1
        await rests.done()
        await rests.room(most, held)  # none out: at once
        rests.add(["c.py"], 5000, slow)
        await rests.room(most, held)  # it alone holds more than the bound: the next waits for it
        assert not rests

    run(main())


def test_cancel_gives_up_every_rest_even_those_not_begun():
    async def main() -> None:
        rests = Rests()
        ran: list[str] = []

        async def work() -> None:
            await asyncio.sleep(0.01)
            ran.append("ran")

        rests.add(["a.py"], 10, work)
        rests.add(["b.py"], 10, work)
        rests.cancel()
        assert not rests and not rests.holds(["a.py", "b.py"])
        await rests.done()  # nothing to wait for
        await asyncio.sleep(0.05)
        assert ran == [] and rests.take_failed() == (set(), None)

    run(main())


def test_the_gate_holds_a_rest_back_while_a_showing_is_under_way_and_no_longer_than_its_patience():
    async def main() -> None:
        gate = ShowGate()
        began = time.monotonic()
        await gate.clear(5.0)
        assert time.monotonic() - began < 1.0  # nothing shown: at once

        async def show(pause: float) -> None:
            with gate.showing():
                await asyncio.sleep(pause)

        showings = [asyncio.ensure_future(show(0.05)), asyncio.ensure_future(show(0.1))]
        await asyncio.sleep(0)
        began = time.monotonic()
        await gate.clear(5.0)
        assert time.monotonic() - began >= 0.09  # both ended
        await asyncio.gather(*showings)

        long = asyncio.ensure_future(show(5.0))
        await asyncio.sleep(0)
        began = time.monotonic()
        await gate.clear(0.05)
        waited = time.monotonic() - began
        assert 0.04 <= waited < 2.0  # its patience, not the showing
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        began = time.monotonic()
        await gate.clear(5.0)  # a showing that ended by an exception leaves the gate open
        assert time.monotonic() - began < 1.0

    run(main())
