"""The rule for when the watcher looks at a changed file (watch/settle.py)."""

from __future__ import annotations

import pyinotify
import pytest

from codeanalysisd.watch.settle import SETTLE, quiet_since, with_its_source

NOW = 1000.0
# Just past, and just short of, the quiet period (the clock's floats do not add exactly).
PAST = SETTLE * 1.01
SHORT = SETTLE * 0.99


def due(since: float, now: float = NOW) -> bool:
    return now - since >= SETTLE  # as the watcher's _due finds it


@pytest.mark.parametrize("mask", [pyinotify.IN_CLOSE_WRITE, pyinotify.IN_MOVED_TO])
def test_an_indexed_file_closed_after_writing_or_moved_into_place_is_due_at_once(mask: int) -> None:
    assert due(quiet_since(mask, None, NOW, True))
    assert due(quiet_since(mask, NOW - 0.001, NOW, True))  # whatever was pending before


@pytest.mark.parametrize("mask", [pyinotify.IN_CREATE, pyinotify.IN_DELETE, pyinotify.IN_MOVED_FROM,
                                  pyinotify.IN_ATTRIB])
def test_any_other_event_waits_until_the_path_is_quiet(mask: int) -> None:
    since = quiet_since(mask, None, NOW, True)
    assert not due(since)
    assert not due(since, NOW + SETTLE / 2)
    assert not due(since, NOW + SHORT)
    assert due(since, NOW + PAST)


def test_an_attribute_set_after_the_close_does_not_hold_the_file_back() -> None:
    # vim's save in place: IN_ATTRIB, IN_CLOSE_WRITE, IN_ATTRIB within a tenth of a millisecond
    since = quiet_since(pyinotify.IN_ATTRIB, None, NOW, True)
    since = quiet_since(pyinotify.IN_CLOSE_WRITE, since, NOW + 0.00005, True)
    since = quiet_since(pyinotify.IN_ATTRIB, since, NOW + 0.0001, True)
    assert due(since, NOW + 0.0001)


@pytest.mark.parametrize("mask", [pyinotify.IN_CREATE, pyinotify.IN_DELETE, pyinotify.IN_MOVED_FROM])
def test_a_new_change_after_the_close_waits_again(mask: int) -> None:
    # a rename away or a new file at the path: another save may be under way
    since = quiet_since(pyinotify.IN_CLOSE_WRITE, None, NOW, True)
    since = quiet_since(mask, since, NOW + 0.001, True)
    assert not due(since, NOW + 0.002)
    assert due(since, NOW + 0.001 + PAST)


def test_an_attribute_change_of_a_path_still_settling_restarts_the_wait() -> None:
    since = quiet_since(pyinotify.IN_CREATE, None, NOW, True)
    since = quiet_since(pyinotify.IN_ATTRIB, since, NOW + SETTLE / 2, True)
    assert not due(since, NOW + PAST)
    assert due(since, NOW + SETTLE / 2 + PAST)


def test_a_directory_moved_into_place_waits_until_quiet() -> None:
    # what lies below it is scanned, and more of it may still be arriving
    assert not due(quiet_since(pyinotify.IN_MOVED_TO | pyinotify.IN_ISDIR, None, NOW, True))


@pytest.mark.parametrize("mask", [pyinotify.IN_CLOSE_WRITE, pyinotify.IN_MOVED_TO])
def test_a_path_the_index_does_not_hold_waits_until_quiet(mask: int) -> None:
    # the new half of a move (`mv a.py b.py`, or `cp a.py b.py && rm a.py`): its other half
    # must be looked at with it for the move to be found
    since = quiet_since(mask, None, NOW, False)
    assert not due(since, NOW + SHORT)
    assert due(since, NOW + PAST)


def test_the_two_halves_of_a_rename_are_due_together() -> None:
    # `mv a.py b.py`: IN_MOVED_FROM a.py, then IN_MOVED_TO b.py a few microseconds later; a
    # look at the first moment a.py is due must see b.py too, or the move reads as a deletion
    waiting = {"a.py": quiet_since(pyinotify.IN_MOVED_FROM, None, NOW, True)}
    waiting["b.py"] = quiet_since(pyinotify.IN_MOVED_TO, None, NOW + 0.000005, False)
    moment = NOW + SETTLE + 0.000002  # a.py's wait is over, b.py's is not
    assert due(waiting["a.py"], moment) and not due(waiting["b.py"], moment)
    with_its_source(waiting, "b.py", "a.py")
    assert waiting["a.py"] == waiting["b.py"]
    assert not due(waiting["a.py"], moment)


def test_a_rename_onto_an_indexed_file_makes_its_source_due_at_once_too() -> None:
    # an editor's save by rename: the temporary file goes with the file it replaced
    waiting = {".a.py.tmp": quiet_since(pyinotify.IN_MOVED_FROM, None, NOW, False)}
    waiting["a.py"] = quiet_since(pyinotify.IN_MOVED_TO, None, NOW + 0.000005, True)
    with_its_source(waiting, "a.py", ".a.py.tmp")
    assert due(waiting[".a.py.tmp"], NOW) and due(waiting["a.py"], NOW)


def test_a_source_not_waiting_is_left_alone() -> None:
    # its half was looked at already, or it lies in another project (or none)
    waiting = {"b.py": quiet_since(pyinotify.IN_MOVED_TO, None, NOW, False)}
    with_its_source(waiting, "b.py", "a.py")
    with_its_source(waiting, "b.py", None)
    assert waiting == {"b.py": NOW}
