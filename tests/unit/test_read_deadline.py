"""Store.read: reads off the event loop, two at once, each stopped at its deadline."""

import asyncio
import hashlib
import threading
import time

import apsw
import pytest

from codeanalysisd.db.store import READ_DEADLINE, READ_THREADS, ReadTimeout, Store, StoreClosed
from codeanalysisd.index.facts import Definition, IndexedFacts, Reference
from codeanalysisd.index.record import FileUpdate

# Counts to n one row at a time: about 0.15 s per million rows, so 10**9 runs for minutes.
COUNT = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) SELECT count(*) FROM c"


def count_to(n):
    return lambda r: r.files.db.execute(COUNT, (n,)).fetchall()[0][0]


def test_the_constants():
    assert (READ_DEADLINE, READ_THREADS) == (2.0, 2)


def test_a_long_read_is_stopped_at_its_deadline_and_the_next_read_is_answered(store):
    async def go():
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as stopped:
            await store.read(count_to(10**9), deadline=0.3)
        took = time.monotonic() - started
        assert 0.3 <= took < 1.3, took
        assert str(stopped.value) == ("the query took longer than 0.3 s and was stopped; "
                                      "narrow it (a project, fewer words)")
        assert stopped.value.seconds == 0.3 and isinstance(stopped.value.__cause__, apsw.InterruptError)
        # both threads' connections serve on, with the full deadline again
        answers = await asyncio.gather(*(store.read(count_to(1000)) for _ in range(2 * READ_THREADS)))
        assert answers == [1000] * 2 * READ_THREADS
        assert [p.id for p in await store.read(lambda r: r.projects.list())] == ["p"]

    asyncio.run(go())


def test_the_default_deadline_while_the_event_loop_goes_on(store):
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def go():
        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match=r"^the query took longer than 2\.0 s and was stopped; narrow it"):
            await store.read(count_to(10**9))
        took = time.monotonic() - started
        ticker.cancel()
        return took

    took = asyncio.run(go())
    assert READ_DEADLINE <= took < READ_DEADLINE + 1.0, took
    assert ticks >= 50  # the loop ran (every 10 ms) all along: the read is not on it


def test_a_read_within_its_deadline_is_not_stopped(store):
    # the deadline counts from when the read starts, and only a statement past it is stopped
    assert asyncio.run(store.read(count_to(200_000), deadline=5.0)) == 200_000


def test_two_reads_run_at_once(store):
    """Each waits until the other has started: on one thread, this would time out."""
    arrived = [threading.Event(), threading.Event()]

    def meet(me):
        def operation(r):
            arrived[me].set()
            assert arrived[1 - me].wait(5), "the other read never started"
            return threading.get_ident(), id(r.files.db)
        return operation

    async def go():
        return await asyncio.gather(store.read(meet(0)), store.read(meet(1)))

    (thread_a, db_a), (thread_b, db_b) = asyncio.run(go())
    assert thread_a != thread_b and db_a != db_b
    assert threading.get_ident() not in (thread_a, thread_b)  # neither ran on the event loop's thread
    assert store.reader is not None and id(store.reader) not in (db_a, db_b)


def test_two_statements_overlap_in_time(store):
    def timed(r):
        start = time.monotonic()
        r.files.db.execute(COUNT, (1_000_000,)).fetchall()
        return start, time.monotonic()

    async def go():
        return await asyncio.gather(store.read(timed, deadline=30), store.read(timed, deadline=30))

    (start_a, end_a), (start_b, end_b) = asyncio.run(go())
    overlap = min(end_a, end_b) - max(start_a, start_b)
    shorter = min(end_a - start_a, end_b - start_b)
    assert overlap > 0.5 * shorter, (overlap, shorter)


SOURCE = b"import os\n\ndef join_all(parts):\n    '''Join them.'''\n    return os.path.join(*parts)\n"


def test_results_equal_the_synchronous_path(store):
    definition = Definition("join_all", "join_all", "function", 3, 0, 5, (), (), "(parts)", "Join them.", None)
    facts = IndexedFacts("utf-8", True, ("a problem",), None, (definition,), (),
                         (Reference("os.path.join", "call", 5, 11, "join_all"),))
    store.writes.files.index("p", [FileUpdate(f"pkg/m{i}.py", len(SOURCE), 1, SOURCE, hashlib.sha256(SOURCE).digest(),
                                              facts) for i in range(5)])
    calls = [
        lambda r: r.files.search("join parts", None, 10),
        lambda r: r.files.search("os parts nothing_like_this", "p", 10, any_word=True),
        lambda r: r.files.find_symbol("join_*", None, "", 10),
        lambda r: r.files.find_references("path.join", "p", 10),
        lambda r: r.files.problems(None),
        lambda r: r.files.source("p", "pkg/m3.py"),
        lambda r: r.projects.list(),
        lambda r: r.history.versions("p", "pkg/m1.py"),
    ]

    async def go():
        return [await store.read(c) for c in calls]

    asynchronous = asyncio.run(go())
    assert asynchronous == [c(store.reads) for c in calls]
    assert len(asynchronous[0]) == 5 and asynchronous[5][0] == SOURCE


def test_an_operations_own_exception_passes_unchanged(store):
    with pytest.raises(LookupError, match=r"nowhere\.py"):
        asyncio.run(store.read(lambda r: r.files.source("p", "nowhere.py")))
    assert asyncio.run(store.read(count_to(10))) == 10


def test_close_closes_the_read_threads_connections(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))

    async def go():
        return await asyncio.gather(*(store.read(lambda r: r.files.db) for _ in range(8)))

    connections = set(asyncio.run(go()))
    assert 1 <= len(connections) <= READ_THREADS
    store.close()
    for db in connections:
        with pytest.raises(apsw.ConnectionClosedError):
            db.execute("SELECT 1")


def test_a_read_after_close_fails_cleanly(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    asyncio.run(store.read(count_to(10)))
    store.close()
    with pytest.raises(StoreClosed, match="the index is closed"):
        asyncio.run(store.read(count_to(10)))


def test_close_stops_a_read_in_progress(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))

    async def go():
        running = asyncio.ensure_future(store.read(count_to(10**9), deadline=60))
        queued = [asyncio.ensure_future(store.read(count_to(10**9), deadline=60)) for _ in range(READ_THREADS)]
        await asyncio.sleep(0.2)  # the first read is running
        started = time.monotonic()
        await asyncio.to_thread(store.close)
        closing = time.monotonic() - started
        for read in (running, *queued):
            with pytest.raises(StoreClosed):
                await read
        return closing

    assert asyncio.run(go()) < 2.0  # not the reads' 60 s deadline
