"""The cycle collector held off for a file's trees, and never left off."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from codeanalysisd.collector import held_off
from codeanalysisd.index import syntax
from codeanalysisd.index.reading import FileRead, file_facts, file_update, outlined


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_off_within_the_block_and_on_after_it_even_when_it_raises():
    with held_off():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), held_off():
        raise ZeroDivisionError
    assert gc.isenabled()


def test_a_block_entered_while_the_collector_is_off_leaves_it_off():
    gc.disable()
    with held_off():
        with held_off():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_blocks_on_two_threads_leave_the_collector_on():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def second() -> None:
        first_in.wait()
        with held_off():
            second_in.set()
            first_out.wait()

    thread = threading.Thread(target=second)
    thread.start()
    with held_off():
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join()
    assert gc.isenabled()


def test_a_cycle_made_within_the_block_is_collected_after_it():
    class Node:
        pass

    with held_off():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        churn = [[n] for n in range(20_000)]  # far past the thresholds that start a collection
        assert ref() is not None  # none started while held off
        del churn
    gc.collect()
    assert ref() is None


SOURCE = b"import os\n\nclass A:\n    def f(self, x):\n        return os.path.join(x, self.y)\n"


def test_every_extraction_and_a_verdict_give_the_collector_back():
    item = FileRead("m.py", len(SOURCE), 1, SOURCE, b"\0" * 32)
    parsed, outline = outlined(item, 1 << 20)
    assert gc.isenabled() and outline is not None
    facts, clean = file_facts(item, 1 << 20, parsed)
    assert gc.isenabled() and clean and "join" in facts
    update, clean = file_update(item, 1 << 20)
    assert gc.isenabled() and clean and [d.qualname for d in update.facts.definitions] == ["A", "A.f"]
    assert syntax.verdict(SOURCE, 100) == syntax.EXACT and gc.isenabled()
    assert syntax.verdict(b"def (:\n", 100).startswith("libcst cannot parse it") and gc.isenabled()
